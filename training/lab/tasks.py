"""The lab's task family: seeded word problems whose exact answers `verifiers.math` checks.

Every problem is a *chain*: a start value and a list of operations, each one a step a reasoner writes down. The
teachers (teachers.py) render the same chain in their own styles, and a calculation slip is a wrong value in one
step that the later steps carry on from, so a wrong final answer comes from a real, visible mistake.

Kinds (the difficulty knob is `steps` and `max_number`):
- `arith`: multi-step arithmetic word problems ("Mia has 12 marbles. She finds 5 more. …");
- `linear`: one-variable linear equations with an integer root ("Solve for x: 3x + 7 = 22.");
- `mod`: the remainder of a product ("What is the remainder when 17 times 23 is divided by 5?").
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any, Literal

Kind = Literal["arith", "linear", "mod"]
KINDS: tuple[Kind, ...] = ("arith", "linear", "mod")

NAMES = ["Mia", "Noah", "Ava", "Liam", "Zoe", "Omar", "Ines", "Kai", "Lena", "Ravi", "Sara", "Tom", "Yuki", "Ben"]
THINGS = ["marbles", "apples", "stickers", "coins", "books", "shells", "cards", "pencils", "stamps", "beads"]


@dataclass(frozen=True)
class Op:
    """One step: `value op operand`. `mod` is the remainder, `div` exact division (a slip may make it inexact)."""

    op: Literal["add", "sub", "mul", "div", "mod"]
    operand: int

    def apply(self, v: Fraction) -> Fraction:
        if self.op == "add":
            return v + self.operand
        if self.op == "sub":
            return v - self.operand
        if self.op == "mul":
            return v * self.operand
        if self.op == "div":
            return v / self.operand
        if v.denominator != 1:
            raise ValueError(f"mod of a non-integer {v}")
        return Fraction(int(v) % self.operand)

    @property
    def symbol(self) -> str:
        return {"add": "+", "sub": "-", "mul": "×", "div": "÷", "mod": "mod"}[self.op]


@dataclass(frozen=True)
class Problem:
    """A generated problem: its text, its chain and its exact answer (a string `verifiers.math` reads)."""

    id: str
    kind: Kind
    text: str
    start: int
    ops: tuple[Op, ...]
    answer: str
    steps: int
    max_number: int
    sentences: tuple[str, ...] = field(default=())  # arith: the story sentence of each op (restated by long CoT)

    def values(self, slip: tuple[int, int] | None = None) -> list[Fraction]:
        """Value after each op; `slip=(i, delta)` adds delta to step i's result and carries it on."""
        v, out = Fraction(self.start), []
        for i, op in enumerate(self.ops):
            v = op.apply(v)
            if slip is not None and slip[0] == i:
                v += slip[1]
            out.append(v)
        return out

    def to_row(self) -> dict[str, Any]:
        """The JSONL row of the pool / test split (what `sources:` and the decontamination benchmark read)."""
        return {
            "id": self.id,
            "problem": self.text,
            "answer": self.answer,
            "kind": self.kind,
            "steps": self.steps,
            "max_number": self.max_number,
        }

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ops"] = [asdict(o) for o in self.ops]
        return d

    @staticmethod
    def from_json(d: dict[str, Any]) -> Problem:
        return Problem(**{**d, "ops": tuple(Op(**o) for o in d["ops"]), "sentences": tuple(d.get("sentences", ()))})


def fmt(v: Fraction) -> str:
    """A value as the teachers write it and `verifiers.math` reads it: an integer, or a/b."""
    return str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"


# --- generators ------------------------------------------------------------------------------------------------
def _arith(rng: random.Random, steps: int, max_number: int) -> tuple[str, int, tuple[Op, ...], tuple[str, ...]]:
    name, thing = rng.choice(NAMES), rng.choice(THINGS)
    start = rng.randint(2, max_number)
    v, ops, sents = start, [], []
    for _ in range(steps):
        choices = ["add", "sub"] + (["mul"] if v * 2 <= 4 * max_number else [])
        op = rng.choice(choices)
        if op == "sub" and v <= 1:
            op = "add"
        if op == "add":
            k = rng.randint(1, max_number)
            sents.append(
                rng.choice(
                    [
                        f"{name} finds {k} more {thing}.",
                        f"A friend gives {name} {k} {thing}.",
                        f"{name} buys {k} more {thing}.",
                    ]
                )
            )
        elif op == "sub":
            k = rng.randint(1, v - 1)
            sents.append(
                rng.choice(
                    [
                        f"{name} gives away {k} {thing}.",
                        f"{name} loses {k} {thing}.",
                        f"{name} trades away {k} {thing}.",
                    ]
                )
            )
        else:
            k = rng.choice([2, 3]) if v * 3 <= 4 * max_number else 2
            sents.append({2: f"{name} doubles the number of {thing}.", 3: f"{name} triples the number of {thing}."}[k])
        ops.append(Op(op, k))
        v = int(Op(op, k).apply(Fraction(v)))
    story = [
        s if i == 0 else "Then " + (s[0].lower() + s[1:] if s.startswith("A ") else s) for i, s in enumerate(sents)
    ]
    text = f"{name} has {start} {thing}. " + " ".join(story) + f" How many {thing} does {name} have now?"
    return text, start, tuple(ops), tuple(sents)


def _linear(rng: random.Random, steps: int, max_number: int) -> tuple[str, int, tuple[Op, ...], tuple[str, ...]]:
    # steps >= 3 adds a constant on the right: a*x + b = c + d (one more step: c + d first).
    a = rng.randint(2, max(2, min(9, max_number)))
    x = rng.randint(1, max_number)
    b = rng.randint(1, max_number)
    rhs = a * x + b
    if steps >= 3:
        d = rng.randint(1, rhs - 1)
        c = rhs - d
        text = f"Solve for x: {a}x + {b} = {c} + {d}."
        return text, c, (Op("add", d), Op("sub", b), Op("div", a)), ()
    return f"Solve for x: {a}x + {b} = {rhs}.", rhs, (Op("sub", b), Op("div", a)), ()


def _mod(rng: random.Random, steps: int, max_number: int) -> tuple[str, int, tuple[Op, ...], tuple[str, ...]]:
    p, q = rng.randint(2, max_number), rng.randint(2, max_number)
    m = rng.randint(3, 9)
    if steps >= 3:
        r = rng.randint(2, max_number)
        text = f"What is the remainder when {p} times {q} plus {r} is divided by {m}?"
        return text, p, (Op("mul", q), Op("add", r), Op("mod", m)), ()
    return f"What is the remainder when {p} times {q} is divided by {m}?", p, (Op("mul", q), Op("mod", m)), ()


_GEN = {"arith": _arith, "linear": _linear, "mod": _mod}


def generate(
    n: int,
    *,
    seed: int,
    kinds: tuple[Kind, ...] = KINDS,
    steps: tuple[int, int] = (2, 3),
    max_number: int = 20,
    prefix: str = "lab",
) -> list[Problem]:
    """`n` distinct problems (by text), kinds in turn, steps drawn from the inclusive range `steps`."""
    if n < 0 or steps[0] < 1 or steps[0] > steps[1] or max_number < 3:
        raise ValueError(
            f"bad task spec: n={n}, steps={steps}, max_number={max_number} "
            "(need n >= 0, 1 <= steps[0] <= steps[1], max_number >= 3)"
        )
    for k in kinds:
        if k not in _GEN:
            raise ValueError(f"unknown task kind {k!r}; choose from {', '.join(KINDS)}")
    rng = random.Random(seed)
    out: list[Problem] = []
    seen: set[str] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 100:
            raise ValueError(
                f"could not draw {n} distinct problems with steps={steps}, max_number={max_number}; "
                "raise max_number or the step range"
            )
        kind = kinds[len(out) % len(kinds)]
        s = rng.randint(*steps)
        text, start, ops, sents = _GEN[kind](rng, s, max_number)
        if text in seen:
            continue
        seen.add(text)
        p = Problem(
            id=f"{prefix}-{len(out):05d}",
            kind=kind,
            text=text,
            start=start,
            ops=ops,
            answer="",
            steps=len(ops),
            max_number=max_number,
            sentences=sents,
        )
        out.append(Problem(**{**p.__dict__, "answer": fmt(p.values()[-1])}))
    return out


def split(problems: list[Problem], test: int, *, seed: int) -> tuple[list[Problem], list[Problem]]:
    """(train pool, test split): disjoint by text; the test split is `test` problems drawn at random."""
    if not 0 <= test <= len(problems):
        raise ValueError(f"test split of {test} from {len(problems)} problems")
    idx = list(range(len(problems)))
    random.Random(seed).shuffle(idx)
    chosen = set(idx[:test])
    return ([p for i, p in enumerate(problems) if i not in chosen], [p for i, p in enumerate(problems) if i in chosen])
