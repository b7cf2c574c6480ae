"""verify's verdicts and select's negatives against hand-read labels of 53 real traces (tests/data/verdict_labels).

Each trace goes through distill's reasoning split and `verify_rows` as a replayed trace with no finish reason.
Expected: truncated → `truncated`; a committed right answer → `correct`; otherwise `incorrect`, and a confident
negative (what select may reject in a pair) only when the trace is complete and its committed answer is wrong."""

import gzip
import json
from pathlib import Path

import pytest

from curation.config.verify import VerifyConfig
from curation.stages.select import confident_negative
from curation.stages.verify import verify_rows
from curation.teachers.parsing import split_reasoning

LABELS = Path(__file__).resolve().parents[2] / "data" / "verdict_labels" / "dev.jsonl.gz"


def _rows():
    with gzip.open(LABELS, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def verdicts():
    labels = _rows()
    rows = []
    for lab in labels:
        p = split_reasoning(lab["response"], ("<think>", "</think>"), None)
        rows.append(
            {
                "completion": lab["response"],
                "reasoning": p.reasoning,
                "answer": p.answer,
                "finish_reason": None,
                "error": None,
                "_domain": "math",
                "_problem": lab["problem"],
                "_reference": lab["reference_answer"],
                "_tests": None,
            }
        )
    return labels, verify_rows(rows, VerifyConfig(workers=2))


def test_the_label_set_covers_every_class():
    labels = _rows()
    traps = {t for lab in labels for t in lab["traps"]}
    assert {
        "think_not_closed",
        "hypothetical_answer_mid_trace",
        "minus_sign",
        "answer_not_boxed",
        "units_or_words",
        "ordinal_near_number",
        "degenerate_output",
    } <= traps
    assert sum(lab["truncated"] for lab in labels) >= 10 and sum(lab["correct"] is False for lab in labels) >= 5


def test_every_verdict_agrees_with_the_hand_label(verdicts):
    labels, res = verdicts
    wrong = []
    for lab, r in zip(labels, res):
        expected = "truncated" if lab["truncated"] else ("correct" if lab["correct"] else "incorrect")
        if r["verdict"] != expected:
            wrong.append((lab["trace_id"], expected, r["verdict"], r["extracted_answer"]))
    assert not wrong, wrong


def test_no_trace_labelled_correct_is_wrong_or_cut_off(verdicts):
    labels, res = verdicts
    bad = [
        lab["trace_id"]
        for lab, r in zip(labels, res)
        if r["verdict"] == "correct" and (lab["truncated"] or not lab["correct"])
    ]
    assert not bad


def test_confident_negatives_are_exactly_the_complete_wrong_traces(verdicts):
    labels, res = verdicts
    got = {lab["trace_id"] for lab, r in zip(labels, res) if confident_negative(r)}
    want = {lab["trace_id"] for lab in labels if not lab["truncated"] and lab["correct"] is False}
    assert got == want
