"""Synthetic teachers: generators that answer lab problems the way real reasoning models do, in controlled ways.

Each teacher is a `TeacherSpec` (its parameters) and writes replay-format rows (`problem`, `response`, `teacher`,
`finish_reason`, plus `outcome`, the ground truth of what it meant to do, for tests and the lab report; the
pipeline never reads it). Styles:
- `concise`: a short <think> with one line per step, then `\\boxed{answer}`;
- `long_cot`: the structure DLCoT segments: the question restated, an optional abandoned attempt, a first
  approach, "Wait," re-checks (which may catch and fix a slip), alternative approaches that confirm the answer,
  then a summary.
Faults, each with its own probability or limit:
- `p_slip`: one step's result is off by a small amount and later steps carry it on: a wrong final answer;
- `p_caught_slip` (long_cot): a slip that the re-check catches and fixes: the answer stays right, the trace
  holds an error state that DLCoT simplification removes;
- `max_chars`: the response is cut at this length (finish_reason "length"), as a max_tokens limit does;
- `p_bad_format`: the answer is not boxed / the think block is never closed / the answer is in words.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from .tasks import Op, Problem, fmt

Style = Literal["concise", "long_cot"]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


@dataclass(frozen=True)
class TeacherSpec:
    name: str
    style: Style = "concise"
    p_slip: float = 0.0
    p_caught_slip: float = 0.0
    p_abandon: float = 0.0
    approaches: tuple[int, int] = (1, 1)
    checks: tuple[int, int] = (0, 0)
    max_chars: int | None = None
    p_bad_format: float = 0.0
    samples: int = 1

    def __post_init__(self) -> None:
        for k in ("p_slip", "p_caught_slip", "p_abandon", "p_bad_format"):
            v = getattr(self, k)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"teacher {self.name!r}: {k}={v} is not a probability in [0, 1]")
        if self.p_slip + self.p_caught_slip > 1.0:
            raise ValueError(f"teacher {self.name!r}: p_slip + p_caught_slip > 1")
        if self.samples < 1 or self.approaches[0] < 1 or self.approaches[0] > self.approaches[1]:
            raise ValueError(f"teacher {self.name!r}: samples >= 1 and 1 <= approaches[0] <= approaches[1] needed")
        if self.max_chars is not None and self.max_chars < 20:
            raise ValueError(f"teacher {self.name!r}: max_chars={self.max_chars} is too small to hold an answer")


# The lab's default roster: one teacher per behaviour the issue names.
DEFAULT_TEACHERS: tuple[TeacherSpec, ...] = (
    TeacherSpec("concise", style="concise", p_slip=0.03, samples=2),
    TeacherSpec(
        "longcot",
        style="long_cot",
        p_slip=0.08,
        p_caught_slip=0.25,
        p_abandon=0.4,
        approaches=(1, 3),
        checks=(1, 2),
        samples=2,
    ),
    TeacherSpec("sloppy", style="concise", p_slip=0.4, samples=2),
    TeacherSpec(
        "cutoff",
        style="long_cot",
        p_slip=0.08,
        p_caught_slip=0.25,
        p_abandon=0.4,
        approaches=(2, 3),
        checks=(1, 2),
        max_chars=700,
        samples=2,
    ),
    TeacherSpec("messy", style="concise", p_slip=0.05, p_bad_format=0.5, samples=2),
)


# --- rendering of one step -------------------------------------------------------------------------------------
def _eq(prev: Fraction, op: Op, v: Fraction) -> str:
    if op.op == "mod":
        return f"{fmt(prev)} mod {op.operand} = {fmt(v)}"
    return f"{fmt(prev)} {op.symbol} {op.operand} = {fmt(v)}"


def _prose(p: Problem, i: int, prev: Fraction, v: Fraction) -> str:
    op = p.ops[i]
    if p.kind == "arith":
        verb = {"add": "gaining", "sub": "losing", "mul": "multiplying by"}[op.op]
        return f"After {verb} {op.operand}, that is {_eq(prev, op, v)}."
    if p.kind == "linear":
        if op.op == "add":
            return f"First add the right side: {_eq(prev, op, v)}."
        if op.op == "sub":
            return f"Subtract {op.operand} from both sides: the right side becomes {_eq(prev, op, v)}."
        return f"Divide both sides by {op.operand}: x = {_eq(prev, op, v)}."
    if op.op == "mod":
        return f"Dividing by {op.operand}, the remainder is {_eq(prev, op, v)}."
    return f"Compute {_eq(prev, op, v)}."


def _steps(p: Problem, values: list[Fraction], prose: bool) -> list[str]:
    prevs = [Fraction(p.start), *values[:-1]]
    return [_prose(p, i, a, b) if prose else _eq(a, p.ops[i], b) for i, (a, b) in enumerate(zip(prevs, values))]


def _slip(p: Problem, rng: random.Random) -> tuple[int, int]:
    """A slip that changes the final answer (a delta that a later mod would wash out is redrawn)."""
    right = p.values()[-1]
    for _ in range(100):
        s = (rng.randrange(len(p.ops)), rng.choice([-3, -2, -1, 1, 2, 3]))
        vals = p.values(s)
        if vals[-1] != right and all(v >= 0 for v in vals):
            return s
    return (len(p.ops) - 1, 1)  # the last step off by one always changes the answer (mod: unless m == 1)


# --- long-CoT pieces -------------------------------------------------------------------------------------------
def _restate(p: Problem) -> str:
    if p.kind == "arith":
        story, question = p.text.rsplit(". ", 1)
        return f"Okay, let me restate the problem. {story}. The question is: {question}"
    if p.kind == "linear":
        return f"Okay, so I need to solve the equation {p.text.split(': ', 1)[1].rstrip('.')} for x."
    return f"Okay, so the question asks: {p.text[0].lower()}{p.text[1:]} I need a remainder."


def _abandoned(p: Problem, rng: random.Random) -> str:
    """An attempt with a method that stalls: guess and check, given up before it reaches an answer."""
    right = p.values()[-1]
    guesses = sorted({max(1, round(right) + d) for d in rng.sample([-7, -5, -3, 4, 6, 9], 2)})
    if p.kind == "linear":
        a, b = p.ops[-1].operand, p.ops[-2].operand
        tries = ", ".join(f"x = {g} gives {a}·{g} + {b} = {a * g + b}" for g in guesses)
        return (
            f"Maybe I can just guess values of x and check them. {tries}. Neither works, and this is getting "
            "tedious. Let me try a different approach."
        )
    tries = ", ".join(str(g) for g in guesses)
    return (
        f"Maybe I can guess the answer from the size of the numbers: something like {tries}? Checking a guess "
        "means doing the whole computation anyway, so this is not getting anywhere. Let me try a different "
        "approach."
    )


def _alternative(p: Problem, values: list[Fraction], k: int) -> str:
    ans = fmt(values[-1])
    if p.kind == "mod" and k == 0:
        m = p.ops[-1].operand
        terms = [p.start] + [o.operand for o in p.ops[:-1]]
        red = ", ".join(f"{t} mod {m} = {t % m}" for t in terms)
        r, combine = p.start % m, []
        for o in p.ops[:-1]:
            nr = Op(o.op, o.operand % m).apply(Fraction(r))
            combine.append(f"{r} {o.symbol} {o.operand % m} = {fmt(nr)}")
            r = int(nr)
        return (
            f"Alternatively, let me try a different approach and reduce each number modulo {m} first: {red}. "
            "Then " + ", ".join(combine) + f", and {r} mod {m} = {ans}. So the remainder is {ans}."
        )
    if p.kind == "linear" and k == 0:
        a, b = p.ops[-1].operand, p.ops[-2].operand
        c = fmt(values[-2] + b) if len(p.ops) == 2 else fmt(values[0])
        return (
            f"Alternatively, maybe there's a more direct way: isolate x in one go. x = ({c} - {b}) / {a} = {ans}. "
            f"So x = {ans}."
        )
    if k == 0:
        expr = str(p.start)
        for o in p.ops:
            expr = f"({expr} {o.symbol} {o.operand})" if o.op != "mod" else f"({expr} mod {o.operand})"
        return (
            f"Alternatively, let me approach this differently and write the whole thing as one expression: "
            f"{expr} = {ans}. So the answer is {ans}."
        )
    # a second alternative: go backwards from the answer
    v = values[-1]
    back = []
    for o, prev in zip(reversed(p.ops), reversed([Fraction(p.start), *values[:-1]])):
        if o.op == "mod":
            back.append(f"{fmt(prev)} leaves {fmt(v)} when divided by {o.operand}")
        else:
            back.append(f"undoing {o.symbol} {o.operand} gives {fmt(prev)}")
        v = prev
    return (
        f"Hmm, let me try another way: work backwards from {ans}. "
        + ", ".join(back).capitalize()
        + f", which is where we started. So the answer is {ans}."
    )


def _check(p: Problem, values: list[Fraction], first: bool) -> str:
    lead = "Wait, let me double-check that." if first else "Wait, let me verify once more."
    lines = [f"{e}, yes." for e in _steps(p, values, prose=False)]
    return lead + " " + " ".join(lines)


def _render(p: Problem, spec: TeacherSpec, rng: random.Random, outcome: str, slip: tuple[int, int] | None) -> str:
    right = p.values()
    if spec.style == "concise":
        vals = p.values(slip) if outcome == "slip" else right
        body = "\n".join(_steps(p, vals, prose=False))
        return f"<think>\n{body}\n</think>\nThe answer is \\boxed{{{fmt(vals[-1])}}}."
    parts = [_restate(p)]
    if rng.random() < spec.p_abandon:
        parts.append(_abandoned(p, rng))
    first_vals = p.values(slip) if outcome in ("slip", "caught_slip") else right
    parts.append(
        "First, let me compute it directly, one step at a time.\n"
        + "\n".join(_steps(p, first_vals, prose=True))
        + f"\nSo the answer is {fmt(first_vals[-1])}."
    )
    if outcome == "caught_slip":
        assert slip is not None
        i = slip[0]
        prev = Fraction(p.start) if i == 0 else right[i - 1]
        parts.append(
            f"Wait, let me double-check that. {_eq(prev, p.ops[i], first_vals[i])}? No, that's wrong: "
            f"{_eq(prev, p.ops[i], right[i])}. I made a calculation mistake. Let me redo it. "
            + ", ".join(_steps(p, right, prose=False))
            + f". So the answer is {fmt(right[-1])}."
        )
    final = first_vals if outcome == "slip" else right
    n_checks = rng.randint(*spec.checks)
    for c in range(n_checks if outcome != "caught_slip" else max(0, n_checks - 1)):
        parts.append(_check(p, final, first=(c == 0 and outcome != "caught_slip")))
    if outcome != "slip":  # a slipped trace never cross-checks: another approach would expose the slip
        for k in range(rng.randint(*spec.approaches) - 1):
            parts.append(_alternative(p, final, k))
    parts.append(f"Yes, I'm confident the answer is {fmt(final[-1])}.")
    body = "\n\n".join(parts)
    summary = "; ".join(_steps(p, final, prose=False))
    return f"<think>\n{body}\n</think>\n{summary}. The answer is \\boxed{{{fmt(final[-1])}}}."


BAD_FORMATS = ("unboxed", "unclosed", "words")


def _bad_format(text: str, answer: str, kind: str) -> str:
    if kind == "unboxed":
        return text.replace(f"\\boxed{{{answer}}}", f"{answer}, I think")
    if kind == "unclosed":  # the think block never closes and no boxed answer: the visible answer is missing
        return text.replace("</think>\n", "").replace(f"The answer is \\boxed{{{answer}}}.", f"so {answer}")
    word = WORDS[int(answer)] if answer.isdigit() and int(answer) < len(WORDS) else f"the number {answer}"
    return text.replace(f"\\boxed{{{answer}}}", word)


def answer(p: Problem, spec: TeacherSpec, rng: random.Random) -> Iterator[dict[str, Any]]:
    """`spec.samples` replay rows for one problem; `outcome` is what the teacher meant to do."""
    for _ in range(spec.samples):
        u = rng.random()
        outcome = "slip" if u < spec.p_slip else "caught_slip" if u < spec.p_slip + spec.p_caught_slip else "correct"
        slip = _slip(p, rng) if outcome != "correct" else None
        text = _render(p, spec, rng, outcome, slip)
        final = fmt(p.values(slip)[-1]) if outcome == "slip" else p.answer
        finish, bad = "stop", None
        if spec.p_bad_format and rng.random() < spec.p_bad_format:
            bad = rng.choice(BAD_FORMATS)
            text = _bad_format(text, final, bad)
        if spec.max_chars is not None and len(text) > spec.max_chars:
            cut = text.rfind(" ", 0, spec.max_chars)
            text, finish = text[: cut if cut > 0 else spec.max_chars], "length"
        yield {
            "problem": p.text,
            "response": text,
            "teacher": spec.name,
            "finish_reason": finish,
            "outcome": {
                "kind": outcome,
                "final": final,
                "answer_right": final == p.answer,
                "bad_format": bad,
                "cut": finish == "length",
                "expected_correct": final == p.answer and bad is None and finish == "stop",
            },
        }
