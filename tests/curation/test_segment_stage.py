"""verify → segment → select on real traces of six teachers, through the stage functions; and `cotforge segment`."""

from __future__ import annotations

import importlib.util
import json

import pyarrow.parquet as pq
import pytest

from curation.stages import segment as segment_stage
from curation.stages import select as select_stage
from curation.stages import verify as verify_stage

from ._cot_helpers import LONG_COT_TEACHER, demo_rows, make_ctx, queries_and_traces_from_demo, seed_store

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("verifiers.math") is None, reason="verifiers.math not built yet"),
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rows = demo_rows()
    problems = sorted({r["problem"] for r in rows})[:10]
    queries, traces = queries_and_traces_from_demo([r for r in rows if r["problem"] in problems])
    tmp = tmp_path_factory.mktemp("run")
    seed_store(tmp, queries, traces)
    for name, up in (("verify", ["collect", "distill"]), ("segment", ["collect", "distill", "verify"]),
                     ("select", ["collect", "distill", "verify", "segment"])):
        ctx = make_ctx(tmp, name, up)
        {"verify": verify_stage, "segment": segment_stage, "select": select_stage}[name].run(ctx)
        (tmp / f"{name}.stats.json").write_text(json.dumps(ctx.stats))
    return tmp


def test_segment_stage_writes_structure_and_simplifications(run_dir):
    t = pq.read_table(run_dir / "stages" / "segment" / "traces").to_pylist()
    assert len(t) == 50 and len({r["teacher"] for r in t}) == 5
    simplified = 0
    for r in t:
        text = r["reasoning"] or r["completion"]
        assert "".join(text[s["start"]:s["end"]] for s in r["segments"]) == text  # verbatim tiling
        d = json.loads(r["segment_details"])
        assert r["simplified_tokens"] <= r["reasoning_tokens"]
        if d.get("simplified"):
            simplified += 1
            assert r["verdict"] == "correct" and r["simplified_tokens"] < r["reasoning_tokens"]
            assert all(x["rule"] for x in d["removed"])
            assert d["simplified_verifies"] is True
        else:
            assert r["simplified_reasoning"] == text
    assert simplified > 0
    stats = json.loads((run_dir / "segment.stats.json").read_text())
    long_cot = stats["per_teacher"][LONG_COT_TEACHER]
    assert long_cot["approaches_per_trace"] > 1 and long_cot["verification_char_share"] > 0
    assert stats["tokenizer"]


def test_simplified_traces_still_verify_independently(run_dir):
    from verifiers.math import verify_batch

    t = pq.read_table(run_dir / "stages" / "segment" / "traces").to_pylist()
    q = {r["query_id"]: r for r in pq.read_table(run_dir / "stages" / "collect" / "queries").to_pylist()}
    changed = [r for r in t if r["simplified_reasoning"] != (r["reasoning"] or r["completion"])]
    assert changed
    pairs = [(q[r["query_id"]]["reference_answer"],
              r["simplified_reasoning"] + ("\n\n" + r["answer"] if r["reasoning"] else "")) for r in changed]
    assert all(v.equivalent for v in verify_batch(pairs, workers=1))


def test_select_after_segment_writes_pairs_and_keeps_negatives(run_dir):
    sel = pq.read_table(run_dir / "stages" / "select" / "traces").to_pylist()
    assert len(sel) == 50  # no filter enabled: nothing removed
    labels = {r["label"] for r in sel}
    assert {"positive", "negative"} <= labels
    pairs = pq.read_table(run_dir / "stages" / "select" / "pairs").to_pylist()
    ids = {r["trace_id"]: r for r in sel}
    assert pairs
    for p in pairs:
        assert ids[p["chosen_trace_id"]]["label"] == "positive" and ids[p["rejected_trace_id"]]["label"] == "negative"
        assert ids[p["chosen_trace_id"]]["query_id"] == p["query_id"] == ids[p["rejected_trace_id"]]["query_id"]


def test_cli_segment_on_any_jsonl(tmp_path):
    from typer.testing import CliRunner

    from curation.cli import app

    src = tmp_path / "in.jsonl"
    rows = [r for r in demo_rows() if r["teacher"] in (LONG_COT_TEACHER, "google/gemma-2-27b-it")][:6]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.parquet"
    res = CliRunner().invoke(app, ["segment", str(src), "--out", str(out), "--reasoning-field", "response",
                                   "--tokenizer", "regex"])
    assert res.exit_code == 0, res.output
    t = pq.read_table(out).to_pylist()
    assert len(t) == 6 and t[0]["trace_id"] == rows[0]["trace_id"]
    for r in t:
        assert r["segments"] and r["simplified_reasoning"] is not None and r["reasoning_tokens"] > 0
    bad = CliRunner().invoke(app, ["segment", str(src), "--out", str(out), "--reasoning-field", "nope"])
    assert bad.exit_code != 0 and "nope" in str(bad.exception or bad.output)
