"""select: labels, pass rates, CV, AM/AceReason selections, pairs, filters with reasons."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curation import records
from curation.config.verify import PairsConfig, SelectConfig
from curation.stages import select as select_stage
from curation.stages.select import cv, label_rows, make_pairs

from ._cot_helpers import make_ctx, trace_row


def test_cv_matches_deepdistill_examples():
    assert cv([0.5] * 5) == 0.0
    assert cv([0.9, 0.1, 0.7, 0.3, 0.5], ddof=1) == pytest.approx(0.632, abs=1e-3)
    assert cv([0.9, 0.1, 0.7, 0.3, 0.5], ddof=0) == pytest.approx(0.566, abs=1e-3)
    assert cv([0.0, 0.0, 0.0]) is None  # hopeless, not infinite


def _rows():
    def r(q, t, i, verdict, n_words):
        row = trace_row(q, t, i, " ".join(f"w{k}" for k in range(n_words)))
        row.update({"verdict": verdict, "score": {"correct": 1.0, "incorrect": 0.0}.get(verdict)})
        return row
    return [
        r("q1", "A", 0, "incorrect", 30), r("q1", "A", 1, "correct", 50), r("q1", "B", 0, "correct", 20),
        r("q1", "B", 1, "incorrect", 90), r("q1", "B", 2, "truncated", 300),
        r("q2", "A", 0, "correct", 10), r("q2", "B", 0, "correct", 10),
        r("q3", "A", 0, "incorrect", 10), r("q3", "A", 1, "unverifiable", 10),
    ]


def test_labels_pass_rates_and_pools():
    rows = _rows()
    label_rows(rows, SelectConfig(am_selection={"enabled": True, "cv_threshold": 0.2}))
    by = {(r["query_id"], r["teacher"], r["sample_index"]): r for r in rows}
    assert [by[("q1", "B", 2)]["label"], by[("q3", "A", 1)]["label"]] == ["truncated", "unverifiable"]
    assert by[("q1", "A", 0)]["pass_rate"] == pytest.approx(2 / 5)  # truncated counts as a failed sample
    assert by[("q1", "A", 0)]["difficulty"] == pytest.approx(3 / 5)
    assert by[("q1", "A", 0)]["teacher_pass_rate"] == 0.5 and by[("q1", "B", 0)]["teacher_pass_rate"] == 1 / 3
    assert by[("q1", "A", 0)]["rl_pool"] is True and by[("q2", "A", 0)]["rl_pool"] is False
    assert by[("q3", "A", 0)]["pass_rate"] == 0.0 and by[("q3", "A", 0)]["cv"] is None
    # AM stage I: q1 unstable -> keeps passing responses only; q2 stable/easy -> dropped; q3 hopeless -> dropped
    assert by[("q1", "A", 1)]["am_selected"] is True and by[("q1", "A", 0)]["am_selected"] is False
    assert not any(by[k]["am_selected"] for k in by if k[0] in ("q2", "q3"))


def test_pair_strategies():
    rows = _rows()
    label_rows(rows, SelectConfig())
    first = make_pairs(rows, PairsConfig())
    assert len(first) == 1 and first[0]["query_id"] == "q1"
    byid = {r["trace_id"]: r for r in rows}
    c, rj = byid[first[0]["chosen_trace_id"]], byid[first[0]["rejected_trace_id"]]
    assert (c["teacher"], c["sample_index"], rj["teacher"], rj["sample_index"]) == ("B", 0, "A", 0)  # generation order: sample 0 of every teacher first
    hard = make_pairs(rows, PairsConfig(chosen="shortest", rejected="longest"))[0]
    assert byid[hard["chosen_trace_id"]]["teacher"] == "B" and byid[hard["rejected_trace_id"]]["sample_index"] == 1
    many = make_pairs(rows, PairsConfig(per_query=5))
    assert len(many) == 2 and len({p["chosen_trace_id"] for p in many}) == 2
    cross = make_pairs(rows, PairsConfig(per_query=5, teachers="cross"))
    assert all(p["chosen_teacher"] != p["rejected_teacher"] for p in cross)
    same = make_pairs(rows, PairsConfig(per_query=5, teachers="same"))
    assert all(p["chosen_teacher"] == p["rejected_teacher"] for p in same)
    with_trunc = make_pairs(rows, PairsConfig(per_query=5, rejected="longest", truncated_as_negative=True))
    assert len(with_trunc) == 2 and any(byid[p["rejected_trace_id"]]["label"] == "truncated" for p in with_trunc)


def test_select_stage_keeps_labels_and_removes_only_by_filter(tmp_path):
    rows = _rows()
    loop = "I will check this again now. " * 80
    rows[5]["completion"] = loop  # q2/A: a repetition loop
    store_rows = records.conform(pa.Table.from_pylist(rows), records.VERIFIED_TRACES)
    ctx = make_ctx(tmp_path, "select", ["verify"], "")
    ctx.store.write_part("verify", "traces", store_rows)
    ctx.config = SelectConfig(filters={"ngram_loop": {"enabled": True, "n": 10, "max_repeats": 10}})
    select_stage.run(ctx)
    out = ctx.store.read("select", "traces").to_pylist()
    assert len(out) == len(rows) - 1
    assert {r["label"] for r in out} == {"positive", "negative", "truncated", "unverifiable"}
    removed = ctx.store.read("select", "removed").to_pylist()
    assert len(removed) == 1 and removed[0]["reason"] == "repetition_loop" and removed[0]["trace_id"] == rows[5]["trace_id"]
    pairs = ctx.store.read("select", "pairs")
    assert pairs.schema.equals(records.PAIRS) and pairs.num_rows == 1
    assert ctx.stats["removed_by_filter"] == {"repetition_loop": 1} and ctx.stats["rl_pool_queries"] == 1
