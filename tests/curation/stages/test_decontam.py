"""Decontamination: bundled registry, real overlaps in the demo pool, number policy, stage + CLI contract."""

from __future__ import annotations

import json

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from curation import manifest
from curation.benchmarks import REGISTRY, load, load_all
from curation.cli import app
from curation.config.decontaminate import Detectors, Policy
from curation.errors import UserError
from curation.runner import Runner
from curation.store import RunStore
from curation.tabular_io import write_table
from curation.text.contamination import BenchmarkIndex, canonical_code, question_of

from ..spine_helpers import REPO, write_jsonl, write_manifest

POOL = REPO / "manifests" / "data" / "queries"


def _rows(name: str) -> list[dict]:
    return [json.loads(x) for x in (POOL / name).read_text().splitlines() if x.strip()]


def _index(names, embedding=False, **policy) -> BenchmarkIndex:
    det = Detectors()
    det.embedding.enabled = embedding
    return BenchmarkIndex(load_all(names), det, Policy(**policy))


def test_registry_loads_every_bundled_benchmark():
    sizes = {name: len(load(name)) for name in REGISTRY}
    assert sizes["math500"] == 500 and sizes["amc23"] == 40 and sizes["gpqa_diamond"] == 198
    assert sizes["humaneval"] == 164 and sizes["mbpp_test"] == 500 and sizes["gsm8k_test"] == 1319
    assert (REPO / "manifests/data/benchmarks/gpqa_diamond.jsonl.gz").exists()
    assert not (REPO / "manifests/data/benchmarks/gpqa_diamond.jsonl").exists()  # stays gzipped


def test_unknown_benchmark_is_a_clear_error():
    with pytest.raises(UserError, match="unknown benchmark 'nope'"):
        load("nope")


def test_amc_pool_contains_all_40_amc23_problems():
    rows = _rows("amc_2022_2023.jsonl")
    hits = _index(["amc23", "aime24", "aime25"]).detect([r["problem"] for r in rows])
    found = {h.item_id for hs in hits for h in hs if h.benchmark == "amc23"}
    assert len(found) == 40
    assert sum(1 for h in hits if h) == 40  # and the 43 AMC 2022 problems are clean


def test_mbpp_pool_three_exact_test_prompts():
    rows = _rows("mbpp_train_val_prompt.jsonl")
    hits = _index(["mbpp_test", "humaneval"]).detect([r["prompt"] for r in rows], ["code"] * len(rows))
    exact = {r["id"] for r, hs in zip(rows, hits) if any(h.detector == "exact" for h in hs)}
    assert len(exact) == 3
    assert sum(1 for h in hits if h) <= 10  # a few more are test prompts with a word added (substring hits)


def test_math_train_vs_math500_flags_no_same_setup_siblings():
    rows = _rows("math_train.jsonl")
    hits = _index(["math500"]).detect([r["problem"] for r in rows])
    # MATH train has "same setup, different question" siblings of MATH-500 items (e.g. "Find $d$." vs
    # "Find the smallest possible value of $c$."); they are different problems and must stay.
    assert sum(1 for h in hits if h) == 0


def test_number_policy_changed_variant_is_clean_by_default():
    item = load("gsm8k_test")[0]
    changed = item.text.replace("16", "17")
    wrapped = "Solve the following math problem: " + item.text + " Put your final answer within \\boxed{}."
    idx = _index(["gsm8k_test"])
    hits = idx.detect([changed, wrapped])
    assert hits[0] == []
    assert hits[1] and hits[1][0].item_id == item.item_id
    strict = _index(["gsm8k_test"], changed_numbers="contaminated").detect([changed])
    assert strict[0] and strict[0][0].item_id == item.item_id


def test_code_detector_sees_through_identifier_renaming():
    he = load("humaneval")[:20]
    renamed = [it.text.replace("def ", "def my_").replace("numbers", "xs") for it in he]
    hits = _index(["humaneval"]).detect(renamed, ["code"] * len(renamed))
    assert sum(1 for h in hits if h) >= 18
    det = Detectors()
    det.embedding.enabled = det.tests.enabled = False  # the doctests alone would catch these too
    hits = BenchmarkIndex(load_all(["humaneval"]), det, Policy()).detect(renamed, ["code"] * len(renamed))
    assert sum(1 for h in hits if any(x.detector == "code_ngram" for x in h)) >= 15
    assert canonical_code("def f(a):\n    return a + 1") == canonical_code("def g(b):  # c\n    return b + 1")


def test_question_of_skips_answer_format_instructions():
    assert question_of("Let $x=2$. Find $x^2$. Express your answer as a common fraction.") == "Find $x^2$."


def test_stage_removes_with_evidence_and_flag_policy_keeps(tmp_path):
    amc = _rows("amc_2022_2023.jsonl")
    write_jsonl(tmp_path / "q.jsonl", amc)
    own = [{"id": "mine-1", "question": amc[0]["problem"]}]
    write_jsonl(tmp_path / "own.jsonl", own)
    base = {
        "name": "t",
        "sources": [{"name": "amc", "kind": "jsonl", "path": "q.jsonl"}],
        "decontaminate": {
            "benchmarks": ["amc23", {"name": "own", "path": "own.jsonl", "field": "question"}],
            "detectors": {"embedding": {"enabled": False}},
        },
    }
    m = manifest.load(write_manifest(tmp_path / "m.yaml", base))
    lock = Runner(m, tmp_path / "run", options={"quiet": True}).run()
    store = RunStore(tmp_path / "run")
    removed = store.read("decontaminate", "removed").to_pylist()
    kept = store.read("decontaminate", "queries")
    assert len(removed) == 41 and kept.num_rows == 42
    assert {r["reason"] for r in removed} == {"contaminated"}
    ev = [json.loads(r["evidence"]) for r in removed]
    assert {e["benchmark"] for e in ev} == {"amc23", "own"}
    assert all({"benchmark", "item_id", "detector", "score"} <= set(e) for e in ev)
    assert lock["stages"]["decontaminate"]["stats"]["per_benchmark"] == {"amc23": 40, "own": 1}

    base["decontaminate"]["policy"] = {"action": "flag"}
    m = manifest.load(write_manifest(tmp_path / "m.yaml", base))
    Runner(m, tmp_path / "run", options={"quiet": True}).run()
    kept = store.read("decontaminate", "queries")
    assert kept.num_rows == 83
    flagged = [json.loads(x) for x in kept.column("metadata").to_pylist()]
    assert sum(1 for x in flagged if "contamination" in x) == 41


@pytest.mark.parametrize("ext", ["jsonl", "parquet"])
def test_cli_contract(tmp_path, ext):
    rows = _rows("amc_2022_2023.jsonl")[30:50]
    src = tmp_path / f"in.{ext}"
    write_table(pl.DataFrame(rows), src)
    out = tmp_path / f"out.{ext}"
    res = CliRunner().invoke(
        app,
        [
            "decontaminate",
            str(src),
            "--out",
            str(out),
            "--benchmark",
            "amc23",
            "--benchmark",
            "aime24",
            "--no-embedding",
        ],
    )
    assert res.exit_code == 0, res.output
    df = pl.read_ndjson(out) if ext == "jsonl" else pl.read_parquet(out)
    assert df.height == 20
    n = int(df["contaminated"].sum())
    assert n > 0
    hit = df.filter(pl.col("contaminated"))["contamination_hits"][0].to_list()[0]
    assert hit["benchmark"] == "amc23" and hit["detector"] == "exact" and hit["score"] == 1.0
    assert df.filter(~pl.col("contaminated"))["contamination_hits"].list.len().max() == 0


@pytest.mark.slow
def test_embedding_detector_catches_rephrasing_that_keeps_numbers(tmp_path):
    item = load("gsm8k_test")[0]  # Janet's ducks lay 16 eggs per day...
    rephrased = (
        "Every day, Janet's ducks produce 16 eggs. She has three of them for breakfast each morning and "
        "uses four to bake muffins for her friends daily. The remainder she sells at the farmers' market "
        "for $2 per egg. How many dollars does she earn every day at the farmers' market?"
    )
    changed = rephrased.replace("16", "18")
    det = Detectors()
    det.ngram.enabled = det.substring.enabled = False
    idx = BenchmarkIndex([item], det, Policy())
    hits = idx.detect([rephrased, changed], cache_dir=tmp_path)
    assert hits[0] and hits[0][0].detector == "embedding"
    assert hits[1] == []


def test_number_guard_allows_incidental_small_numbers_only():
    from curation.text.contamination import same_numbers

    inc = {"0", "1", "2"}
    assert same_numbers("2 217 4022 56", "217 4022 56", inc)  # "= 0"/"two of" dropped by a rephrasing
    assert same_numbers("1 115 4324", "1 115 4324 50", inc) is False  # a new significant number
    assert same_numbers("1 7", "2 7", inc) is False  # "x+1" vs "x+2": swapped, not dropped
    assert same_numbers("7 7 9", "7 9", inc)  # sets: "7 pencils and 7 erasers" = "7 of each"


def test_formula_guard_rejects_same_prose_other_formula():
    from curation.text.canonical import canonicalize
    from curation.text.contamination import formula_kept, math_tokens

    # MATH train vs MATH-500 (intermediate_algebra/190): MiniLM cosine 0.82, same numbers
    train = (
        "Let $x,$ $y,$ and $z$ be positive real numbers such that $x + y + z = 1.$  Find the minimum value of "
        "\\[\\frac{1}{x} + \\frac{1}{y} + \\frac{1}{z}.\\]"
    )
    test = (
        "Let $x,$ $y,$ and $z$ be positive real numbers such that $xyz(x + y + z) = 1.$  Find the minimum value "
        "of \\[(x + y)(y + z).\\]"
    )
    assert not formula_kept(math_tokens(canonicalize(test)), math_tokens(canonicalize(train)), 0.7)
    reworded = "Suppose positive reals $x$, $y$, $z$ satisfy $xyz(x+y+z)=1$. Minimize $(x+y)(y+z)$."
    assert formula_kept(math_tokens(canonicalize(test)), math_tokens(canonicalize(reworded)), 0.7)


def test_question_split_handles_lower_case_wrappers_and_math_sentence_ends():
    from curation.text.contamination import question_split

    (q1, s1), (q2, s2) = question_split(
        [
            "a bag has 3 red marbles. what is the chance of red? let's think step by step.",
            "Let $x = 1.$  Find $x^2$. Express your answer as a common fraction.",
        ]
    )
    assert (q1, s1) == ("what is the chance of red", "a bag has 3 red marbles")
    assert (q2, s2) == ("find $ x ^ 2 $", "let $ x = 1 $")


@pytest.mark.slow
def test_embedding_detector_same_setup_other_question_is_clean(tmp_path):
    from curation.benchmarks import BenchItem

    item = BenchItem(
        "b",
        "rect",
        "A rectangle has length 12 cm and width 7 cm. A square has side 5 cm. What is the "
        "total area of the two shapes in square centimeters?",
        "math",
    )
    rephrased = (
        "The length of a rectangle is 12 cm and its width is 7 cm. The side of a square measures 5 cm. "
        "Compute the combined area of both figures in cm$^2$."
    )
    other = (
        "A rectangle has length 12 cm and width 7 cm. A square has side 5 cm. By how much does the rectangle's "
        "perimeter exceed the square's?"
    )
    other_reworded = (
        "The length of a rectangle is 12 cm and its width is 7 cm. The side of a square measures 5 cm. "
        "How much longer is the rectangle's perimeter than the square's?"
    )
    det = Detectors()
    det.ngram.enabled = det.substring.enabled = False
    hits = BenchmarkIndex([item], det, Policy()).detect([rephrased, other, other_reworded], cache_dir=tmp_path)
    assert hits[0] and hits[0][0].detector == "embedding"
    assert hits[1] == [] and hits[2] == []
    det.embedding.question_check = False  # whole-text cosine alone flags the other question
    assert BenchmarkIndex([item], det, Policy()).detect([other], cache_dir=tmp_path)[0]


def test_llm_judge_reads_yes_no_and_its_answers_are_cached(tmp_path, openai_server):
    from curation.llm import TeacherPool
    from curation.stages.decontaminate import make_judge

    srv = openai_server(answer=lambda p, i: "YES" if "ducks" in p else ("No." if "train" in p else "perhaps"))
    text = yaml.safe_dump(
        {
            "name": "t",
            "sources": [{"name": "s", "kind": "jsonl", "path": "q.jsonl"}],
            "teachers": [
                {
                    "name": "j",
                    "backend": "openai",
                    "model": "m",
                    "generation": {"max_tokens": 8},
                    "openai": {"base_url": srv.base_url, "max_retries": 0},
                }
            ],
            "decontaminate": {"detectors": {"judge": {"enabled": True, "teacher": "j"}}},
        }
    )
    m = manifest.loads(text, check_files=False)
    pairs = [
        ("Janet's ducks lay 16 eggs", "Janet's ducks lay 16 eggs a day"),
        ("A train leaves", "A bus leaves"),
        ("x", "y"),
    ]
    for _ in range(2):  # the second pool finds every answer in the cache
        with TeacherPool(m, tmp_path) as pool:
            assert make_judge(pool, m.decontaminate)(pairs) == [True, False, None]
    assert len(srv.prompts()) == 3 and "Problem A:" in srv.prompts()[0]
    m.decontaminate.detectors.judge.teacher = "nobody"
    with TeacherPool(m, tmp_path) as pool, pytest.raises(UserError, match="decontaminate.detectors.judge.teacher"):
        make_judge(pool, m.decontaminate)


# --- issue 20: detectors that hold on independent data ------------------------------------------------------------
from curation.benchmarks import BenchItem  # noqa: E402
from curation.text import testcases  # noqa: E402
from curation.text.contamination import foreign, inserted_run  # noqa: E402

BLIND = REPO / "tests" / "data" / "dedup20" / "dev_sample.jsonl"
_CODE = {"mbpp_test", "humaneval"}


def test_examples_are_read_from_asserts_doctests_and_prose_without_the_function_name():
    a = testcases.examples('assert remove_Occ("hello","l") == "heo"\nassert remove_Occ("PHP","P") == "H"')
    b = testcases.examples("Examples: strip_chars('hello', 'l') returns 'heo'; strip_chars('PHP','P') -> 'H'.")
    d = testcases.examples('def f(a, b):\n    """\n    >>> gcd(3, 5)\n    1\n    """')
    assert a == b == {'"hello","l"': '"heo"', '"PHP","P"': '"H"'} and d == {"3,5": "1"}
    assert testcases.compare(a, {'"hello","l"': '"hel"'}) == (0, 0, 1)  # same input, other output: a conflict
    assert not testcases.specific("5") and testcases.specific("10,2,13")


def test_demo_mbpp_prompts_that_are_benchmark_tasks_are_flagged_and_the_sibling_is_not():
    """The demo's MBPP pool vs mbpp_test with the n-gram/substring/tests detectors (the demo runs no embeddings):
    same task, other words ("ncr mod p" / "ncr%p", with a shared test) is contaminated; "containing 'z', not at the
    start or end" is not a copy of "containing 'z'" although it contains it."""
    rows = {r["id"]: r for r in _rows("mbpp_train_val_prompt.jsonl")}
    idx = _index(["mbpp_test"])
    ids = ["mbpp-952", "mbpp-922", "mbpp-842", "mbpp-841", "mbpp-643"]
    hits = idx.detect(
        [rows[i]["prompt"] for i in ids], ["code"] * len(ids), tests=[json.dumps(rows[i]["tests"]) for i in ids]
    )
    found = [{h.item_id for h in hs} for hs in hits]
    assert found[:4] == [{"mbpp-402"}, {"mbpp-415"}, {"mbpp-29"}, {"mbpp-296"}]
    assert "mbpp-454" not in found[4]


def test_tests_detector_vetoes_a_same_signature_task_with_other_outputs():
    item = BenchItem(
        "he", "1", 'def f(xs):\n    """ Keep positives.\n    >>> f([1, -2, 3])\n    [1, 3]\n    """', "code"
    )
    det = Detectors()
    det.embedding.enabled = False
    idx = BenchmarkIndex([item], det, Policy())
    other = 'def f(xs):\n    """ Keep negatives.\n    >>> f([1, -2, 3])\n    [-2]\n    """'
    renamed = "Write keep_pos(values) returning the positive values, e.g. keep_pos([1, -2, 3]) -> [1, 3]."
    assert [bool(h) for h in idx.detect([other, renamed], ["code", "code"])] == [False, False]  # one example: weak
    renamed += " Also keep_pos([5, 0, -1, 7]) -> [5, 7]."
    item2 = BenchItem("he", "2", item.text[:-7] + '\n    >>> f([5, 0, -1, 7])\n    [5, 7]\n    """', "code")
    idx2 = BenchmarkIndex([item2], det, Policy())
    assert bool(idx2.detect([renamed], ["code"])[0]) and not idx2.detect([other], ["code"])[0]


def test_translation_keeps_numbers_and_names_and_other_languages_are_detected():
    item = BenchItem(
        "g",
        "1",
        "Jenna picked half as many apples as her mom. If her mom got 20 apples, how many apples did they both pick?",
        "math",
    )
    det = Detectors()
    det.embedding.enabled = False
    idx = BenchmarkIndex([item], det, Policy())
    es = "Jenna recogió la mitad de manzanas que su madre. Si su madre recogió 20 manzanas, ¿cuántas recogieron?"
    es_changed = es.replace("20", "24")
    assert foreign(es) and not foreign(item.text)
    hits = idx.detect([es, es_changed])
    assert [h.detector for h in hits[0]] == ["translation"] and not hits[1]


def test_a_sentence_inserted_into_a_copy_makes_a_superset_task():
    item = (
        "Argo has 200 toys. He gives 40 toys to Alyssa, 80 to Bonnie, and 30 to Nicky. How many toys does "
        "Argo have now?"
    )
    inserted = item.replace("Nicky.", "Nicky. Later that week his grandmother buys him new toys from the shop.")
    wrapped = "Solve this carefully and show your work.\n\n" + item + "\n\nThanks a lot for the help!"
    det = Detectors()
    det.embedding.enabled = False
    idx = BenchmarkIndex([BenchItem("g", "1", item, "math")], det, Policy())
    assert [bool(h) for h in idx.detect([inserted, wrapped])] == [False, True]
    assert inserted_run("a b c x y z d e f", "a b c d e f") == 3 and inserted_run("w a b c d", "a b c d") == 0


def test_blind_sample_cases_decided_without_embeddings():
    """Independent cases (tests/data/dedup20/README.md): every category the non-embedding detectors decide."""
    rows = [json.loads(x) for x in BLIND.read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["category"] not in ("rephrase_keep_numbers", "multi_edit")]
    items = {}
    for r in rows:
        dom = "code" if r["anchor_source"] in _CODE else "math"
        items.setdefault(r["anchor_id"], BenchItem(r["anchor_source"], r["anchor_id"], r["anchor_text"], dom))
    det = Detectors()
    det.embedding.enabled = False
    idx = BenchmarkIndex(list(items.values()), det, Policy())
    hits = idx.detect([r["variant_text"] for r in rows], [items[r["anchor_id"]].domain for r in rows])
    wrong = [
        (r["case_id"], r["category"])
        for r, hs in zip(rows, hits)
        if any(h.item_id == r["anchor_id"] for h in hs) != (r["label"] == "same")
    ]
    assert not wrong


def test_cli_tests_field_and_a_query_shorter_than_one_ngram(tmp_path):
    """One short query (fewer tokens than n: the shingler once failed on such a batch) with its tests column."""
    q = tmp_path / "q.jsonl"
    write_jsonl(
        q,
        [
            {
                "id": "a",
                "problem": "Compute nCr modulo p.",
                "domain": "code",
                "tests": ["assert nCr_mod_p(10, 2, 13) == 6", "assert nCr_mod_p(15, 12, 43) == 25"],
            }
        ],
    )
    out = tmp_path / "o.jsonl"
    r = CliRunner().invoke(
        app,
        [
            "decontaminate",
            str(q),
            "--out",
            str(out),
            "-b",
            "mbpp_test",
            "--domain-field",
            "domain",
            "--tests-field",
            "tests",
            "--no-embedding",
        ],
    )
    assert r.exit_code == 0, r.output
    row = json.loads(out.read_text().splitlines()[0])
    assert row["contaminated"] and row["contamination_hits"][0]["item_id"] == "mbpp-402"
