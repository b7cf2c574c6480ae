"""dedup and decontaminate stream their output in keyed parts: the parts change nothing in the tables, and a
killed stage resumes at the first missing part. Plus the equivalences the faster code paths rely on."""

from __future__ import annotations

import json
import random
import re
import sys
import unicodedata

import pytest

from curation import manifest
from curation.runner import Runner
from curation.stages import decontaminate as decontaminate_stage
from curation.stages import dedup as dedup_stage
from curation.store import RunStore
from curation.text.basic import normalize_text
from curation.text.contamination import foreign, foreign_mask, number_candidates, same_numbers

from ..spine_helpers import REPO, write_jsonl, write_manifest


def _pool(tmp_path):
    rows = [{"id": f"m{i}", "problem": f"Compute {i} times {i + 7} and add nine.", "answer": "1"} for i in range(40)]
    rows += [
        {
            "id": f"c{i}",
            "problem": f"Problem: compute {i} times {i + 7}  and add 9. Put your final answer within \\boxed{{}}.",
        }
        for i in range(10)
    ]
    rows += [{"id": f"e{i}", "problem": rows[i]["problem"], "answer": "1"} for i in range(5)]
    rows += [
        {"id": f"n{i}", "problem": f"Compute {i}  times {i + 7} and then add nine, please."} for i in range(20, 30)
    ]
    amc = [json.loads(x) for x in (REPO / "manifests/data/queries/amc_2022_2023.jsonl").read_text().splitlines()]
    rows += [{"id": f"amc{i}", "problem": r["problem"], "answer": r["answer"]} for i, r in enumerate(amc)]
    write_jsonl(tmp_path / "q.jsonl", rows)
    return len(rows)


def _run(tmp_path, name):
    m = manifest.load(
        write_manifest(
            tmp_path / "m.yaml",
            {
                "name": "t",
                "sources": [{"name": "s", "kind": "jsonl", "path": "q.jsonl"}],
                "dedup": {"exact": True, "near": {"threshold": 0.7}},
                "decontaminate": {"benchmarks": ["amc23"], "detectors": {"embedding": {"enabled": False}}},
            },
        )
    )
    lock = Runner(m, tmp_path / name, options={"quiet": True}).run()
    return lock, RunStore(tmp_path / name)


def _tables(store, stage):
    return (store.read(stage, "queries").to_pylist(), store.read(stage, "removed").to_pylist())


def test_parts_change_nothing_and_a_killed_stage_resumes(tmp_path, monkeypatch):
    n = _pool(tmp_path)
    lock_one, one = _run(tmp_path, "one")  # every table fits one part
    monkeypatch.setattr(dedup_stage, "PART_ROWS", 7)
    monkeypatch.setattr(decontaminate_stage, "PART_ROWS", 9)
    lock_many, many = _run(tmp_path, "many")
    for stage in ("dedup", "decontaminate"):
        assert _tables(many, stage) == _tables(one, stage)
        assert len(many.parts(stage, "queries")) > 3
        assert lock_many["stages"][stage]["rows"] == lock_one["stages"][stage]["rows"]
    kept, removed = _tables(many, "dedup")
    assert len(kept) + len(removed) == n and {r["reason"] for r in removed} == {"exact_duplicate", "near_duplicate"}
    assert _tables(many, "decontaminate")[1], "the AMC rows are contaminated"
    stats = lock_many["stages"]["decontaminate"]["stats"]
    assert stats["per_benchmark"] == lock_one["stages"]["decontaminate"]["stats"]["per_benchmark"]

    # kill decontaminate after its second part: the lock says running, the later parts are gone
    lock_path = many.root / "lock.json"
    lk = json.loads(lock_path.read_text())
    lk["stages"]["decontaminate"]["status"] = "running"
    lock_path.write_text(json.dumps(lk))
    parts = {t: many.parts("decontaminate", t) for t in ("queries", "removed")}
    for t in parts:
        for p in parts[t][2:]:
            p.unlink()
    kept_mtimes = [p.stat().st_mtime_ns for p in parts["queries"][:2]]
    lock = Runner(manifest.load(tmp_path / "m.yaml"), many.root, options={"quiet": True}).run()
    assert lock["stages"]["decontaminate"]["resumed"] is True
    assert lock["stages"]["decontaminate"]["stats"]["resumed_parts"] == 2
    assert [p.stat().st_mtime_ns for p in many.parts("decontaminate", "queries")[:2]] == kept_mtimes
    assert _tables(many, "decontaminate") == _tables(one, "decontaminate")


def _normalize_reference(text: str, nfkc: bool = True) -> str:
    """The per-line regex form that normalize_text replaced (query ids hash its output: it must not change)."""
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = "\n".join(re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def test_normalize_text_matches_the_regex_form_on_every_whitespace_character():
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    alphabet = spaces + ["\u200b", "\u00a0", "a", "Z", "\ufb01", "\u2460", "$", "7"]
    rng = random.Random(0)
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        for nfkc in (True, False):
            assert normalize_text(text, nfkc) == _normalize_reference(text, nfkc), repr(text)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_number_candidates_equal_the_guard_over_all_pairs(seed):
    rng = random.Random(seed)
    vals = ["0", "1", "2", "3", "5", "12", "40", "1.5"]
    draw = lambda: " ".join(sorted(rng.sample(vals, rng.randint(0, 3))))
    queries, items = [draw() for _ in range(200)], [draw() for _ in range(40)]
    inc = {"0", "1", "2"}
    for only in (False, True):
        got = number_candidates(queries, items, inc, with_numbers_only=only).rows()
        want = [
            (q, i)
            for q in range(len(queries))
            for i in range(len(items))
            if same_numbers(items[i], queries[q], inc) and (items[i] or not only)
        ]
        assert got == want


def test_foreign_mask_is_foreign_on_every_text():
    texts = []
    for f in sorted((REPO / "manifests/data/queries").glob("*.jsonl")):
        for line in f.read_text().splitlines()[:400]:
            row = json.loads(line)
            texts.append(row.get("problem") or row.get("prompt") or "")
    rng = random.Random(0)
    alphabet = [*"abc XYZ$.,\n", "the ", "of ", "and ", "\\(", "\\)", "\\[", "\\]", "\u00e9", "\u0436", "\u4e2d"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(5000)]
    texts += [
        "Dies ist eine Aufgabe mit vielen W\u00f6rtern und Zahlen",
        "Ceci est un probl\u00e8me de calcul simple ici",
        "Trouvez la valeur de x dans cette longue phrase sans mots anglais",
        "$x + y$ the of and",
        "",
    ]
    got = foreign_mask(texts).tolist()
    assert got == [foreign(t) for t in texts]
    assert any(got) and not all(got)


def test_settled_pairs_are_not_embedded_and_the_hits_do_not_change(tmp_path):
    from curation.benchmarks import load
    from curation.config.decontaminate import Detectors, Policy
    from curation.text.contamination import BenchmarkIndex

    items = load("gsm8k_test")[:40]
    janet = items[0].text
    rephrased = (
        "Every day, Janet's ducks produce 16 eggs. She has three of them for breakfast each morning and "
        "uses four to bake muffins for her friends daily. The remainder she sells at the farmers' market "
        "for $2 per egg. How many dollars does she earn every day at the farmers' market?"
    )
    queries = [it.text for it in items[:20]]  # verbatim copies: exact hits, and embedding candidates too
    queries += [rephrased, "Problem: " + janet + " Let's think step by step.", rephrased.replace("16", "18")]
    results = {}
    for skip in (False, True):
        idx = BenchmarkIndex(items, Detectors(), Policy())
        idx.skip_settled = skip
        stats: dict = {}
        hits = idx.detect(queries, cache_dir=tmp_path / str(skip), stats=stats)
        results[skip] = ([[h.to_dict() for h in hs] for hs in hits], stats)
    assert results[True][0] == results[False][0]
    assert results[True][0][20][0]["detector"] == "embedding" and not results[True][0][22]
    skipped, full = results[True][1], results[False][1]
    assert skipped["embedding_settled_pairs"] >= 20
    assert skipped["embedding_cache"]["encoded"] < full["embedding_cache"]["encoded"]
