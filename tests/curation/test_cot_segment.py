"""DLCoT library: segmentation tiling, hand-labelled agreement, approach answers, LLM segmenter validation."""

from __future__ import annotations

import json

import pytest

from curation.cot.answers import approach_answer
from curation.cot.evaluate import PRF, boundary_sets
from curation.cot.llm_segment import LLMSegmenter, parse_reply
from curation.cot.segment import HeuristicSegmenter, SegmentationError, validate

from ._cot_helpers import demo_rows, labelled



def test_spans_tile_real_traces_of_every_teacher():
    seg = HeuristicSegmenter()
    teachers = set()
    for r in demo_rows():
        text = r["response"]
        segs = seg.segment(text, r["problem"])
        validate(segs, text)  # raises unless the spans tile the text in order
        assert "".join(text[s.start:s.end] for s in segs) == text
        assert segs[-1].kind == "conclusion" or "</think>" not in text
        teachers.add(r["teacher"])
    assert len(teachers) == 5


def test_validate_rejects_gaps_and_unknown_kinds():
    from curation.cot.segment import Segment

    text = "abc def"
    with pytest.raises(SegmentationError):
        validate([Segment("approach", 0, 3, 1), Segment("conclusion", 4, 7)], text)
    with pytest.raises(SegmentationError):
        validate([Segment("musing", 0, 7)], text)
    validate([Segment("approach", 0, 3, 1), Segment("conclusion", 3, 7)], text)


def _verdict_accuracy_on_gold_spans(rows):
    from curation.cot.answers import approach_verdicts

    total = ok = 0
    for r in rows:
        t, apps = r["reasoning"], {}
        for g in r["segments"]:
            if g["kind"] == "approach":
                apps[g["approach"]] = apps.get(g["approach"], "") + t[g["start"]:g["end"]]
        for v in approach_verdicts(apps, r["reference_answer"], workers=1):
            total += 1
            ok += v.verdict == r["approach_verdicts"][str(v.approach)]
    return ok / total


def _boundary_prf(rows):
    seg = HeuristicSegmenter()
    b, bk = PRF(), PRF()
    for r in rows:
        pred = [s.to_dict() for s in seg.segment(r["reasoning"], r["problem"])]
        b.add(boundary_sets(pred), boundary_sets(r["segments"]))
        bk.add(boundary_sets(pred, True), boundary_sets(r["segments"], True))
    return b, bk


# Floors for boundary F1 (issue target 0.8), each the measured value minus 0.03. `dev` and the old `heldout` split
# were both used to tune the cue rules in round 3 (the old held-out split had been scored twice, so it is no longer
# held out); `heldout2` (12 traces labelled by reading, before the round-3 changes) was scored once, at the end:
# 0.746 (0.662 for the round-2 segmenter). See tests/data/segmentation/README.md.
DEV_F1_FLOOR = 0.87
OLD_HELDOUT_F1_FLOOR = 0.77
HELDOUT2_F1_FLOOR = 0.716


def test_hand_labelled_agreement(record_property, capsys):
    """Boundary F1 of the heuristic segmenter (dev, old held-out, heldout2) and approach-verdict accuracy."""
    pytest.importorskip("verifiers.math")
    rows = labelled()
    by = {sp: [r for r in rows if r["split"] == sp] for sp in ("dev", "heldout", "heldout2")}
    assert len(by["dev"]) >= 20 and len(by["heldout"]) >= 22 and len(by["heldout2"]) >= 12
    assert len(rows) == sum(len(v) for v in by.values())
    prf = {sp: _boundary_prf(v) for sp, v in by.items()}
    acc = _verdict_accuracy_on_gold_spans(rows)
    for sp, (b, _) in prf.items():
        record_property(f"boundary_f1_{sp}", round(b.f1, 3))
    record_property("verdict_accuracy", round(acc, 3))
    with capsys.disabled():
        for sp, (b, bk) in prf.items():
            print(f"\n[segmentation {sp}] boundary P={b.precision:.3f} R={b.recall:.3f} F1={b.f1:.3f} "
                  f"kind-aware F1={bk.f1:.3f}")
        print(f"[segmentation] approach verdict accuracy (gold spans, all {len(rows)} traces) {acc:.3f}")
    assert prf["dev"][0].f1 >= DEV_F1_FLOOR
    assert prf["heldout"][0].f1 >= OLD_HELDOUT_F1_FLOOR
    assert prf["heldout2"][0].f1 >= HELDOUT2_F1_FLOOR
    assert acc >= 0.9


def test_labels_are_verbatim_offsets_into_the_trace():
    for r in labelled():
        segs = r["segments"]
        assert segs[0]["start"] == 0 and segs[-1]["end"] == len(r["reasoning"])
        for a, b in zip(segs, segs[1:]):
            assert a["end"] == b["start"]
        for s in segs:
            assert r["reasoning"][s["start"]:s["start"] + 40] == s["anchor"]
        assert r["license"] == "Apache-2.0" and r["teacher"].startswith("Sky-T1")


@pytest.mark.parametrize("text,expected", [
    ("So, the distance is 3*sqrt(13) units.", "3*sqrt(13)"),
    ("Let me compute. 60 * 2 = 120.\n\nTherefore, there is only one number.", "1"),
    ("We get x = 5.\n\nThen \\(y = 7\\).", "7"),
    ("Hmm, I am not sure where to start here.", None),
    ("Therefore the answer is \\boxed{\\frac{3}{5}} indeed", "\\frac{3}{5}"),
    ("So x^2 - 5x - 14 = 0 and this is not helpful, I should use a different approach.", None),
])
def test_approach_answer(text, expected):
    assert approach_answer(text) == expected


def test_llm_segmenter_validates_quotes_and_falls_back():
    text = "Okay, so I need to add 2 and 3.\n\nFirst, 2 + 3 = 5.\n\nWait, let me check: 5 - 3 = 2. Yes.\n\nSo the answer is 5."
    good = json.dumps([
        {"kind": "question_repeat", "approach": None, "starts_with": "Okay, so I need to add"},
        {"kind": "approach", "approach": 1, "starts_with": "First, 2 + 3 = 5."},
        {"kind": "verification", "approach": 1, "starts_with": "Wait, let me check"},
        {"kind": "conclusion", "approach": None, "starts_with": "So the answer is 5."},
    ])
    segs = parse_reply("Here you go:\n" + good, text)
    assert [s.kind for s in segs] == ["question_repeat", "approach", "verification", "conclusion"]
    assert "".join(text[s.start:s.end] for s in segs) == text
    paraphrased = good.replace("First, 2 + 3 = 5.", "First, two plus three is five")
    with pytest.raises(SegmentationError):
        parse_reply(paraphrased, text)
    replies = iter([["not json"], [paraphrased], [good]])
    seg = LLMSegmenter(lambda prompts: next(replies), retries=2)
    out = seg.segment(text, "add 2 and 3")
    assert seg.infos[0]["attempts"] == 3 and seg.infos[0]["segmenter"] == "llm"
    assert [s.kind for s in out][1] == "approach"
    always_bad = LLMSegmenter(lambda prompts: [paraphrased] * len(prompts), retries=1)
    always_bad.segment(text, None)
    assert always_bad.infos[0]["segmenter"] == "heuristic(fallback)" and len(always_bad.infos[0]["errors"]) == 2
