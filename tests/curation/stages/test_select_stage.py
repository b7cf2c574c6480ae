"""select: labels, pass rates, CV, AM/AceReason selections, pairs, filters with reasons."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curation import records
from curation.config.select import PairsConfig, SelectConfig
from curation.stages import select as select_stage
from curation.stages.select import cv, label_rows, make_pairs

from .._cot_helpers import make_ctx, trace_row


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
        r("q1", "A", 0, "incorrect", 30),
        r("q1", "A", 1, "correct", 50),
        r("q1", "B", 0, "correct", 20),
        r("q1", "B", 1, "incorrect", 90),
        r("q1", "B", 2, "truncated", 300),
        r("q2", "A", 0, "correct", 10),
        r("q2", "B", 0, "correct", 10),
        r("q3", "A", 0, "incorrect", 10),
        r("q3", "A", 1, "unverifiable", 10),
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
    assert (c["teacher"], c["sample_index"], rj["teacher"], rj["sample_index"]) == (
        "B",
        0,
        "A",
        0,
    )  # generation order: sample 0 of every teacher first
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
    assert (
        len(removed) == 1
        and removed[0]["reason"] == "repetition_loop"
        and removed[0]["trace_id"] == rows[5]["trace_id"]
    )
    pairs = ctx.store.read("select", "pairs")
    assert pairs.schema.equals(records.PAIRS) and pairs.num_rows == 1
    assert ctx.stats["removed_by_filter"] == {"repetition_loop": 1} and ctx.stats["rl_pool_queries"] == 1


# --- rejected: most_confident (teacher confidence = mean token logprob) -------------------------------------
PROMPT = '[{"content":"What is 2+2? Put the answer in \\\\boxed{}.","role":"user"}]'
GIBBERISH = "zqx vvk qqj xzz kwq jjv qqx zkv wqj xvv"
FLUENT = "2 + 2 = 4, so the answer is \\boxed{4}."


def _conf_rows():
    def r(q, i, verdict, lp, text=None):
        row = trace_row(q, "T", i, text or f"sample {i} of {q}")
        row.update({"verdict": verdict, "score": float(verdict == "correct"), "mean_logprob": lp, "messages": PROMPT})
        return row

    return [
        # q1: every negative has the teacher's confidence
        r("q1", 0, "correct", -0.3),
        r("q1", 1, "incorrect", -0.9),
        r("q1", 2, "incorrect", -0.2),
        r("q1", 3, "incorrect", -0.5),
        r("q1", 4, "truncated", -0.01),
        # q2: one negative lacks it (the teacher was very sure of the gibberish one)
        r("q2", 0, "correct", None, FLUENT),
        r("q2", 1, "incorrect", -0.01, GIBBERISH),
        r("q2", 2, "incorrect", None, FLUENT.replace("4", "5")),
        # q3: no positive, so no pair and nothing to rank
        r("q3", 0, "incorrect", None),
    ]


def test_most_confident_ranks_by_teacher_logprob_highest_first():
    rows = _conf_rows()
    label_rows(rows, SelectConfig())
    byid = {r["trace_id"]: r for r in rows}
    pairs = {
        p["query_id"]: byid[p["rejected_trace_id"]]["sample_index"]
        for p in make_pairs(rows, PairsConfig(rejected="most_confident"))
    }
    assert pairs == {"q1": 2, "q2": 1}  # q2: the negative with a value comes before the one without
    first = {p["query_id"]: byid[p["rejected_trace_id"]]["sample_index"] for p in make_pairs(rows, PairsConfig())}
    assert first == {"q1": 1, "q2": 1}
    # truncated negatives only when allowed: then the truncated sample (-0.01) is the most confident
    with_trunc = make_pairs(rows, PairsConfig(rejected="most_confident", truncated_as_negative=True))
    assert byid[with_trunc[0]["rejected_trace_id"]]["sample_index"] == 4
    two = make_pairs(rows, PairsConfig(rejected="most_confident", per_query=5))
    assert [byid[p["rejected_trace_id"]]["sample_index"] for p in two if p["query_id"] == "q1"] == [2]  # 1 positive
    conf, stats = select_stage.confidences(rows, PairsConfig(rejected="most_confident"))
    assert stats == {"candidates": 5, "teacher_queries": 1, "model_queries": 0, "partial_queries": 1}
    assert set(conf) == {
        r["trace_id"]
        for r in rows
        if r["query_id"] in ("q1", "q2") and r["label"] == "negative" and r["mean_logprob"] is not None
    }


def test_most_confident_without_any_logprob_is_a_user_error_that_says_what_to_set(tmp_path):
    from curation.errors import UserError

    rows = _conf_rows()
    for r in rows:
        r["mean_logprob"] = None
    label_rows(rows, SelectConfig())
    with pytest.raises(UserError, match=r"none of the 5 candidate negatives.*`logprobs: true`.*confidence_model"):
        make_pairs(rows, PairsConfig(rejected="most_confident"))
    with pytest.raises(UserError, match="does not exist"):
        select_stage.confidences(rows, PairsConfig(rejected="most_confident"), tmp_path / "no-model")
    only_negatives = [r for r in rows if r["label"] != "positive"]
    assert make_pairs(only_negatives, PairsConfig(rejected="most_confident")) == []  # nothing to pair: no error
    with pytest.raises(ValueError, match="only used by `rejected: most_confident`"):
        PairsConfig(rejected="first", confidence_model="m")


def test_fewest_reconsiderations_keeps_the_segment_count_rule():
    from curation.errors import UserError

    rows = _conf_rows()
    label_rows(rows, SelectConfig())
    seg = {"kind": "approach", "start": 0, "end": 1, "approach": 1, "verdict": "incorrect"}
    for r in rows:
        r["segments"] = [seg] * (4 - r["sample_index"])  # later samples reconsider less
    byid = {r["trace_id"]: r for r in rows}
    pairs = make_pairs(rows, PairsConfig(rejected="fewest_reconsiderations"))
    assert {p["query_id"]: byid[p["rejected_trace_id"]]["sample_index"] for p in pairs} == {"q1": 3, "q2": 2}
    for r in rows:
        r["segments"] = None
    with pytest.raises(UserError, match="segment"):
        make_pairs(rows, PairsConfig(rejected="fewest_reconsiderations"))


@pytest.mark.slow
def test_confidence_model_scores_queries_lacking_teacher_logprobs(tmp_path, smollm2_dir):
    """A real small LM (SmolLM2) as `confidence_model`: in q2 it scores both negatives (one scale per query, so the
    teacher's -0.01 on the gibberish one is not used) and prefers the fluent one; q1 keeps the teacher's values."""
    rows = _conf_rows()
    store_rows = records.conform(pa.Table.from_pylist(rows), records.VERIFIED_TRACES)
    ctx = make_ctx(tmp_path, "select", ["verify"], "")
    ctx.store.write_part("verify", "traces", store_rows)
    ctx.config = SelectConfig(pairs={"rejected": "most_confident", "confidence_model": str(smollm2_dir)})
    select_stage.run(ctx)
    byid = {r["trace_id"]: r for r in rows}
    pairs = {
        p["query_id"]: byid[p["rejected_trace_id"]]["sample_index"]
        for p in ctx.store.read("select", "pairs").to_pylist()
    }
    assert pairs == {"q1": 2, "q2": 2}
    st = ctx.stats["confidence"]
    assert (st["teacher_queries"], st["model_queries"], st["model_scored"]) == (1, 1, 2)
    assert st["model"] == str(smollm2_dir)
    out = {r["trace_id"]: r["mean_logprob"] for r in ctx.store.read("select", "traces").to_pylist()}
    assert out == {r["trace_id"]: r["mean_logprob"] for r in rows}  # the model's scores never overwrite the column


def _judged(q, t, i, verdict, status="ok", pred="7", second=None, verifier="verifiers.math:exact"):
    import json

    row = trace_row(q, t, i, f"answer {pred}")
    details = {
        "status": status,
        "equivalent": {"correct": True, "incorrect": False}.get(verdict) if status == "ok" else None,
        "extracted_pred": pred,
    }
    if second is not None:
        details["second_check"] = {"verifier": "math_verify", "equivalent": second}
    row.update(
        {
            "verdict": verdict,
            "score": 1.0 if verdict == "correct" else 0.0,
            "verifier": verifier,
            "verify_details": json.dumps(details),
        }
    )
    return row


def test_rejected_traces_are_complete_and_confidently_wrong():
    rows = (
        [
            _judged("q", "A", 0, "correct", pred="5"),
            _judged("q", "A", 1, "incorrect", status="no_answer", pred=None),  # no answer found: may well be right
            _judged("q", "A", 2, "truncated", pred="5"),  # cut off
            _judged("q", "A", 3, "incorrect", status="parse_error", pred="\\frac{"),
            _judged("q", "B", 0, "incorrect", pred="7", second=True),  # math-verify thinks it is right
            _judged("q", "B", 1, "incorrect", pred="8", second=False),
            _judged("r", "A", 0, "correct", pred="1"),
            _judged("r", "A", 1, "incorrect", verifier="sandboxes:no_code", status="no_code", pred=None),
        ]
        + [_judged("q", "C", i, "correct", pred="5") for i in range(5)]
        + [_judged("r", "C", 0, "correct", pred="1")]
    )
    label_rows(rows, SelectConfig())
    byid = {r["trace_id"]: (r["query_id"], r["teacher"], r["sample_index"]) for r in rows}
    rejected = lambda cfg: sorted(byid[p["rejected_trace_id"]] for p in make_pairs(rows, cfg))  # noqa: E731
    assert rejected(PairsConfig(per_query=5)) == [("q", "B", 0), ("q", "B", 1)]
    assert rejected(PairsConfig(per_query=5, negatives="two_checks")) == [("q", "B", 1)]
    every = [("q", "A", 1), ("q", "A", 3), ("q", "B", 0), ("q", "B", 1), ("r", "A", 1)]
    assert rejected(PairsConfig(per_query=5, negatives="any")) == every
    assert rejected(PairsConfig(per_query=5, truncated_as_negative=True)) == [
        ("q", "A", 2),
        ("q", "B", 0),
        ("q", "B", 1),
    ]
    assert select_stage.confident_negative(rows[5]) and not select_stage.confident_negative(rows[1])
    assert not select_stage.confident_negative(rows[7])
