"""Each approach's own final answer, and its verdict against the reference (DLCoT label1).

An approach inside a long CoT rarely boxes its result; it says "so the distance is 3√13" or "x = 5". We take the
last answer-like statement of the approach (boxed > "answer is" > concluding "therefore … is/=" sentence), and
let `verifiers.math` decide equivalence with the reference. No statement at all → `incomplete`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from .verify import check_pairs

_BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")
_ANSWER_IS = re.compile(
    r"\b(?:final answer|the answer|answer)\b\s*(?:is|should be|would be|=|:)\s*:?\s*(?P<a>[^\n]{1,160})", re.I
)
_CONCLUDE = re.compile(
    r"(?:^|(?<=[.!?:])\s+|\n)\s*(?:\*\*)?(?:so|therefore|thus|hence|that means|this means|which means|"
    r"consequently|finally|then)\b,?\s*(?P<body>[^\n]{0,240})",
    re.I,
)
_COPULA = re.compile(r"\s(?:is|are|equals|would be|should be|must be|comes out to|turns out to be)\s+|\s*=\s*")
_STOP_AT = re.compile(r"(?<!\\)(?:\.\s|\.$|,\s(?:which|so|and|but|since|because)\b|;|\n| because | since | but )")
_NUMERIC = re.compile(r"[\d\\$]|\b(?:sqrt|pi|infinity|frac)\b", re.I)
_TRAIL = re.compile(r"\s*(?:units?|square units|degrees|cm|meters?|dollars)?\s*[.,;:!]*\s*$", re.I)
_BAD_TAIL = re.compile(r"\b(?:correct|right|wrong|positive|negative|possible|true|false|valid|the same)\b", re.I)


def _match_brace(text: str, open_idx: int) -> int:
    depth = 0
    for i in range(open_idx, len(text)):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def last_boxed(text: str) -> str | None:
    found = None
    for m in _BOX.finditer(text):
        close = _match_brace(text, m.end() - 1)
        if close != -1:
            found = text[m.end() : close].strip()
    return found


_LEADING = re.compile(r"^(?:approximately|about|roughly|exactly|just|only|still|equal to|now|also)\s+", re.I)
_MATH_WORDS = re.compile(
    r"^(?:sqrt|pi|frac|dfrac|cdot|times|text|mathrm|left|right|infty|infinity|and|or|sin|cos|tan|log|ln|cup|cap|"
    r"le|ge|leq|geq|pm|circ|mod|pmod|boxed)$", re.I)


def _math_prefix(ans: str) -> str:
    """Cut an answer at the first ordinary word: '7 inches' -> '7', '45 ways to choose' -> '45'."""
    for m in re.finditer(r"(?<![\\A-Za-z])[A-Za-z]{3,}", ans):
        if not _MATH_WORDS.match(m.group(0)):
            return ans[: m.start()].strip()
    return ans


def _clean(ans: str) -> str | None:
    ans = ans.strip().strip("*").strip()
    stop = _STOP_AT.search(ans + " ")
    if stop:
        ans = ans[: stop.start()]
    ans = _LEADING.sub("", ans)
    ans = _math_prefix(ans)
    ans = _TRAIL.sub("", ans).strip().strip("$").strip()
    ans = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", ans).strip().rstrip(",.;:").strip()
    if not ans or len(ans) > 120 or not _NUMERIC.search(ans):
        return None
    return ans


def approach_answer(text: str) -> str | None:
    """The last answer the approach states, or None when it reaches none."""
    box = last_boxed(text)
    if box:
        return box
    best: tuple[int, str] | None = None
    for m in _ANSWER_IS.finditer(text):
        a = _clean(m.group("a"))
        if a:
            best = (m.start(), a)
    for m in _CONCLUDE.finditer(text):
        body = m.group("body")
        cop = None
        for c in _COPULA.finditer(body):
            cop = c  # take the last copula: "so x^2 - 5x = 14, and x = 7" -> 7
        if cop is None:
            continue
        tail = body[cop.end() :]
        if _BAD_TAIL.match(tail.strip()):
            continue
        a = _clean(tail)
        if a and (best is None or m.start() >= best[0]):
            best = (m.start(), a)
    return best[1] if best else None


@dataclass
class ApproachVerdict:
    approach: int
    answer: str | None
    verdict: str  # correct | incorrect | incomplete | unchecked


def approach_verdicts(
    approaches: dict[int, str],
    reference: str | None,
    workers: int = 2,
    timeout_ms: int = 3000,
    checker: Callable[[Sequence[tuple[str, str]]], list[bool | None]] | None = None,
) -> list[ApproachVerdict]:
    """Verdict per approach text. Without a reference, answers are still extracted but marked `unchecked`."""
    out = [ApproachVerdict(k, approach_answer(t), "incomplete") for k, t in sorted(approaches.items())]
    return judge_answers(out, reference, workers, timeout_ms, checker)


def judge_answers(
    items: list[ApproachVerdict],
    reference: str | None,
    workers: int = 2,
    timeout_ms: int = 3000,
    checker: Callable[[Sequence[tuple[str, str]]], list[bool | None]] | None = None,
) -> list[ApproachVerdict]:
    todo = [v for v in items if v.answer is not None]
    if reference is None:
        for v in todo:
            v.verdict = "unchecked"
        return items
    if todo:
        check = checker or (lambda pairs: check_pairs(pairs, workers=workers, timeout_ms=timeout_ms))
        results = check([(reference, as_prediction(v.answer)) for v in todo])
        for v, ok in zip(todo, results):
            v.verdict = "correct" if ok else "incorrect"
    return items


_PLAIN_SQRT = re.compile(r"\bsqrt\s*\(([^()]*)\)")
_PLAIN_PI = re.compile(r"(?<![\\A-Za-z])pi\b")


def latexify(answer: str) -> str:
    """Plain-text math as written inside thoughts ('3*sqrt(13)', '2pi') in the LaTeX form verifiers parse."""
    a = _PLAIN_SQRT.sub(r"\\sqrt{\1}", answer)
    a = _PLAIN_PI.sub(r"\\pi", a)
    a = a.replace("√", "\\sqrt").replace("π", "\\pi")
    return a


def as_prediction(answer: str) -> str:
    """Wrap a bare answer so the verifier's extractor takes all of it."""
    answer = latexify(answer)
    depth = 0
    for c in answer:
        depth += c == "{"
        depth -= c == "}"
        if depth < 0:
            return answer
    return f"\\boxed{{{answer}}}" if depth == 0 else answer
