"""Equivalence of two parsed answers. Returns (equal, method); raises TooLarge when it cannot decide safely.

Order: exact rationals -> decimal rounding (a decimal answer is judged at the precision it states) ->
structural/expand -> numeric at 30 digits for constants -> simplify -> random-point sampling for symbols.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Optional

from .guards import TooLarge, huge_equal, sympy_module
from .parse import Node, Options, ParseError, _to_set, to_sympy


def equal(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    k = (g.kind, p.kind)
    if g.kind == "text" or p.kind == "text":
        return (g.kind == p.kind and g.value == p.value), "text"
    # equations
    if g.kind == "eq" or p.kind == "eq":
        return _eq_equal(g, p, opts)
    if g.kind == "huge" or p.kind == "huge":
        return _huge(g, p, opts)
    if g.kind in ("list", "set") or p.kind in ("list", "set"):
        return _collection(g, p, opts)
    if (
        "rel" in k
        or "union" in k
        or (g.kind == "tuple" and p.kind == "tuple" and g.meta.get("brackets") != p.meta.get("brackets"))
    ):
        return _sets(g, p, opts)
    if g.kind == "tuple" or p.kind == "tuple":
        if g.kind == p.kind and len(g.items) == len(p.items):
            return all(equal(a, b, opts)[0] for a, b in zip(g.items, p.items)), "ordered"
        if p.kind == "expr" and p.meta.get("matrix") and g.kind == "tuple":
            return _matrix_vs_tuple(p, g, opts)
        if g.kind == "expr" and g.meta.get("matrix") and p.kind == "tuple":
            return _matrix_vs_tuple(g, p, opts)
        return False, "shape"
    return scalar_equal(g, p, opts)


def _eq_equal(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    gs, ps = g.kind == "eq" and g.meta.get("simple"), p.kind == "eq" and p.meta.get("simple")
    if g.kind == "eq" and p.kind == "eq":
        if gs and ps:
            if g.meta["name"] == p.meta["name"]:
                return equal(g.value, p.value, opts)
            return False, "equation_names"
        return _equations(g, p, opts)
    if gs:
        return equal(g.value, p, opts)
    if ps:
        return equal(g, p.value, opts)
    return False, "equation_vs_value"


def _equations(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    """a=b and c=d are the same equation when a-b and c-d are proportional (rearranged or rescaled)."""
    sympy = sympy_module()

    def diff(n: Node):
        if n.meta.get("simple"):
            return sympy.Symbol(n.meta["name"]) - to_sympy(n.value)
        a, b = (to_sympy(i) for i in n.items)
        return a - b

    try:
        e1, e2 = diff(g), diff(p)
    except ParseError:
        return False, "equation"
    if e1 == e2:
        return True, "equation_structural"
    if e2 == 0 or e1 == 0:
        return False, "equation"
    ratio = sympy.cancel(sympy.together(e1 / e2))
    if ratio.is_number and ratio != 0 and ratio.is_finite:
        return True, "equation_proportional"
    return False, "equation"


def _huge(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    sympy = sympy_module()

    a = g.value if g.kind == "huge" else to_sympy(g)
    b = p.value if p.kind == "huge" else to_sympy(p)
    r = huge_equal(a, b, opts.max_digits)
    if r is None:
        if (g.kind == "huge") != (p.kind == "huge"):
            small = b if g.kind == "huge" else a
            if isinstance(small, sympy.Basic) and small.is_number and not small.free_symbols:
                return False, "magnitude"  # one side fits the budget, the other is astronomically larger
        raise TooLarge("huge values that are not comparable by exponent arithmetic")
    return r, "exponent_arithmetic"


def _collection(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    gi = g.items if g.kind in ("list", "set", "tuple") else [g]
    pi = p.items if p.kind in ("list", "set", "tuple") else [p]
    if "rel" in (g.kind, p.kind) or "union" in (g.kind, p.kind):
        return _sets(g, p, opts)
    ordered = (
        (g.kind == "tuple" and p.kind == "list")
        or (p.kind == "tuple" and g.kind == "list")
        or (g.meta.get("row") and p.kind == "tuple")
        or (p.meta.get("row") and g.kind == "tuple")
    )
    if ordered:
        if len(gi) != len(pi):
            return False, "count"
        return all(equal(a, b, opts)[0] for a, b in zip(gi, pi)), "ordered"
    if len(gi) > 60 or len(pi) > 60:
        raise TooLarge("list longer than 60 items")

    def safe(a: Node, b: Node) -> bool:
        try:
            return equal(a, b, opts)[0]
        except (ParseError, TooLarge):
            return False

    # unordered with set semantics: every gold item is in the prediction and vice versa (duplicates collapse)
    return all(any(safe(a, b) for b in pi) for a in gi) and all(any(safe(a, b) for a in gi) for b in pi), "unordered"


def _unused_bijection(gi, pi, opts):
    # unordered: bipartite matching (small n, greedy with backtracking)
    used = [False] * len(pi)

    def match(i: int) -> bool:
        if i == len(gi):
            return True
        for j, b in enumerate(pi):
            if not used[j]:
                try:
                    ok = equal(gi[i], b, opts)[0]
                except (ParseError, TooLarge):
                    ok = False
                if ok:
                    used[j] = True
                    if match(i + 1):
                        return True
                    used[j] = False
        return False

    if len(gi) > 60:
        raise TooLarge("list longer than 60 items")
    return match(0), "unordered"


def _sets(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    sympy = sympy_module()

    if not opts.allow_set_relation and ((g.kind == "rel") != (p.kind == "rel")):
        return False, "set_vs_relation"
    try:
        a, b = _to_set(g), _to_set(p)
    except ParseError:
        return False, "set"
    if a == b:
        return True, "set"
    try:
        d = sympy.Union(sympy.Complement(a, b), sympy.Complement(b, a))
        return d == sympy.EmptySet or d.is_empty is True, "set"
    except Exception:
        return False, "set"


def _matrix_vs_tuple(m: Node, t: Node, opts: Options) -> tuple[bool, str]:
    vals = list(m.value)
    if len(vals) != len(t.items):
        return False, "shape"
    return all(scalar_equal(Node("expr", value=v), b, opts)[0] for v, b in zip(vals, t.items)), "matrix"


# ------------------------------------------------------------------ scalars
def _rounded_match(lit: Node, other_value, opts: Options) -> Optional[bool]:
    """A decimal literal with d decimals (and enough significant digits) matches a value that rounds to it."""
    d, sig = lit.meta.get("decimals"), lit.meta.get("sig", 0)
    if d is None or sig < opts.rounding_min_sig:
        return None
    half = Fraction(1, 2 * 10**d)
    if isinstance(other_value, Fraction):
        return abs(other_value - lit.value) <= half
    sympy = sympy_module()

    try:
        ov = sympy.N(other_value, 40 + d)
        if not ov.is_real:
            return None
        return bool(
            abs(ov - sympy.Rational(lit.value.numerator, lit.value.denominator))
            <= sympy.Rational(half.numerator, half.denominator) * (1 + sympy.Rational(1, 10**9))
        )
    except (TypeError, ValueError):
        return None


def scalar_equal(g: Node, p: Node, opts: Options) -> tuple[bool, str]:
    if g.kind == "num" and p.kind == "num":
        if g.value == p.value:
            return True, "exact"
        digits = g.meta.get("base_digits")
        if digits and p.text.strip() == digits and p.value.denominator == 1:
            return True, "base_digits"  # '4210' answering 'express in base 5' (gold 4210_5): digits in that base
        for lit, other in ((p, g), (g, p)):
            if lit.meta.get("decimals") is not None and other.meta.get("decimals") is None:
                r = _rounded_match(lit, other.value, opts)
                if r:
                    return True, "rounded_decimal"
        return False, "exact"
    sympy = sympy_module()

    try:
        a, b = to_sympy(g), to_sympy(p)
    except ParseError:
        return False, "type"
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)) or a.shape != b.shape:
            return False, "matrix_shape"
        ok = all(_expr_equal(x, y, opts)[0] for x, y in zip(a, b))
        return ok, "matrix"
    if isinstance(a, (sympy.Set, sympy.logic.boolalg.Boolean)) or isinstance(
        b, (sympy.Set, sympy.logic.boolalg.Boolean)
    ):
        return (a == b), "structural"
    for lit, other in ((p, b if False else a), (g, b)):
        pass
    if p.kind == "num" and p.meta.get("decimals") is not None and not a.free_symbols:
        r = _rounded_match(p, a, opts)
        if r is not None:
            return r, "rounded_decimal"
    if g.kind == "num" and g.meta.get("decimals") is not None and not b.free_symbols:
        r = _rounded_match(g, b, opts)
        if r is not None:
            return r, "rounded_decimal"
    return _expr_equal(a, b, opts)


def _has_opaque(e) -> bool:
    sympy = sympy_module()
    from sympy.core.function import AppliedUndef

    return bool(e.atoms(AppliedUndef, sympy.Sum, sympy.Integral, sympy.Product, sympy.Limit, sympy.Derivative))


def _expr_equal(a, b, opts: Options) -> tuple[bool, str]:
    sympy = sympy_module()

    if a.has(sympy.zoo, sympy.nan) or b.has(sympy.zoo, sympy.nan):
        return False, "undefined"  # 1/0 is never equal to anything, itself included
    if a == b:
        return True, "structural"
    if a.has(sympy.oo, -sympy.oo) or b.has(sympy.oo, -sympy.oo):
        return False, "infinite"  # oo - (-oo) is oo, which a relative tolerance of oo would call equal
    if a.is_Rational and b.is_Rational:
        return False, "exact"
    if not a.free_symbols and not b.free_symbols:
        try:
            va, vb = sympy.N(a, 30), sympy.N(b, 30)
            if va.is_Number and vb.is_Number or (va.is_number and vb.is_number):
                diff = abs(sympy.N(va - vb, 30))
                scale = max(abs(va), abs(vb), sympy.Float(1e-300))
                if diff.is_Number:
                    if (
                        a.is_Float
                        or b.is_Float
                        or va.has(sympy.Float)
                        and (a.atoms(sympy.Float) or b.atoms(sympy.Float))
                    ):
                        return bool(diff <= opts.rel_tol * scale), "relative_tolerance"
                    return bool(diff <= sympy.Float(1e-25) * scale), "numeric_30_digits"
        except (TypeError, ValueError, AttributeError):
            pass
    try:
        if sympy.expand(a - b) == 0:
            return True, "expand"
    except Exception:
        pass
    if _has_opaque(a) or _has_opaque(b):
        try:
            return bool(sympy.simplify(a - b) == 0), "simplify"
        except Exception:
            return False, "simplify"
    # Sampling before simplify: simplify costs 100+ ms on trig/rational forms; six exact-point evaluations
    # decide almost every case (a point where they differ proves inequality), simplify only the rest.
    r = _sample(a, b, opts)
    if r is not None:
        return r, "numeric_sampling"
    try:
        if sympy.simplify(a - b) == 0:
            return True, "simplify"
    except Exception:
        pass
    return False, "numeric_sampling"


_LAMBDIFY_KW: Optional[dict] = None


def _lambdify_kwargs(sympy) -> dict:
    """No docstring for the sampled functions (sympy >= 1.13): lambdify prints the expression into the docstring
    of the function it returns, which cost more than the sampling itself (about 15 ms of a 94 ms '\\cot x' case)."""
    global _LAMBDIFY_KW
    if _LAMBDIFY_KW is None:
        import inspect

        _LAMBDIFY_KW = (
            {"docstring_limit": 0} if "docstring_limit" in inspect.signature(sympy.lambdify).parameters else {}
        )
    return _LAMBDIFY_KW


def _sample(a, b, opts: Options) -> Optional[bool]:
    """Evaluate both at a few random points: equal everywhere tested (to 1e-9 relative) counts as equal, a
    difference at any point is unequal; None when fewer than 3 points could be evaluated (undecided)."""
    sympy = sympy_module()

    syms = sorted(a.free_symbols | b.free_symbols, key=str)
    if not syms:
        return None  # over the union of symbols: 'p - 30' vs 15 differs at the first point
    rng = random.Random(1234)
    kw = _lambdify_kwargs(sympy)
    f = sympy.lambdify(syms, a - b, modules=["mpmath"], **kw)
    g = sympy.lambdify(syms, abs(a) + abs(b), modules=["mpmath"], **kw)
    ok = 0
    for _ in range(6):
        pt = [sympy.Rational(rng.randint(11, 97), rng.randint(7, 31)) for _ in syms]
        try:
            d = complex(f(*pt))
            s = abs(complex(g(*pt)))
        except (ZeroDivisionError, ValueError, TypeError, OverflowError):
            continue
        if abs(d) > opts.rel_tol * max(s, 1.0):
            return False
        ok += 1
    return True if ok >= 3 else None
