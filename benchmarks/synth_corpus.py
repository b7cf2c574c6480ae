"""Seeded synthetic math/code query pool with ground-truth duplicate clusters (for bench_dedup.py).

Each *base problem* is a template filled with numbers (and a question variant); its cluster holds the base plus
copies made with value-preserving edits: whitespace, punctuation, case, number formats (1000 → 1,000, 2 → two,
1.5 → 1.50), LaTeX spelling/spacing, filler-word drops, sentence reordering, prompt wrappers, exact copies.
Hard negatives are new clusters: one number changed ("number-changed sibling"), or the same setup with a different
question. For decontamination, `rephrase()` rewrites a problem with other words but the same numbers.

    python benchmarks/synth_corpus.py --rows 200000 --out /tmp/synth.parquet
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass

# (setup sentences, questions, paraphrased setup sentences, paraphrased questions). {a},{b},{c} are numbers,
# {n1},{n2} names, {o} an object. Reordering swaps the setup sentences (they are independent facts).
MATH = [
    (
        ["{n1} has {a} {o}.", "{n2} gives {n1} {b} more {o}."],
        [
            "How many {o} does {n1} have now?",
            "How many {o} did {n2} give away in total if {n2} repeats this {c} times?",
        ],
        ["{n1} owns {a} {o}.", "{n1} then receives {b} extra {o} from {n2}."],
        [
            "What is the total number of {o} {n1} ends up with?",
            "If {n2} does the same thing {c} times, how many {o} has {n2} handed over?",
        ],
    ),
    (
        ["A train travels {a} miles in {b} hours.", "It then rests for {c} minutes."],
        ["What is its average speed in miles per hour while moving?", "How many minutes does the whole trip take?"],
        ["In {b} hours a train covers {a} miles.", "Afterwards it stops for {c} minutes."],
        ["Find the train's mean speed, in mph, while it is moving.", "Find the total duration of the trip in minutes."],
    ),
    (
        ["Let $f(x) = {a}x^2 + {b}x + {c}$."],
        ["Find $f(2)$.", "Find the sum of the roots of $f(x) = 0$."],
        ["Consider the quadratic $f(x)={a}x^{{2}}+{b}x+{c}$."],
        ["Evaluate $f$ at $x = 2$.", "What do the roots of $f$ add up to?"],
    ),
    (
        ["A rectangle has length {a} cm and width {b} cm.", "A square has side {c} cm."],
        [
            "What is the total area of the two shapes in square centimeters?",
            "By how much does the rectangle's perimeter exceed the square's?",
        ],
        ["The length of a rectangle is {a} cm and its width is {b} cm.", "The side of a square measures {c} cm."],
        [
            "Compute the combined area of both figures in cm$^2$.",
            "How much longer is the rectangle's perimeter than the square's?",
        ],
    ),
    (
        [
            "A store sells pencils for {a} cents each and erasers for {b} cents each.",
            "{n1} buys {c} pencils and {c} erasers.",
        ],
        ["How much does {n1} spend in cents?", "How much more does {n1} pay for pencils than for erasers, in cents?"],
        ["Pencils cost {a} cents apiece at a shop, and erasers cost {b} cents apiece.", "{n1} purchases {c} of each."],
        [
            "What is {n1}'s total cost in cents?",
            "What is the difference between what {n1} pays for the pencils and for the erasers?",
        ],
    ),
    (
        ["The sequence $a_n$ satisfies $a_1 = {a}$ and $a_{{n+1}} = a_n + {b}$."],
        ["Find $a_{{{c}}}$.", "Find the sum of the first {c} terms."],
        ["Define $a_1={a}$ and $a_{{n+1}}=a_n+{b}$ for all $n \\geq 1$."],
        ["What is the value of term number {c}?", "Compute $a_1 + a_2 + \\cdots + a_{{{c}}}$."],
    ),
    (
        ["A bag contains {a} red marbles and {b} blue marbles.", "{c} green marbles are added to the bag."],
        [
            "What is the probability that a randomly drawn marble is red?",
            "How many marbles must be drawn to guarantee two of the same color?",
        ],
        ["There are {a} red and {b} blue marbles in a bag.", "Then someone puts {c} green marbles into it."],
        [
            "If one marble is picked at random, what is the chance it is red?",
            "What is the minimum number of draws that ensures a repeated color?",
        ],
    ),
    (
        [
            "A tank holds {a} liters of water.",
            "Water leaks out at {b} liters per hour while a pump adds {c} liters per hour.",
        ],
        ["After how many hours is the tank empty?", "How much water is in the tank after 3 hours?"],
        [
            "There are {a} liters of water in a tank.",
            "It loses {b} liters each hour through a leak, and a pump puts in {c} liters each hour.",
        ],
        ["How long until the tank runs dry, in hours?", "What volume remains in the tank 3 hours later?"],
    ),
    (
        ["Compute the remainder when ${a}^{{{b}}}$ is divided by {c}."],
        ["", "Express your answer as an integer."],
        ["What is ${a}^{{{b}}} \\bmod {c}$?"],
        ["", "Give the answer as a whole number."],
    ),
    (
        ["{n1} reads {a} pages on Monday and {b} pages on Tuesday.", "The book has {c} pages."],
        ["How many pages are left to read?", "What fraction of the book has {n1} read?"],
        ["On Monday {n1} reads {a} pages, and on Tuesday {n1} reads {b} pages.", "There are {c} pages in the book."],
        ["How many pages does {n1} still have to read?", "What portion of the book is finished?"],
    ),
]
CODE = [
    (
        ["Write a Python function that returns the sum of all multiples of {a} or {b} below {c}."],
        [""],
        ["Implement a function computing the total of the numbers under {c} divisible by {a} or by {b}."],
        [""],
    ),
    (
        ["Write a function that splits a list into chunks of size {a}", "and drops chunks shorter than {b} elements."],
        [""],
        [
            "Create a function to break a list into pieces of length {a}",
            "discarding any piece with fewer than {b} items.",
        ],
        [""],
    ),
    (
        ["Write a function that returns the {a}th Fibonacci number modulo {b}."],
        [""],
        ["Implement a function giving Fibonacci number {a} mod {b}."],
        [""],
    ),
    (
        [
            "Given a string, write a function that returns True if it has at least {a} vowels and at most {b} consonants."
        ],
        [""],
        ["Implement a check on a string: at least {a} vowels and no more than {b} consonants means True."],
        [""],
    ),
    (
        ["Write a function that rotates a list to the right by {a} positions", "and then removes every {b}th element."],
        [""],
        ["Implement a function that shifts a list {a} places to the right", "then deletes each {b}th item."],
        [""],
    ),
]
NAMES = ["Alice", "Bob", "Carla", "Dev", "Emma", "Farid", "Gina", "Hugo", "Iris", "Jon", "Kira", "Liam"]
OBJECTS = ["apples", "stickers", "marbles", "books", "coins", "shells", "cards", "stamps"]
WRAPPERS = [
    ("Problem: ", ""),
    ("", " Put your final answer within \\boxed{}."),
    ("Solve the following math problem: ", ""),
    ("", " Let's think step by step."),
    ("Question 3: ", " Please reason step by step, and put your final answer within \\boxed{}."),
]
FILLER_DROPS = [" the ", " then ", " please ", " a "]
NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]


@dataclass
class Base:
    domain: str
    t: int  # template index
    q: int  # question index
    vals: dict

    def key(self):
        return render(self)  # two bases with the same text are one problem (unused slots do not count)


def _templates(domain):
    return MATH if domain == "math" else CODE


def render(b: Base, paraphrase: bool = False, swap: bool = False) -> str:
    setups, qs, psetups, pqs = _templates(b.domain)[b.t]
    s = list(psetups if paraphrase else setups)
    if swap and len(s) == 2 and b.domain == "math":
        s = s[::-1]
    q = (pqs if paraphrase else qs)[b.q]
    return " ".join(x for x in [*s, q] if x).format(**b.vals)


def rand_vals(rng: random.Random, domain: str) -> dict:
    return {
        "a": rng.randint(2, 5000),
        "b": rng.randint(2, 400),
        "c": rng.randint(2, 60),
        "n1": rng.choice(NAMES),
        "n2": rng.choice(NAMES),
        "o": rng.choice(OBJECTS),
    }


def edit(text: str, rng: random.Random, swap_ok: bool) -> tuple[str, bool]:
    """One value-preserving variant of `text`; returns (text, swapped_setup) (the caller re-renders swaps)."""
    kinds = rng.sample(["ws", "punct", "case", "numfmt", "latex", "drop", "wrap", "swap"], k=rng.randint(1, 3))
    swapped = "swap" in kinds and swap_ok
    out = text
    for k in kinds:
        if k == "ws":
            out = out.replace(" ", rng.choice(["  ", " ", "\t", " \n"]), rng.randint(1, 4))
        elif k == "punct":
            out = out.rstrip(".?") + rng.choice(["", " .", "?", "!"])
            out = out.replace(", ", " , ", 1)
        elif k == "case":
            out = rng.choice([out.lower(), out.upper(), out.capitalize()])
        elif k == "numfmt":
            import re

            def fmt(m):
                v = int(m.group(0))
                r = rng.random()
                if v >= 1000 and r < 0.5:
                    return f"{v:,}"
                if v < 20 and r < 0.7:
                    return NUMBER_WORDS[v]
                if r < 0.3:
                    return f"{v}.0"
                return str(v)

            out = re.sub(r"(?<![\w.])\d+(?![\w.])", fmt, out)
        elif k == "latex":
            out = out.replace("x^2", "x^{2}").replace("$f(2)$", "\\(f(2)\\)").replace("\\geq", "\\ge")
            out = out.replace("$", rng.choice(["$", "$ "]), 2)
        elif k == "drop":
            for w in FILLER_DROPS:
                if w in out and rng.random() < 0.6:
                    out = out.replace(w, " ", 1)
        elif k == "wrap":
            pre, post = rng.choice(WRAPPERS)
            out = pre + out + post
    return out, swapped


def generate(
    rows: int, seed: int = 0, dup_rate: float = 0.45, sibling_rate: float = 0.15, code_share: float = 0.2
) -> list[dict]:
    """Rows {id, problem, cluster, domain, kind} where kind ∈ base|copy|exact|sibling|other_question."""
    rng = random.Random(seed)
    out: list[dict] = []
    seen: set = set()
    siblings: list[tuple[int, int]] = []
    cid = 0

    def add_base(b: Base, kind: str) -> int | None:
        nonlocal cid
        if b.key() in seen:
            return None
        seen.add(b.key())
        cid += 1
        out.append(
            {"id": f"r{len(out)}", "problem": render(b), "cluster": cid, "domain": b.domain, "kind": kind, "_base": b}
        )
        return cid

    while len(out) < rows:
        domain = "code" if rng.random() < code_share else "math"
        t = rng.randrange(len(_templates(domain)))
        b = Base(domain, t, rng.randrange(len(_templates(domain)[t][1])), rand_vals(rng, domain))
        c = add_base(b, "base")
        if c is None:
            continue
        base_row = len(out) - 1
        r = rng.random()
        if r < sibling_rate:  # one number changed
            used = [k for k in "abc" if "{" + k in "".join(_templates(domain)[t][0]) + _templates(domain)[t][1][b.q]]
            key = rng.choice(used)
            vals = dict(b.vals)
            vals[key] = vals[key] + rng.choice([-1, 1, 2, 10])
            if vals[key] >= 2 and add_base(Base(domain, t, b.q, vals), "sibling"):
                siblings.append((base_row, len(out) - 1))
        elif r < sibling_rate * 1.5 and len(_templates(domain)[t][1]) > 1:  # same setup, other question
            add_base(Base(domain, t, 1 - b.q, b.vals), "other_question")
        while rng.random() < dup_rate and len(out) < rows:  # copies of the base
            if rng.random() < 0.25:
                out.append(
                    {
                        "id": f"r{len(out)}",
                        "problem": out[base_row]["problem"],
                        "cluster": c,
                        "domain": domain,
                        "kind": "exact",
                    }
                )
                continue
            text, swapped = edit(render(b), rng, swap_ok=True)
            if swapped:
                text, _ = edit(render(b, swap=True), rng, swap_ok=False)
            out.append({"id": f"r{len(out)}", "problem": text, "cluster": c, "domain": domain, "kind": "copy"})
    out = out[:rows]
    order = list(range(len(out)))
    rng.shuffle(order)
    pos = {old: new for new, old in enumerate(order)}
    shuffled = [out[i] for i in order]
    for r in shuffled:
        r.pop("_base", None)
    sib = [(pos[a], pos[b]) for a, b in siblings if a in pos and b in pos]
    for i, r in enumerate(shuffled):
        r["id"] = f"r{i}"
    for a, b in sib:
        shuffled[a].setdefault("sibling_of", shuffled[b]["id"])
    return shuffled


def decontam_set(n_items: int = 300, seed: int = 1) -> tuple[list[dict], list[dict]]:
    """(benchmark items, queries) — queries: rephrasings keeping the numbers (label 1); hard negatives (label 0):
    one number changed, same setup with another question, and the same with the setup reworded too."""
    rng = random.Random(seed)
    items, queries = [], []
    seen = set()
    while len(items) < n_items:
        domain = "math"
        t = rng.randrange(len(MATH))
        b = Base(domain, t, rng.randrange(len(MATH[t][1])), rand_vals(rng, domain))
        if b.key() in seen:
            continue
        seen.add(b.key())
        iid = f"bench-{len(items)}"
        items.append({"id": iid, "problem": render(b)})
        para, _ = edit(render(b, paraphrase=True), rng, swap_ok=False)
        queries.append({"problem": para, "label": 1, "item": iid, "kind": "rephrase", "template": t})
        vals = dict(b.vals)
        used = [k for k in "abc" if "{" + k in "".join(MATH[t][0]) + MATH[t][1][b.q]]
        key = rng.choice(used)
        vals[key] += rng.choice([1, 2, 10])
        queries.append(
            {
                "problem": render(Base(domain, t, b.q, vals), paraphrase=rng.random() < 0.5),
                "label": 0,
                "item": iid,
                "kind": "number_changed",
                "template": t,
            }
        )
        # Same setup, other question. Not where one "question" is empty and the other an answer-format
        # instruction ("Express your answer as an integer."): that is the same problem, not a hard negative.
        if len(MATH[t][1]) > 1 and all(MATH[t][1]):
            queries.append(
                {
                    "problem": render(Base(domain, t, 1 - b.q, b.vals)),
                    "label": 0,
                    "item": iid,
                    "kind": "other_question",
                    "template": t,
                }
            )
            # harder: the setup reworded as well, so it is not a verbatim match of the item's setup
            queries.append(
                {
                    "problem": render(Base(domain, t, 1 - b.q, b.vals), paraphrase=True),
                    "label": 0,
                    "item": iid,
                    "kind": "other_question_reworded",
                    "template": t,
                }
            )
    return items, queries


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    import polars as pl

    pl.DataFrame(generate(a.rows, a.seed)).write_parquet(a.out)


if __name__ == "__main__":
    main()
