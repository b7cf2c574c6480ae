"""The lab's task family: every generated answer verifies, the chains are what the answers claim, splits are clean."""

from __future__ import annotations

from fractions import Fraction

import pytest

from training.lab.tasks import KINDS, Op, Problem, fmt, generate, split
from verifiers.math import verify_batch


def test_every_answer_verifies_and_a_wrong_one_does_not():
    probs = generate(300, seed=7)
    pairs = [(p.answer, f"The answer is \\boxed{{{p.answer}}}.") for p in probs]
    wrong = [(p.answer, f"The answer is \\boxed{{{fmt(Fraction(p.answer) + 1)}}}.") for p in probs]
    assert all(v.equivalent is True for v in verify_batch(pairs))
    assert all(v.equivalent is False for v in verify_batch(wrong))


def test_answers_follow_the_chain_the_text_states():
    for p in generate(150, seed=3):
        assert p.kind in KINDS
        assert str(p.start) in p.text  # the start value is in the question
        v = Fraction(p.start)
        for op in p.ops:
            v = op.apply(v)
            assert v >= 0 and v.denominator == 1  # exact integer answers, no negative counts
        assert fmt(v) == p.answer
        if p.kind == "linear":  # the root satisfies the printed equation
            a, b = p.ops[-1].operand, p.ops[-2].operand
            lhs, rhs = p.text.split(": ", 1)[1].rstrip(".").split(" = ")
            assert eval(f"{a}*{p.answer}+{b}") == eval(rhs.replace(" ", ""))  # noqa: S307 - our own digits and +
            assert lhs == f"{a}x + {b}"
        if p.kind == "mod":
            expr = p.text.split("when ", 1)[1].split(" is divided by ")[0].replace("times", "*").replace("plus", "+")
            assert eval(expr) % p.ops[-1].operand == int(p.answer)  # noqa: S307


def test_difficulty_knob_sets_steps_and_number_size():
    easy = generate(200, seed=1, steps=(2, 2), max_number=9)
    hard = generate(200, seed=1, steps=(3, 3), max_number=60, kinds=("arith",))
    assert {len(p.ops) for p in easy} == {2} and {p.steps for p in hard} == {3}
    easy_arith = [p for p in easy if p.kind == "arith"]
    assert max(max([p.start] + [o.operand for o in p.ops if o.op == "add"]) for p in easy_arith) <= 9
    assert max(p.start for p in hard) > 9
    assert {p.kind for p in hard} == {"arith"}


def test_seeded_distinct_and_split_disjoint():
    a, b = generate(120, seed=11), generate(120, seed=11)
    assert a == b and generate(120, seed=12) != a
    assert len({p.text for p in a}) == len(a)
    train, test = split(a, 20, seed=0)
    assert len(test) == 20 and len(train) == 100
    assert not {p.text for p in train} & {p.text for p in test}


def test_slip_changes_the_carried_value():
    p = Problem(
        id="x", kind="arith", text="t", start=5, ops=(Op("add", 3), Op("mul", 2)), answer="16", steps=2, max_number=9
    )
    assert p.values() == [8, 16] and p.values((0, 1)) == [9, 18] and p.values((1, -2)) == [8, 14]


@pytest.mark.parametrize("kw", [{"steps": (0, 2)}, {"steps": (3, 2)}, {"max_number": 2}, {"kinds": ("geometry",)}])
def test_bad_spec_is_a_clear_error(kw):
    with pytest.raises(ValueError, match="kind|steps|max_number"):
        generate(5, seed=0, **kw)
