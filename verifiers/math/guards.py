"""Size guards: estimate how big an expression would get *before* sympy evaluates it, and compare huge exact
powers by exponent arithmetic instead of expanding them (4^{2^{29}} vs 2^{2^{30}})."""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import Optional

INF = float("inf")


class NeedsSympy(BaseException):
    """Raised in sympy-free mode where an answer needs sympy: the caller sends the pair to a worker instead.

    A BaseException so that no `except Exception` on the way (parse, compare) turns it into a verdict."""


_MODE = threading.local()


@contextmanager
def sympy_free():
    """Run parse/compare with sympy forbidden: the same code and verdicts, for the answers (numbers, tuples,
    lists, text, base-b integers, 'x = 5') that never reach sympy. Safe in the caller's process: no sympy means
    no unbounded algebra, only regexes and Fractions on short strings."""
    prev = getattr(_MODE, "no_sympy", False)
    _MODE.no_sympy = True
    try:
        yield
    finally:
        _MODE.no_sympy = prev


def sympy_free_active() -> bool:
    return getattr(_MODE, "no_sympy", False)


def sympy_module():
    """`import sympy`, or NeedsSympy inside `sympy_free()`. Every sympy use in parse/compare/guards goes here."""
    if getattr(_MODE, "no_sympy", False):
        raise NeedsSympy
    import sympy

    return sympy


class TooLarge(Exception):
    """The answer would need more than the configured budget to evaluate."""


class TooLong(ValueError):
    """The extracted text is far longer than any answer (core reports it as parse_error, not too_large)."""


def max_depth(s: str) -> int:
    depth = best = 0
    for c in s:
        if c in "({[":
            depth += 1
            best = max(best, depth)
        elif c in ")}]":
            depth -= 1
    return best


def check_text(s: str, *, max_chars: int, max_depth_allowed: int) -> None:
    if len(s) > max_chars:
        # A multi-kilobyte "answer" is a mis-extracted derivation, not a huge value: a parse failure, so the
        # verdict is a plain no-match instead of 'too_large' (which callers read as "could not decide").
        raise TooLong(f"answer is {len(s)} characters (limit {max_chars}): not a single answer")
    d = max_depth(s)
    if d > max_depth_allowed:
        raise TooLarge(f"answer nests {d} brackets deep (limit {max_depth_allowed})")


def log10_mag(expr, budget: float) -> float:
    """Rough upper bound of log10|value| of an unevaluated sympy tree (INF when beyond reach)."""
    sympy = sympy_module()

    if expr.is_Integer:
        n = abs(int(expr))
        return len(str(n)) if n < 10**4000 else n.bit_length() * 0.30103
    if expr.is_Rational:
        return max(log10_mag(sympy.Integer(expr.p), budget), log10_mag(sympy.Integer(expr.q), budget))
    if expr.is_Float:
        v = abs(float(expr))
        return math.log10(v) if v > 1 else 0.0
    if expr.is_Atom:
        return 1.0
    if isinstance(expr, sympy.Pow):
        b, e = expr.args
        mb = log10_mag(b, budget)
        me = log10_mag(e, budget)
        if me > 15:
            return INF
        try:
            ev = abs(float(e.evalf(20))) if not e.free_symbols else 1.0
        except (TypeError, ValueError, OverflowError):
            ev = 10.0**me
        return ev * max(mb, 0.0)
    if isinstance(expr, sympy.factorial) or type(expr).__name__ in ("factorial", "factorial2", "gamma", "subfactorial"):
        mn = log10_mag(expr.args[0], budget)
        if mn > 15:
            return INF
        try:
            n = abs(float(expr.args[0].evalf(20))) if not expr.args[0].free_symbols else 1.0
        except (TypeError, ValueError):
            return INF
        return n * math.log10(max(n, 2.0))
    if isinstance(expr, sympy.Mul):
        return sum(max(log10_mag(a, budget), 0.0) for a in expr.args)
    mags = [log10_mag(a, budget) for a in expr.args]
    return (max(mags) if mags else 0.0) + 1.0


def power_form(expr, budget: float) -> Optional[tuple[int, object]]:
    """Write a positive integer power (tower) as (r, k) with value r**k and r not a perfect power."""
    sympy = sympy_module()

    if expr.is_Integer and expr > 1:
        if log10_mag(expr, budget) > 60:
            return int(expr), sympy.Integer(1)
        pp = sympy.perfect_power(int(expr))
        if pp:
            return int(pp[0]), sympy.Integer(pp[1])
        return int(expr), sympy.Integer(1)
    if isinstance(expr, sympy.Pow):
        b, e = expr.args
        if not (e.is_Integer or isinstance(e, sympy.Pow)) or e.free_symbols:
            return None
        inner = power_form(b, budget)
        if inner is None:
            return None
        if log10_mag(e, budget) > budget:
            return None  # the exponent itself is too large to write down
        with sympy.evaluate(True):
            e_val = e.doit()
        return inner[0], inner[1] * e_val
    return None


def huge_equal(a, b, budget: float) -> Optional[bool]:
    """Decide a == b for huge exact powers without expanding them; None when undecidable here."""
    fa, fb = power_form(a, budget), power_form(b, budget)
    if fa is None or fb is None:
        return None
    return fa[0] == fb[0] and fa[1] == fb[1]
