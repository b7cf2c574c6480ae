"""Parse a normalized answer into a small tree: numbers, sympy expressions, lists/sets/tuples, intervals,
unions, relations (as sets), equations, matrices, text.

The outer structure (commas, brackets, relations, equations) is parsed here so that comparison can follow
answer conventions (a list is unordered, a point is ordered, "x = 3" means 3). Atoms go to a fast path
(Fraction, no sympy) when they are plain numbers, else to latex2sympy2_extended (an ANTLR LaTeX grammar that,
unlike sympy's own parse_latex, knows sets, intervals, \\pm, matrices and percent) under size guards.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Optional

from .guards import NeedsSympy, TooLarge, check_text, huge_equal, log10_mag, sympy_free, sympy_module  # noqa: F401  (re-exported)
from .normalize import normalize, text_key


class ParseError(Exception):
    pass


@dataclass
class Node:
    kind: str  # num | expr | list | set | tuple | interval | union | rel | eq | text | huge
    value: Any = None
    items: list = field(default_factory=list)
    text: str = ""
    meta: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # compact, for debugging and test messages
        if self.items:
            return f"{self.kind}[{', '.join(map(repr, self.items))}]"
        return f"{self.kind}({self.value!r})"


@dataclass
class Options:
    max_chars: int = 2000
    max_depth: int = 40
    max_digits: float = 5000.0  # log10 budget for any evaluated value
    rel_tol: float = 1e-9
    rounding_min_sig: int = 3
    allow_set_relation: bool = True
    last_number: str = "short"  # never | short | always: last-number fallback in predictions
    short_chars: int = 120


_NUM_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FRAC_RE = re.compile(r"([+-]?)\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}|([+-]?\d+)\s*/\s*(\d+)")
_SCI_RE = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?")


def _decimals(lit: str) -> tuple[Optional[int], int]:
    """(digits after the point or None, significant digits) of a decimal literal."""
    mant = lit.lower().split("e")[0].lstrip("+-")
    digits = mant.replace(".", "").lstrip("0")
    sig = len(digits)
    if "." not in mant:
        return None, sig
    d = len(mant.split(".")[1])
    exp = int(lit.lower().split("e")[1]) if "e" in lit.lower() else 0
    return max(d - exp, 0), sig


def fast_number(s: str) -> Optional[Node]:
    """Plain numbers without sympy: 12, -0.5, .4, 1e-3, 3/4, \\frac{3}{4}, 2.5\\times10^{3}."""
    s = s.strip()
    if s.startswith("{") and s.endswith("}") and s.count("{") == 1:
        s = s[1:-1].strip()
    if s.startswith("+"):
        s = s[1:]
    if len(s) > 200_000:
        raise TooLarge("numeric literal too long")
    if _NUM_RE.fullmatch(s):
        if "e" in s.lower() and abs(int(s.lower().split("e")[1])) > 1000:
            return None  # 1e999999999: leave it to the guarded path instead of building the integer
        try:
            v = Fraction(Decimal(s))
        except (InvalidOperation, ValueError, OverflowError):
            return None
        d, sig = _decimals(s)
        return Node("num", v, text=s, meta={"decimals": d, "sig": sig})
    m = _FRAC_RE.fullmatch(s)
    if m:
        if m.group(2) is not None:
            sign, a, b = m.group(1), m.group(2), m.group(3)
        else:
            sign, a, b = "", m.group(4), m.group(5)
        if int(b) == 0:
            raise ParseError("division by zero")
        v = Fraction(int(a), int(b))
        return Node("num", -v if sign == "-" else v, text=s, meta={"decimals": None, "sig": 0})
    m = _SCI_RE.fullmatch(s)
    if m and abs(int(m.group(2))) < 400:
        v = Fraction(Decimal(m.group(1))) * Fraction(10) ** int(m.group(2))
        d, sig = _decimals(m.group(1))
        return Node("num", v, text=s, meta={"decimals": None if d is None else max(d - int(m.group(2)), 0), "sig": sig})
    return None


# ---------------------------------------------------------------- top-level splitting helpers
_OPEN, _CLOSE = "([{", ")]}"


def split_top(s: str, seps: list[str]) -> list[str]:
    """Split on separators that are not inside any bracket (bracket types are not matched: [0,1) is fine)."""
    out, depth, cur, i = [], 0, [], 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n and s[i + 1] in "{}":
            cur.append(s[i : i + 2])
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        if depth == 0:
            hit = next((sp for sp in seps if s.startswith(sp, i) and _sep_ok(s, i, sp)), None)
            if hit:
                out.append("".join(cur))
                cur = []
                i += len(hit)
                continue
        cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _sep_ok(s: str, i: int, sp: str) -> bool:
    if sp.startswith("\\"):  # \le must not match \left
        j = i + len(sp)
        return not (j < len(s) and s[j].isalpha())
    if sp in ("<", ">") and i + 1 < len(s) and s[i + 1] == "=":
        return False
    if sp == "=" and i > 0 and s[i - 1] in "<>!":
        return False
    return True


def _outer(s: str) -> Optional[tuple[str, str, str]]:
    """If s is one bracketed group '(...)', '[...)', '\\{...\\}', return (open, inner, close)."""
    s = s.strip()
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        if _balanced_within(inner):
            return "\\{", inner, "\\}"
        return None
    if len(s) >= 2 and s[0] in "([{" and s[-1] in ")]}":
        inner = s[1:-1]
        if _balanced_within(inner):
            return s[0], inner, s[-1]
    return None


def _balanced_within(inner: str) -> bool:
    depth = 0
    for c in inner:
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


_SIMPLE_NAME = re.compile(r"^[A-Za-z\\(),:|/{}\s'^*]+$")


def is_simple_name(s: str) -> bool:
    """'x', 'f(x)', 'a_{37}', '|AB|', 'A:B', '\\frac{NO}{BO}', '(p,q)': a label, not an expression to solve."""
    t = re.sub(r"_\s*\{[^{}]*\}|_\s*\w", "", s.strip())
    t = re.sub(r"\\(frac|overline|mathbf|vec|angle|triangle|operatorname|zzz|[a-zA-Z]+)", "", t)
    if not t.strip() or not _SIMPLE_NAME.match(t):
        return False
    return not re.search(r"[+\-]", t)


def name_key(s: str) -> str:
    return re.sub(r"[{}\s]", "", s).lower()


_CONNECTORS = [",", ";", " and ", " or ", "\\text{and}", "\\text{or}"]
_INEQ_OPS = ["\\le", "\\ge", "\\ne", "<", ">"]


# ---------------------------------------------------------------- main entry
def parse(answer: str, opts: Optional[Options] = None) -> Node:
    """Normalize and parse one extracted answer."""
    opts = opts or Options()
    if answer is None or not str(answer).strip():
        raise ParseError("empty answer")
    check_text(answer, max_chars=200_000, max_depth_allowed=opts.max_depth)
    s, flags = normalize(answer)
    if not s:
        raise ParseError("empty after normalization")
    if len(s) > opts.max_chars and _NUM_RE.fullmatch(s.strip()):
        n = fast_number(s)  # a long literal is cheap to compare exactly: no need to refuse it
        if n is not None:
            n.meta.update(flags)
            return n
    check_text(s, max_chars=opts.max_chars, max_depth_allowed=opts.max_depth)
    node = _parse(s, opts, 0)
    node.meta.update(flags)
    node.meta.setdefault("text_key", text_key(answer))
    node.text = node.text or s
    return node


def _parse(s: str, opts: Options, level: int) -> Node:
    s = s.strip().rstrip(".").strip()
    if not s:
        raise ParseError("empty component")
    if level > 12:
        raise TooLarge("answer structure nested too deeply")
    # ---- lists: "1, 2 and 3", "p=5,q=2;p=7,q=2", "(11,7)or(7,11)"
    s = re.sub(r"\)\s*or\s*\(", ") or (", s)
    s = re.sub(r"(?<=[\d)])(or|and)(?=[A-Z(\\-]|[a-z]\()", r" \1 ", s)  # 'W(x)=1orW(x)=-1'
    s = re.sub(r"(\S)\s*\bor\b\s*(?=[A-Za-z(])", r"\1 or ", s) if re.search(r"\)or|\dor[A-Z]|\)or[A-Za-z]", s) else s
    top_semicolon = len(split_top(s, [";"])) > 1
    top_comma = len(split_top(s, [","])) > 1
    if top_semicolon and top_comma:
        parts = split_top(s, [";"])
        items = [_as_row(p, opts, level) for p in parts if p.strip()]
        return Node("list", items=items, text=s)
    parts = [p for p in split_top(s, _CONNECTORS) if p.strip() and p.strip().lower() not in ("and", "or")]
    if len(parts) > 1:
        items: list[Node] = []
        for p in parts:
            n = _parse(p, opts, level + 1)
            if n.kind in ("list",) or (n.kind == "set" and n.meta.get("from_pm")):
                items.extend(n.items)
            else:
                items.append(n)
        return Node("list", items=items, text=s)
    # ---- relations
    if "\\approx" in s:
        before, after = s.split("\\approx", 1)[0], s.split("\\approx")[-1]
        s = before if "=" in before else after
    eq_parts = split_top(s, ["="])
    if len(eq_parts) > 1:
        return _equation(eq_parts, s, opts, level)
    in_parts = split_top(s, ["\\in"])
    if len(in_parts) == 2:
        target = _parse(in_parts[1], opts, level + 1)
        return Node("rel", value=_to_set(target), text=s, meta={"var": name_key(in_parts[0])})
    if any(len(split_top(s, [op])) > 1 for op in _INEQ_OPS):
        return _inequality(s, opts)
    # ---- unions
    cup = split_top(s, ["\\cup"])
    if len(cup) > 1:
        return Node("union", items=[_parse(p, opts, level + 1) for p in cup], text=s)
    # ---- bracketed groups
    out = _outer(s)
    if out:
        o, inner, c = out
        if o == "\\{":
            items = [_parse(p, opts, level + 1) for p in split_top(inner, [",", ";"]) if p.strip()]
            return Node("set", items=items, text=s)
        comps = split_top(inner, [",", ";"])
        if len(comps) > 1:
            items = [_parse(p, opts, level + 1) for p in comps]
            if o == "{":
                return Node("list", items=items, text=s)
            if len(items) == 2 and not (o == "[" and c == "]" and False):
                return Node("tuple", items=items, text=s, meta={"brackets": o + c})
            return Node("tuple", items=items, text=s, meta={"brackets": o + c})
        if o in "({[" and c in ")}]" and not re.search(r"\\begin", inner):
            if o == "{" or (o == "(" and c == ")"):
                return _parse(inner, opts, level + 1)
    # ---- base-b integers: 204_5, 1112112_{3}
    m = re.fullmatch(r"(\d+)_\{?(\d+)\}?", s)
    if m:
        base = int(m.group(2))
        if 2 <= base <= 36 and all(int(d, 36) < base for d in m.group(1)):
            return Node(
                "num",
                Fraction(int(m.group(1), base)),
                text=s,
                meta={"decimals": None, "sig": 0, "base_digits": m.group(1)},
            )
    fn = fast_number(s)
    if fn is not None:
        return fn
    if (
        re.fullmatch(r"[A-Za-z][A-Za-z\s\-']*[A-Za-z]", s)
        and not re.fullmatch(r"[A-Za-z]{1,2}", s)
        and not _is_math_word(s)
    ):
        return Node("text", text_key(s), text=s)
    return _sympy_atom(s, opts)


def _is_math_word(s: str) -> bool:
    return bool(re.fullmatch(r"(?:inf|infinity|infty|pi|e|i)", s.strip(), re.I))


def _as_row(p: str, opts: Options, level: int) -> Node:
    """'p=5,q=2' -> ordered row (5, 2) of values."""
    comps = split_top(p, [","])
    if len(comps) == 1:
        return _parse(p, opts, level + 1)
    return Node("list", items=[_parse(c, opts, level + 1) for c in comps], text=p, meta={"row": True})


# Commands that compute a value: an equation whose sides hold only these and numbers is a computation chain
# ('\\binom{5}{2} = 10', '\\log_2 8 = 3', a determinant '= -2'), whose result is its last side.
_CHAIN_CMDS = re.compile(
    r"\\(?:[dt]?frac|sqrt|cdot|times|pi|div|[dt]?binom|sin|cos|tan|cot|sec|csc|log|ln|lg|exp|det|b?mod|circ|"
    r"left|right|[lr]floor|[lr]ceil|(?:begin|end)\{[vpbBV]?matrix\})(?![a-zA-Z])"
)


def _equation(parts: list[str], s: str, opts: Options, level: int) -> Node:
    parts = [p.strip() for p in parts]
    if any(not p for p in parts):
        raise ParseError(f"malformed equation: {s!r}")
    value = parts[-1]
    names = [p for p in parts[:-1] if is_simple_name(p)]
    if names:
        # a function label's argument is a dummy: 'W(n) = 1' and 'W(x) = 1' state the same thing
        label = re.sub(r"\(([a-z])\)$", "()", name_key(names[0]))
        return Node("eq", value=_parse(value, opts, level + 1), text=s, meta={"name": label, "simple": True})
    lhs = parts[0] if len(parts) == 2 else parts[-2]
    if not re.search(r"[A-Za-z]", _CHAIN_CMDS.sub("", lhs)) and not re.search(r"[A-Za-z]", _CHAIN_CMDS.sub("", value)):
        return _parse(value, opts, level + 1)  # a computation chain "2+3 = 5"
    left = _sympy_atom(lhs, opts)
    right = _sympy_atom(value, opts)
    return Node("eq", items=[left, right], text=s, meta={"simple": False})


_BOUND_OPS = {"<": "<", ">": ">", "\\le": "<=", "\\ge": ">=", "\\ne": "!="}


def _inequality(s: str, opts: Options) -> Node:
    """Inequalities become the set of values they allow, so 'x > 5' == '(5, \\infty)' == '5 < x'."""
    sympy = sympy_module()

    toks = re.split(r"(\\le(?![a-zA-Z])|\\ge(?![a-zA-Z])|\\ne(?![a-zA-Z])|<|>)", s)
    terms, ops = toks[0::2], [_BOUND_OPS[t] for t in toks[1::2]]
    var_idx = [i for i, t in enumerate(terms) if not _is_constant_text(t)]
    if (
        len(var_idx) == 1
        and len(terms) in (2, 3)
        and re.fullmatch(r"\s*[A-Za-z](?:_\{?\w+\}?)?(?:\([A-Za-z]\))?\s*", terms[var_idx[0]])
    ):
        vi = var_idx[0]
        var = name_key(terms[vi])
        result = sympy.Reals
        for k, op in enumerate(ops):
            a, b = terms[k], terms[k + 1]
            if k + 1 == vi:  # const op var
                c = _value_expr(a, opts)
                op = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "!=": "!="}[op]
            elif k == vi:
                c = _value_expr(b, opts)
            else:
                raise ParseError("inequality between constants")
            result = sympy.Intersection(result, _ray(op, c))
        return Node("rel", value=result, text=s, meta={"var": var})
    # general: let sympy solve it for a single real variable
    rel = _sympy_atom(s, opts).value
    free = sorted(rel.free_symbols, key=str)
    if len(free) != 1:
        return Node("expr", value=rel, text=s, meta={"relational": True})
    x = free[0]
    xr = sympy.Symbol(x.name, real=True)
    try:
        st = rel.subs(x, xr).as_set()
    except Exception as e:  # sympy cannot solve: keep the relation itself
        return Node("expr", value=rel, text=s, meta={"relational": True, "why": str(e)[:80]})
    return Node("rel", value=st, text=s, meta={"var": x.name})


def _ray(op: str, c):
    sympy = sympy_module()

    if op == "<":
        return sympy.Interval.open(-sympy.oo, c)
    if op == "<=":
        return sympy.Interval(-sympy.oo, c)
    if op == ">":
        return sympy.Interval.open(c, sympy.oo)
    if op == ">=":
        return sympy.Interval(c, sympy.oo)
    return sympy.Union(sympy.Interval.open(-sympy.oo, c), sympy.Interval.open(c, sympy.oo))


def _is_constant_text(t: str) -> bool:
    t = re.sub(r"\\(frac|sqrt|cdot|times|pi|infty|div)|\\infty", "", t)
    return not re.search(r"[A-Za-z]", t)


def _value_expr(t: str, opts: Options):
    sympy = sympy_module()

    n = _parse(t, opts, 5)
    if n.kind == "num":
        return sympy.Rational(n.value.numerator, n.value.denominator)
    if n.kind == "expr":
        return n.value
    raise ParseError(f"not a bound: {t!r}")


def _to_set(n: Node):
    """A parsed node as a sympy Set (for interval/inequality comparisons)."""
    sympy = sympy_module()

    if n.kind == "rel":
        return n.value
    if n.kind == "union":
        return sympy.Union(*[_to_set(i) for i in n.items])
    if n.kind == "tuple" and len(n.items) == 2 and n.meta.get("brackets", "") in ("()", "[]", "(]", "[)"):
        br = n.meta["brackets"]
        lo, hi = (to_sympy(i) for i in n.items)
        return sympy.Interval(lo, hi, left_open=br[0] == "(", right_open=br[1] == ")")
    if n.kind == "set":
        return sympy.FiniteSet(*[to_sympy(i) for i in n.items])
    if n.kind == "expr" and isinstance(n.value, sympy.Set):
        return n.value
    if n.kind in ("num", "expr"):
        return sympy.FiniteSet(to_sympy(n))
    raise ParseError(f"not a set: {n!r}")


def to_sympy(n: Node):
    sympy = sympy_module()

    if n.kind == "num":
        return sympy.Rational(n.value.numerator, n.value.denominator)
    if n.kind == "expr":
        return n.value
    if n.kind == "eq" and n.meta.get("simple"):
        return to_sympy(n.value)
    raise ParseError(f"not a scalar: {n!r}")


_I = None
_SLL_CONVERTER = None


def _latex2sympy_fast(s: str, norm, conv):
    """latex2sympy with ANTLR's two-stage strategy: SLL prediction first (several times faster on long answers),
    full LL only when SLL reports a syntax error. The grammar's error listener raises on any error, so an SLL
    success is the same parse LL would give."""
    global _SLL_CONVERTER
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import _Latex2Sympy, normalize_latex

    if _SLL_CONVERTER is None:
        from antlr4.atn.PredictionMode import PredictionMode

        class _SLL(_Latex2Sympy):
            def create_parser(self, latex_str):
                parser = super().create_parser(latex_str)
                parser._interp.predictionMode = PredictionMode.SLL
                return parser

        _SLL_CONVERTER = _SLL
    try:
        return _SLL_CONVERTER(config=conv).parse(normalize_latex(s, norm))
    except Exception:
        return latex2sympy(s, normalization_config=norm, conversion_config=conv)


class _LRU:
    """A small thread-safe LRU (the caller's process may verify from several threads)."""

    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key):
        with self.lock:
            v = self.data.get(key)
            if v is not None:
                self.data.move_to_end(key)
            return v

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)


# latex2sympy's result per atom string (unevaluated; the same conversion settings every call). Its ANTLR parser is
# the cost of the worker path: 18 ms for '\frac{\pi^2}{8}' even when warm, because SLL prediction fails on '^'
# after a command and full-LL prediction is not cached by ANTLR. The samples of one prompt, and a gold and its
# predictions, share atoms ('\frac{\pi^2}{8}' as an interval end in both).
_ATOM_CACHE = _LRU(4096)


def _sympy_atom(s: str, opts: Options) -> Node:
    """latex2sympy2_extended under guards: parse unevaluated, bound the size, then evaluate."""
    sympy = sympy_module()
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig
    from latex2sympy2_extended.math_normalization import NormalizationConfig

    norm = NormalizationConfig(
        basic_latex=True, units=True, malformed_operators=False, nits=True, boxed="none", equations=False
    )
    conv = ConversionConfig(
        interpret_as_mixed_fractions=True,
        interpret_simple_eq_as_assignment=False,
        interpret_contains_as_eq=True,
        lowercase_symbols=False,
    )
    raw = _ATOM_CACHE.get(s)
    if raw is None:
        try:
            try:
                with sympy.evaluate(False):
                    raw = _latex2sympy_fast(s, norm, conv)
            except Exception:
                if "\\begin" not in s and re.search(r"\^|!|\\binom|\\prod|\\sum", s):
                    raise  # evaluating could explode: only retry forms that cannot grow big
                raw = latex2sympy(
                    s, normalization_config=norm, conversion_config=conv
                )  # matrix algebra needs evaluation
        except TooLarge:
            raise
        except RecursionError as e:
            raise TooLarge("expression nests too deeply") from e
        except Exception as e:
            raise ParseError(
                f"cannot parse {s[:80]!r}: {str(e).splitlines()[0][:120] if str(e) else type(e).__name__}"
            ) from e
        if isinstance(raw, sympy.Basic) and not isinstance(raw, sympy.MatrixBase):
            _ATOM_CACHE.put(s, raw)  # immutable: safe to share; a matrix may be mutable, so it is not kept
    if isinstance(raw, (list, tuple)):
        raw = sympy.FiniteSet(*raw)
    if isinstance(raw, sympy.MatrixBase):
        return Node("expr", value=raw, text=s, meta={"matrix": True})
    if isinstance(raw, sympy.FiniteSet) and not isinstance(raw, sympy.Interval):
        items = [Node("expr", value=_evaluate(a, opts), text=str(a)) for a in raw.args]
        return Node("set", items=items, text=s, meta={"from_pm": True})
    if not isinstance(raw, sympy.Basic):
        raise ParseError(f"unsupported value {type(raw).__name__}")
    try:
        return Node("expr", value=_evaluate(raw, opts), text=s)
    except _Huge as h:
        return Node("huge", value=h.expr, text=s, meta={"why": str(h)})


def _evaluate(raw, opts: Options):
    sympy = sympy_module()

    if isinstance(raw, sympy.Basic) and not isinstance(raw, (sympy.Set, sympy.logic.boolalg.Boolean)):
        mag = log10_mag(raw, opts.max_digits)
        if mag > opts.max_digits:
            raise _Huge(raw, mag)
    with sympy.evaluate(True):
        try:
            v = raw.doit() if hasattr(raw, "doit") else raw
        except Exception:
            v = raw
    i = sympy.Symbol("i")
    if isinstance(v, sympy.Basic) and i in v.free_symbols:
        v = v.subs(i, sympy.I)
    return v


class _Huge(TooLarge):
    def __init__(self, expr, mag):
        super().__init__(
            f"value has about 10^{mag:.3g} digits"
            if mag != float("inf")
            else "value is a power tower beyond any budget"
        )
        self.expr = expr
