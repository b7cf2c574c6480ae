"""Each synthetic teacher's error rate and structure match its parameters; its answers verify as it meant them to."""

from __future__ import annotations

import math
import random
import re
from fractions import Fraction

import pytest

from training.lab.tasks import Op, fmt, generate
from training.lab.teachers import BAD_FORMATS, DEFAULT_TEACHERS, TeacherSpec, answer
from verifiers.math import verify_batch

PROBLEMS = generate(400, seed=21)
BOXED = re.compile(r"\\boxed\{([^{}]*)\}")


def _rows(spec: TeacherSpec, seed: int = 0) -> list[tuple]:
    rng = random.Random(seed)
    return [(p, r) for p in PROBLEMS for r in answer(p, spec, rng)]


def _near(rate: float, p: float, n: int) -> bool:
    """Within 4 binomial standard deviations (plus one count): fails on a wrong rate, not on sampling noise."""
    return abs(rate - p) <= 4 * math.sqrt(max(p * (1 - p), 1e-9) / n) + 1 / n


@pytest.mark.parametrize("spec", DEFAULT_TEACHERS, ids=lambda s: s.name)
def test_fault_rates_match_parameters(spec):
    rows = _rows(spec)
    n = len(rows)
    assert n == len(PROBLEMS) * spec.samples
    kinds = [r["outcome"]["kind"] for _, r in rows]
    assert _near(kinds.count("slip") / n, spec.p_slip, n)
    assert _near(kinds.count("caught_slip") / n, spec.p_caught_slip, n)
    bad = [r["outcome"]["bad_format"] for _, r in rows]
    assert _near(sum(b is not None for b in bad) / n, spec.p_bad_format, n)
    if spec.p_bad_format:
        assert {b for b in bad if b} == set(BAD_FORMATS)
    for _, r in rows:
        if spec.max_chars is not None:
            assert len(r["response"]) <= spec.max_chars
        assert (r["finish_reason"] == "length") == r["outcome"]["cut"]
        assert r["teacher"] == spec.name


@pytest.mark.parametrize("spec", DEFAULT_TEACHERS, ids=lambda s: s.name)
def test_boxed_answers_verify_as_the_teacher_meant(spec):
    """A slip is a real wrong answer (the verifier rejects it); every other boxed answer is right."""
    pairs, meant = [], []
    for p, r in _rows(spec):
        boxed = BOXED.findall(r["response"])
        if r["outcome"]["cut"] or r["outcome"]["bad_format"]:
            continue
        assert boxed, r["response"][-200:]
        pairs.append((p.answer, f"\\boxed{{{boxed[-1]}}}"))
        meant.append(r["outcome"]["answer_right"])
        assert r["outcome"]["answer_right"] == (r["outcome"]["kind"] != "slip")
    assert [v.equivalent for v in verify_batch(pairs)] == meant
    assert len(pairs) > 100


def test_slips_are_visible_in_the_work():
    """The wrong final answer comes from exactly one wrong equation that the later steps carry on from."""
    ops = {"+": "add", "-": "sub", "×": "mul", "÷": "div", "mod": "mod"}
    for p, r in _rows(TeacherSpec("t", p_slip=1.0))[:200]:
        eqs = re.findall(r"^(\S+) (\S+) (\d+) = (\S+)$", r["response"], re.M)
        assert len(eqs) == len(p.ops)
        assert eqs[0][0] == str(p.start)
        wrong = [e for e in eqs if fmt(Op(ops[e[1]], int(e[2])).apply(Fraction(e[0]))) != e[3]]
        assert len(wrong) == 1
        assert all(eqs[i + 1][0] == eqs[i][3] for i in range(len(eqs) - 1))  # carried on


def test_concise_is_short_long_cot_has_the_structure_dlcot_segments():
    concise, long_ = DEFAULT_TEACHERS[0], DEFAULT_TEACHERS[1]
    c_rows, l_rows = _rows(concise), _rows(long_)
    c_len = sum(len(r["response"]) for _, r in c_rows) / len(c_rows)
    l_len = sum(len(r["response"]) for _, r in l_rows) / len(l_rows)
    assert l_len > 5 * c_len
    assert not any("Wait," in r["response"] for _, r in c_rows)
    abandoned = alternatives = 0
    for p, r in l_rows:
        text = r["response"]
        assert text.startswith("<think>\nOkay,") and "</think>" in text
        checks = text.count("Wait, let me")
        lo, hi = long_.checks
        assert lo <= checks <= hi + 1  # + the re-check that catches a caught slip
        alternatives += text.count("Alternatively,")
        abandoned += "Let me try a different approach." in text
        if r["outcome"]["kind"] == "caught_slip":
            assert "I made a calculation mistake" in text
    n = len(l_rows)
    assert _near(abandoned / n, long_.p_abandon, n)
    assert alternatives > 0.3 * n  # approaches (1, 3): most correct traces try a second method


def test_bad_parameters_are_errors():
    with pytest.raises(ValueError, match="probability"):
        TeacherSpec("x", p_slip=1.5)
    with pytest.raises(ValueError, match="p_slip \\+ p_caught_slip"):
        TeacherSpec("x", p_slip=0.6, p_caught_slip=0.6)
    with pytest.raises(ValueError, match="max_chars"):
        TeacherSpec("x", max_chars=5)
