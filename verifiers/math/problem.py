"""Checks that need the problem text: an answer that restates the question, and a form the problem demands.

Numeric equivalence alone can be gamed: on "Simplify $\\frac{\\sqrt{160}}{\\sqrt{252}}$" the problem's own expression
equals the reference and would be accepted; "Find the equation of the plane ... with gcd(|A|,|B|,|C|,|D|) = 1"
accepts the same plane scaled by 4. A restatement is not an answer, and a demanded form (lowest terms, coprime
coefficients, interval notation) is part of correctness. Regex-only, no sympy: cheap enough for every trace.
"""

from __future__ import annotations

import math
import re
from typing import Optional

_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\\$])\$((?:[^$\\]|\\.)+?)\$", re.S)
_CHOICES = re.compile(r"\\textbf\s*\{\s*\(A\)|\(A\)\s*\S.*\(B\)", re.S)
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _key(s: str) -> str:
    s = re.sub(r"\\[dt]frac", r"\\frac", s)
    s = re.sub(r"\\(?:left|right|displaystyle|,|;|!|quad)|\s+|\$", "", s)
    return s.strip(".")


def math_spans(problem: str) -> list[str]:
    return [_key(next(g for g in m.groups() if g is not None)) for m in _MATH.finditer(problem or "")]


def restates_question(problem: Optional[str], answer: Optional[str], reference: Optional[str]) -> bool:
    """The answer is an expression the problem itself states (not a number), while the reference is not one of
    the problem's expressions (a "which is larger, $2^{30}$ or $3^{20}$?" answer legitimately repeats one)."""
    if not problem or not answer or _CHOICES.search(problem):
        return False
    a = _key(answer)
    if len(a) < 2 or _PLAIN_NUMBER.fullmatch(a) or not re.search(r"[A-Za-z\\^+*/-]", a):
        return False
    spans = math_spans(problem)
    if reference and any(_key(reference) == s for s in spans):
        return False
    return any(a == s or (len(a) >= 6 and a in s) for s in spans)


_LOWEST_TERMS = re.compile(
    r"common fraction|lowest terms|simplest form|simplest (?:radical|fractional) form|"
    r"fully simplified|reduced fraction|relatively prime",
    re.I,
)
_GCD_ONE = re.compile(r"\\gcd\s*\(\s*\|?[A-Za-z]", re.I)
_INTERVAL = re.compile(r"interval notation", re.I)
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(-?\d+)\s*\}\s*\{\s*(-?\d+)\s*\}|(?<![\d.])(\d+)\s*/\s*(\d+)(?![\d.])")


_SIMPLIFY = re.compile(r"\b(?:simplify|compute|evaluate|find the (?:exact )?value)\b", re.I)
_FUNCS = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc|log|ln|arcsin|arccos|arctan|sum|prod|int|binom)(?![a-zA-Z])")


def form_violation(problem: Optional[str], answer: Optional[str], reference: Optional[str] = None) -> Optional[str]:
    """Why the answer is not in the form the problem asks for, or None."""
    if not problem or not answer:
        return None
    if reference and _SIMPLIFY.search(problem):
        value = answer.rsplit("=", 1)[-1]  # 'sin^3 18° + sin^2 18° = 1/8' states its value last
        if _FUNCS.search(value) and not _FUNCS.search(reference):
            return "not simplified: the answer still holds functions the reference has evaluated"
        if (
            re.search(r"\bsimplify\b", problem, re.I)
            and len(_key(value)) >= 40
            and len(_key(value)) > 3 * len(_key(reference))
        ):
            return "not simplified: the answer is far longer than the reference"
    if _LOWEST_TERMS.search(problem):
        for m in _FRAC.finditer(answer):
            a, b = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(3), m.group(4))
            if int(b) != 0 and math.gcd(int(a), int(b)) > 1:
                return f"fraction {a}/{b} is not in lowest terms"
    if _GCD_ONE.search(problem) and "=" in answer:
        coeffs = _coefficients(answer)
        if coeffs and len(coeffs) >= 2 and math.gcd(*coeffs) > 1:
            return f"coefficients share the factor {math.gcd(*coeffs)} (the problem asks for gcd 1)"
    if (
        _INTERVAL.search(problem)
        and re.search(r"[<>]|\\[lg]e(?![a-z])|\\[lg]eq", answer)
        and not re.search(r"[\[(].*,.*[\])]", answer)
    ):
        return "an inequality where the problem asks for interval notation"
    return None


def _coefficients(equation: str) -> Optional[list[int]]:
    """Integer coefficients of a linear/polynomial equation '4x + 8y - 12z + 16 = 0' (a bare variable counts 1);
    None when a term is not 'integer · variables' or an integer (fractions, radicals: not this check's case)."""
    s = re.sub(r"\^\s*\{?\d+\}?|\\cdot|\s+|\$", "", equation)
    out = []
    for side in s.split("="):
        for term in re.split(r"[+-]", side):
            if not term:
                continue
            m = re.fullmatch(r"(\d*)([A-Za-z]*)", term)
            if not m:
                return None
            if m.group(1):
                out.append(int(m.group(1)))
            elif m.group(2):
                out.append(1)
    return [c for c in out if c] or None
