"""Dedup: canonical form, number guard, no chaining, stage accounting, CLI contract (jsonl + parquet)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from curation import manifest
from curation.cli import app
from curation.config.dedup import NearConfig, SemanticConfig
from curation.runner import Runner
from curation.store import RunStore
from curation.tabular_io import write_table
from curation.text.canonical import canonical_frame, canonicalize, numbers
from curation.text.dedup import content_differs, find_duplicates

from ..spine_helpers import write_jsonl, write_manifest


@pytest.mark.parametrize(
    "a, b",
    [
        ("Find $x^{2}$ if x = 3,000.", "find $x^2$ if x=3000"),
        ("What is \\dfrac{1}{2} + \\left( 3 \\right)?", "What is \\frac{1}{2} + (3)"),
        ("Problem: Compute \\(2\\cdot 3\\). Put your final answer within \\boxed{}.", "Compute $2 \\times 3$"),
        ("There are twenty-five apples and one pear.", "There are 25 apples and 1 pear"),
        ("The price is 1.50 dollars", "the price is 1.5 dollars"),
        ("Ｆind THE sum", "find the sum"),  # NFKC + case (polars 2.1 lowercase bug on mixed text)
    ],
)
def test_canonical_form_removes_format_but_keeps_values(a, b):
    assert canonicalize(a) == canonicalize(b)


@pytest.mark.parametrize(
    "a, b",
    [("Find 3+5", "Find 3+6"), ("x = 1.5", "x = 1.05"), ("3,000 apples", "3,001 apples"), ("one pear", "two pears")],
)
def test_canonical_form_keeps_every_value(a, b):
    assert canonicalize(a) != canonicalize(b)
    assert numbers(a) != numbers(b)


def test_number_multiset_column():
    cf = canonical_frame(["Add 5 and 3 and 5.", "no numbers here"])
    assert cf["numbers"].to_list() == ["3 5 5", ""]


def test_exact_and_near_keep_number_changed_siblings():
    texts = [
        "A train travels 60 miles in 2 hours. What is its average speed in miles per hour?",
        "a train travels sixty miles in 2 hours.  What is its average speed in miles per hour?",  # exact (canon)
        "Problem: A train travels 60 miles in 2 hours. What is the average speed in miles per hour?",  # near
        "A train travels 60 miles in 3 hours. What is its average speed in miles per hour?",  # sibling
        "A train travels 61 miles in 2 hours. What is its average speed in miles per hour?",  # sibling
    ]
    r = find_duplicates(texts, near=NearConfig())
    assert r.reason == [None, "exact_duplicate", "near_duplicate", None, None]
    assert r.root.tolist() == [0, 0, 0, 3, 4]
    # without the guard MinHash merges the siblings: the guard is what keeps them
    r2 = find_duplicates(texts, near=NearConfig(number_guard="off", content_guard=False, threshold=0.6))
    assert not r2.kept[3] or not r2.kept[4]


def test_content_guard_rejects_substitutions_not_filler_edits():
    c = canonicalize
    assert content_differs(c("If $x-y=6$, what is the value of $y$?"), c("If $x-y=6$, what is the value of $x$?"))
    assert content_differs(c("arrange the letters of the word RADII"), c("arrange the letters of the word MADAM"))
    assert not content_differs(c("Find the value of $x$ if 2x = 4."), c("Find $x$ if 2x = 4"))


def test_star_clusters_do_not_chain():
    # a0 ~ a1 ~ a2 each one filler edit apart, but a0 and a2 differ more; each member must match the kept one
    base = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma"
    words = base.split()
    texts = [" ".join(words[:i] + ["the"] * k + words[i:]) for i, k in [(0, 0), (6, 3), (12, 6)]]
    r = find_duplicates(texts, exact=False, near=NearConfig(threshold=0.8))
    sims = r.similarity[~r.kept]
    assert (sims >= 0.8).all()
    for i in np.flatnonzero(~r.kept):
        assert r.kept[r.root[i]]


def test_representative_rule_prefers_rows_with_answers(tmp_path):
    rows = [{"id": "a", "problem": "What is 2 + 2?"}, {"id": "b", "problem": "what is 2+2", "answer": "4"}]
    write_jsonl(tmp_path / "q.jsonl", rows)
    m = manifest.load(
        write_manifest(
            tmp_path / "m.yaml",
            {"name": "t", "sources": [{"name": "s", "kind": "jsonl", "path": "q.jsonl"}], "dedup": {"exact": True}},
        )
    )
    Runner(m, tmp_path / "run", options={"quiet": True}).run()
    kept = RunStore(tmp_path / "run").read("dedup", "queries").to_pylist()
    assert [k["source_id"] for k in kept] == ["b"]


def test_stage_accounts_for_every_row_with_evidence(tmp_path):
    rows = [{"id": f"m{i}", "problem": f"Compute {i} times {i + 7} and add nine.", "answer": "1"} for i in range(40)]
    rows += [
        {
            "id": f"c{i}",
            "problem": f"Problem: compute {i} times {i + 7}  and add 9. Put your final answer within \\boxed{{}}.",
            "answer": "1",
        }
        for i in range(10)
    ]
    rows += [{"id": f"e{i}", "problem": rows[i]["problem"], "answer": "1"} for i in range(5)]
    write_jsonl(tmp_path / "q.jsonl", rows)
    m = manifest.load(
        write_manifest(
            tmp_path / "m.yaml",
            {
                "name": "t",
                "sources": [{"name": "s", "kind": "jsonl", "path": "q.jsonl"}],
                "dedup": {"exact": True, "near": {"threshold": 0.7}},
            },
        )
    )
    lock = Runner(m, tmp_path / "run", options={"quiet": True}).run()
    store = RunStore(tmp_path / "run")
    kept = store.read("dedup", "queries")
    removed = store.read("dedup", "removed").to_pylist()
    assert kept.num_rows + len(removed) == 55
    assert kept.num_rows == 40
    assert {r["reason"] for r in removed} == {"exact_duplicate"}  # canonical form makes the wrapped copies exact
    kept_ids = set(kept.column("query_id").to_pylist())
    for r in removed:
        ev = json.loads(r["evidence"])
        assert ev["kept"] in kept_ids and ev["method"] == "canonical_hash"
        assert ev["kept_location"] == f"s:{ev['kept_source_id']}" != r["location"]
    # the verbatim copies (e*) share the kept rows' content hash: no query_id of theirs names a kept query, so
    # "queries not in removed" keeps all 40; every removed row has its own removed_id (source + location)
    verbatim = [r for r in removed if r["location"].startswith("s:e")]
    assert len(verbatim) == 5 and all(r["query_id"] is None for r in verbatim)
    assert all(r["query_id"] is not None for r in removed if r not in verbatim)
    assert not kept_ids & {r["query_id"] for r in removed}
    assert len({r["removed_id"] for r in removed}) == 15 and None not in {r["removed_id"] for r in removed}
    meta = [json.loads(x) for x in kept.column("metadata").to_pylist()]
    assert sum(1 for x in meta if "dedup" in x) == 10
    assert lock["stages"]["dedup"]["removed_by_reason"] == {"exact_duplicate": 15}


@pytest.mark.parametrize("ext", ["jsonl", "parquet"])
def test_cli_contract(tmp_path, ext):
    rows = [
        {"id": "q1", "problem": "Find 3+5."},
        {"id": "q2", "problem": "find 3 + 5"},
        {"id": "q3", "problem": "Find 3+6."},
        {"id": "q4", "problem": "A shop sells 12 apples for 3 dollars each. How much do the apples cost in total?"},
        {
            "id": "q5",
            "problem": "A shop sells 12 apples for 3 dollars each. Then how much do the apples cost in total?",
        },
    ]
    src = tmp_path / f"in.{ext}"
    write_table(pl.DataFrame(rows), src)
    out = tmp_path / f"out.{ext}"
    res = CliRunner().invoke(app, ["dedup", str(src), "--out", str(out), "--exact", "--near"])
    assert res.exit_code == 0, res.output
    df = pl.read_ndjson(out) if ext == "jsonl" else pl.read_parquet(out)
    assert df.height == 5
    assert df["kept"].to_list() == [True, False, True, True, False]
    assert df["dup_of"].to_list() == [None, "q1", None, None, "q4"]
    assert df["dup_reason"].to_list() == [None, "exact_duplicate", None, None, "near_duplicate"]
    assert df["cluster_id"].to_list() == ["q1", "q1", "q3", "q4", "q4"]


def test_cli_bad_input_exit_2(tmp_path):
    write_jsonl(tmp_path / "in.jsonl", [{"question": "x"}])
    res = CliRunner().invoke(app, ["dedup", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "o.jsonl")])
    assert res.exit_code != 0
    assert "no column 'problem'" in str(res.exception) + res.output


@pytest.mark.slow
def test_semantic_dedup_is_number_guarded_and_cached(tmp_path):
    texts = [
        "Tom has 5 apples and buys 3 more. How many apples does Tom have now?",
        "Tom owns 5 apples and then purchases 3 additional ones. How many apples does he have now?",
        "Tom has 5 apples and buys 4 more. How many apples does Tom have now?",
        "Write a function that reverses a string.",
    ]
    cfg = SemanticConfig(enabled=True, threshold=0.85)
    r = find_duplicates(texts, exact=True, near=NearConfig(), semantic=cfg, cache_dir=tmp_path)
    assert r.reason == [None, "semantic_duplicate", None, None]
    assert r.root[1] == 0
    assert list((tmp_path / "embeddings").rglob("keys-*.npy"))
    r2 = find_duplicates(texts, exact=True, near=NearConfig(), semantic=cfg, cache_dir=tmp_path)
    assert r2.stats["embedding_cache"]["encoded"] == 0 and r2.reason == r.reason


def test_number_order_guard_keeps_swapped_values_apart_but_allows_sentence_reordering():
    texts = [
        "If x - y = 6, x + y = 12, find the value of x.",
        "If x - y = 12, x + y = 6, find the value of x.",  # same numbers, other positions: another problem
        "Alice has 5 apples. Bob gives Alice 3 more apples. How many apples does Alice have now?",
        "Bob gives Alice 3 more apples. Alice has 5 apples. How many apples does Alice have now?",  # reordered
    ]
    r = find_duplicates(texts, near=NearConfig(threshold=0.3))
    assert r.kept.tolist() == [True, True, True, False]
    assert r.reason[3] == "near_duplicate"
    off = find_duplicates(texts, near=NearConfig(threshold=0.3, number_order="off"))
    assert not off.kept[1]  # the multiset guard alone merges the swapped system
    cf = canonical_frame(texts)
    assert cf["number_seq"][0] != cf["number_seq"][1] and cf["numbers"][0] == cf["numbers"][1]
    assert cf["number_seq"][2] == cf["number_seq"][3]


def test_single_letter_a_is_a_variable_not_filler():
    c = canonicalize
    assert content_differs(c("What is the sum of a and c?"), c("What is the sum of c?"))
    assert content_differs(c("Find $a$ if $a + b = 7$."), c("Find $b$ if $a + b = 7$."))
    assert not content_differs(c("A train travels 60 miles."), c("Train travels 60 miles."))  # article
    r = find_duplicates(
        ["What is the sum of a and c?", "What is the sum of c?"], exact=False, near=NearConfig(threshold=0.3)
    )
    assert r.kept.all()


@pytest.mark.parametrize(
    "a, b",
    [
        ("Question three: Compute 4 + 5.", "Compute 4 + 5"),
        ("Solve following math problem: Find $a_{8.0}$.", "Find $a_8$"),
        ("Find $a_{eight}$ and $x^{2}$.", "find $a_8$ and $x^2$"),
        ("It costs 7 dollars!", "It costs 7 dollars"),  # a final '!' is punctuation
    ],
)
def test_canonical_form_more_format_variants(a, b):
    assert canonicalize(a) == canonicalize(b)


def test_factorial_is_not_punctuation():
    assert canonicalize("Compute $5!$ + 3.") != canonicalize("Compute $5$ + 3.")
    assert canonicalize("What is 5!?") != canonicalize("What is 5?")


def test_minhash_estimates_jaccard_and_lsh_windows_large_buckets():
    from curation.text.minhash import MinHasher, candidate_pairs, shingle_hashes

    rng = np.random.default_rng(0)
    ests = []
    for t in range(200):  # |A ∩ B| = 15, |A ∪ B| = 25: J = 0.6
        toks = rng.integers(0, 2**63, size=25, dtype=np.uint64)
        doc = np.array([0] * 20 + [1] * 20)
        tok = np.concatenate([toks[:20], toks[5:25]])
        d, h = shingle_hashes(doc, tok, 1)
        sig = MinHasher(128, seed=t).signatures(d, h, 2)
        ests.append((sig[0] == sig[1]).mean())
    assert abs(np.mean(ests) - 0.6) < 0.02
    sig = np.zeros((300, 8), dtype=np.uint32)  # one template filled 300 times: one huge bucket
    block = np.repeat(np.array([1, 2], dtype=np.uint64), 150)
    pairs = candidate_pairs(sig, 2, 4, block, max_bucket=50)
    assert (block[pairs[:, 0]] == block[pairs[:, 1]]).all()  # never across blocks
    assert len(pairs) == 2 * 3 * (50 * 49 // 2)  # windows of 50, not 150^2/2
    assert (pairs[:, 0] < pairs[:, 1]).all()


def test_cli_number_order_option(tmp_path):
    rows = [
        {"id": "a", "problem": "If x - y = 6, x + y = 12, find the value of x."},
        {"id": "b", "problem": "If x - y = 12, x + y = 6, find the value of x."},
    ]
    write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    args = ["dedup", str(tmp_path / "in.jsonl"), "--out", str(out), "--near-threshold", "0.3"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert pl.read_ndjson(out)["kept"].to_list() == [True, True]
    assert CliRunner().invoke(app, [*args, "--number-order", "off"]).exit_code == 0
    assert pl.read_ndjson(out)["kept"].to_list() == [True, False]
    res = CliRunner().invoke(app, [*args, "--number-order", "nope"])
    assert res.exit_code != 0 and "--number-order must be" in str(res.exception) + res.output


def test_and_or_are_not_filler():
    # MBPP train: two different tasks that differ in one connective
    a = "Write a function to find numbers divisible by m and n from a list of numbers using lambda function."
    b = "Write a function to find numbers divisible by m or n from a list of numbers using lambda function."
    assert content_differs(canonicalize(a), canonicalize(b))
    assert find_duplicates([a, b], near=NearConfig()).kept.all()


# --- issue 20: near dedup that holds on independent data ----------------------------------------------------------
from curation.text import wrappers  # noqa: E402
from curation.text.dedup import content_compatible, content_keys, typo_close  # noqa: E402

_BASES = [
    f"A shop sells {a} pens for ${b}. How many pens can Kim buy with ${c}?"
    for a, b, c in [
        (3, 7, 50),
        (4, 9, 61),
        (5, 11, 72),
        (6, 13, 83),
        (7, 15, 94),
        (8, 17, 105),
        (9, 19, 116),
        (10, 21, 127),
    ]
]


@pytest.mark.parametrize(
    "a, b",
    [
        ("**Task:** Find $x$ if $2x = 6$.", "Find $x$ if $2x = 6$."),
        ("### Problem\nFind $x$ if $2x = 6$.\n\n### Solution", "Find $x$ if $2x = 6$."),
        ("Human: Find 2+3.\n\nAssistant: Let me work through this.", "Find 2+3."),
        ("[INST] Find 2+3. [/INST]", "Find 2+3."),
        ("Find the\u200b value of x \u2212 3.", "Find the value of x - 3."),
        ("What is $\\frac{1}{3}$ of $12$?", "What is 1/3 of 12?"),
        ("A sector of $55^\\circ$ in terms of $\\pi$.", "A sector of 55 degrees in terms of pi."),
        ("Argo has two hundred toys; two-thirds are red.", "Argo has 200 toys; 2/3 are red."),
    ],
)
def test_canonical_form_markup_and_plain_latex(a, b):
    assert canonicalize(a).replace("$ ", "").replace(" $", "") == canonicalize(b).replace("$ ", "").replace(" $", "")


def test_wrappers_are_learned_from_the_pool_and_template_sentences_are_not():
    """A number-free leading sentence that the pool shows removable (the unwrapped copy is there) is a wrapper;
    the template's own frequent question ("How many pens can Kim buy") is not: cutting it leaves a text nothing in
    the pool equals."""
    pre = "Kindly work through the next exercise thoroughly."
    texts = _BASES + [f"{pre}\n{t}" for t in _BASES[:5]]
    s = pl.Series(texts)
    keys = content_keys(canonical_frame(s)["canonical"])
    w = wrappers.learn(s, keys, content_keys)
    assert "kindly work through the next exercise thoroughly" in w.prefixes
    assert not any("how many pens" in x for x in w.prefixes | w.suffixes)
    r = find_duplicates(texts, near=NearConfig())
    assert all(r.root[len(_BASES) + k] == k for k in range(5)) and r.kept.sum() == len(_BASES)
    assert r.evidence(len(_BASES))["wrapper_cut"] is True
    assert find_duplicates(texts, near=NearConfig(wrappers=False)).kept.sum() > len(_BASES)


def test_fuzzy_near_merges_typos_but_not_substitutions_or_other_numbers():
    base = "Grace goes to a bakery with $304. Each pack of erasers costs $14, and Grace buys 7 packs. How much money?"
    typo = base.replace("bakery", "bkery").replace("erasers", "earsers")
    other_word = base.replace("erasers", "pencils")
    other_number = typo.replace("$14", "$15")
    r = find_duplicates([base, typo, other_word, other_number], near=NearConfig())
    assert r.root.tolist() == [0, 0, 2, 3]
    assert typo_close("right", "rigth") and typo_close("sale", "sae") and not typo_close("increasing", "decreasing")
    assert content_compatible("how many apples", "what is the number of apples")  # reworded soft words
    assert not content_compatible("find x", "find y") and not content_compatible("a list", "a nested list")


def test_semantic_dedup_uses_the_decontamination_detectors(tmp_path):
    """method 'detector': a translation and a renamed code task with the same examples are merged; a same-signature
    task whose examples disagree and a number-changed variant are not."""
    task = 'Write a function to count vowels.\nassert count_v("apple") == 2\nassert count_v("sky") == 0'
    texts = [
        "Jenna picked 20 apples and her mom picked 35 apples. How many apples did they pick?",
        "Jenna recogió 20 manzanas y su madre recogió 35 manzanas. ¿Cuántas manzanas recogieron?",
        "Jenna picked 20 apples and her mom picked 36 apples. How many apples did they pick?",
        task,
        'Return how many vowels a word has.\nassert vowels("apple") == 2\nassert vowels("sky") == 0\n'
        'assert vowels("queue") == 4',
        'Write a function to count consonants.\nassert count_v("apple") == 3\nassert count_v("sky") == 3',
    ]
    doms = ["math"] * 3 + ["code"] * 3
    sem = SemanticConfig(enabled=True)
    sem.detectors.embedding.enabled = False  # the detectors that decide these cases; keeps the test fast
    r = find_duplicates(texts, near=NearConfig(), semantic=sem, cache_dir=tmp_path, domains=doms)
    assert r.root.tolist() == [0, 0, 2, 3, 3, 5]
    assert r.evidence(1)["method"] == "same_problem_detectors"
