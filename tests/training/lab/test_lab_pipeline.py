"""The lab's data through the real pipeline (manifests/lab/lab.yaml): dedup, decontamination, verification,
segmentation, pairs and exports each do what the generator's ground truth says they should."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation import manifest as manifest_mod
from curation.runner import Runner
from training.lab.build import LabSpec, build

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "manifests/lab/lab.yaml"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab")
    spec = LabSpec(seed=3, train=90, test=30, duplicates=6, near_duplicates=6, leaked=5)
    summary = build(tmp / "data", spec)
    m = manifest_mod.loads(MANIFEST.read_text(), path=tmp / "lab.yaml", base_dir=tmp)
    runner = Runner(m, tmp / "run", options={"quiet": True})
    lock = runner.run()
    truth = {}
    for line in (tmp / "data/traces.jsonl").open():
        r = json.loads(line)
        truth[(r["teacher"], r["response"])] = r["outcome"]
    return tmp, spec, summary, lock, runner.store, truth


def _table(store, name: str) -> list[dict]:
    import duckdb

    with duckdb.connect(str(store.catalog_path), read_only=True) as con:
        return con.sql(f"select * from {name}").arrow().read_all().to_pylist()


def test_dedup_and_decontamination_remove_exactly_the_planted_rows(lab):
    tmp, spec, _, _, store, _ = lab
    removed = _table(store, "removed")
    by_stage = Counter((r["stage"], r["reason"]) for r in removed)
    assert by_stage[("dedup", "exact_duplicate")] == spec.duplicates
    assert by_stage[("dedup", "near_duplicate")] == spec.near_duplicates
    assert by_stage[("decontaminate", "contaminated")] == spec.leaked
    queries = _table(store, "queries")
    assert len(queries) == spec.train
    # one representative per train problem (dedup keeps the first in pool order: sometimes a copy), no leak
    origins = Counter(json.loads(q["metadata"])["origin"] for q in queries)
    assert "leaked_test" not in origins
    base = {re.sub(r"-(dup|near)\d+$", "", q["source_id"]) for q in queries}
    assert len(base) == spec.train and all(b.startswith("lab-") for b in base)


def test_verdicts_match_what_each_teacher_meant(lab):
    _, spec, summary, _, store, truth = lab
    traces = _table(store, "traces")
    # an exact duplicate's traces join its kept twin (same normalized text); near-duplicates' and leaks' join nothing
    assert len(traces) == sum(t.samples for t in spec.teachers) * (spec.train + spec.duplicates)
    seen = Counter()
    for t in traces:
        o = truth[(t["teacher"], t["completion"])]
        seen[t["teacher"]] += 1
        if o["cut"]:
            assert t["status"] == "truncated" and t["verdict"] != "correct"
        elif o["bad_format"] is None:
            assert (t["verdict"] == "correct") == o["answer_right"], (t["teacher"], o, t["completion"][-200:])
        elif o["bad_format"] == "unclosed":
            assert t["status"] == "malformed"
    assert set(seen) == {t.name for t in spec.teachers}


def test_segment_finds_approaches_and_simplifies_long_cot(lab):
    _, _, _, _, store, truth = lab
    long_ = [t for t in _table(store, "traces") if t["teacher"] == "longcot" and t["verdict"] == "correct"]
    with_approach = [t for t in long_ if any(s["kind"] == "approach" for s in t["segments"] or [])]
    assert len(with_approach) >= 0.9 * len(long_)
    assert any(sum(s["kind"] == "approach" for s in t["segments"]) >= 2 for t in long_)
    assert any(s["kind"] == "verification" for t in long_ for s in t["segments"])
    shorter = [
        t for t in long_ if t["simplified_tokens"] is not None and t["simplified_tokens"] < t["reasoning_tokens"]
    ]
    assert len(shorter) >= 0.3 * len(long_)
    concise = [t for t in _table(store, "traces") if t["teacher"] == "concise"]
    assert not any(s["kind"] == "approach" for t in concise for s in t["segments"] or [])


def test_pairs_and_exports(lab):
    tmp, spec, _, _, store, _ = lab
    traces = {t["trace_id"]: t for t in _table(store, "traces")}
    pairs = _table(store, "pairs")
    assert pairs
    for p in pairs:
        assert traces[p["chosen_trace_id"]]["verdict"] == "correct"
        assert traces[p["rejected_trace_id"]]["verdict"] != "correct"
    out = tmp / "run/export"
    sft = pq.read_table(out / "trl-sft/train.parquet").to_pylist()
    assert len(sft) == sum(t["verdict"] == "correct" for t in traces.values())
    assert sft[0]["messages"][-1]["role"] == "assistant" and "<think>" in sft[0]["messages"][-1]["content"]
    assert len(pq.read_table(out / "trl-preference/train.parquet")) == len(pairs)
    assert len(pq.read_table(out / "trl-prompt/train.parquet")) == spec.train
