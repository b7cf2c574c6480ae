"""In-process verification of one (gold, prediction) pair. No timeouts here: see workers.py for isolation."""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections import OrderedDict
from typing import Any

from .compare import equal
from .extract import extract, extract_choice
from .guards import NeedsSympy, TooLarge, sympy_free, sympy_free_active
from .normalize import normalize, text_key
from .parse import Node, Options, ParseError, fast_number, parse
from .verdict import Verdict

_CHOICE_GOLD = re.compile(r"^\(?([A-J])\)?$")
_ALPHA_KEY = re.compile(r"^[a-z][a-z .,'\-]*$")
_TEXT_WRAP = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{")  # '\mathrm{E}' is the letter E
_LETTER_GOLD = re.compile(r"\\?[A-Za-z]+(?:_\{?\w+\}?)?|\\text\{\(?[A-Za-z]\)?\}")


def make_options(**opts: Any) -> Options:
    fields = {f.name for f in dataclasses.fields(Options)}
    unknown = set(opts) - fields
    if unknown:
        raise TypeError(f"unknown verify option(s) {sorted(unknown)}; known: {sorted(fields)}")
    return Options(**opts)


def verify_local(gold: str, prediction: Any, opts: Options | None = None) -> Verdict:
    opts = opts or Options()
    t0 = time.perf_counter()
    v = _verify(
        gold, prediction if isinstance(prediction, str) else ("" if prediction is None else str(prediction)), opts
    )
    v.elapsed_ms = round((time.perf_counter() - t0) * 1000, 3)
    return v


def _verify(gold: str, prediction: str, opts: Options) -> Verdict:
    pre = _prepare(gold, prediction, opts)
    if isinstance(pre, Verdict):
        return pre
    return _decide(pre, opts)


def _prepare(gold: str, prediction: str, opts: Options):
    """Everything before sympy (extraction, normalization, string/text/choice matches): regex-only and cheap, so
    it also runs in the caller's process. Returns a final Verdict, or the state _decide needs."""
    if not isinstance(gold, str) or not gold.strip():
        return Verdict(None, "parse_error", detail="gold answer is empty")
    gx = extract(gold, role="gold")
    if not gx.found:
        return Verdict(None, "parse_error", detail="no answer found in gold")
    g_ans = gx.answer.strip()
    g_key = text_key(g_ans)
    m = _CHOICE_GOLD.match(g_key.upper()) if len(g_key) <= 3 else None
    if m and _TEXT_WRAP.sub("", g_ans).strip("$() ").strip("{}() ").isupper():
        cx = extract_choice(prediction)
        if cx.found:
            return Verdict(cx.answer.upper() == m.group(1), "ok", g_ans, cx.answer, "choice", cx.source, cx.span)
    px = extract(
        prediction,
        role="prediction",
        last_number=opts.last_number,
        short_chars=opts.short_chars,
        allow_letter=bool(_LETTER_GOLD.fullmatch(g_ans.strip("$ "))),
    )
    if not px.found:
        detail = "final \\boxed{ is unterminated" if px.source == "truncated_box" else "no answer found in prediction"
        return Verdict(False, "no_answer", g_ans, None, "extract", px.source, None, detail)
    p_ans = px.answer.strip()
    base = dict(extracted_gold=g_ans, extracted_pred=p_ans, pred_source=px.source, pred_span=px.span)
    try:
        gn, gf = normalize(g_ans)
        pn, pf = normalize(p_ans)
    except Exception as e:  # normalization is regex-only; anything here is a bug, reported not raised
        return Verdict(None, "error", method="normalize", detail=repr(e)[:200], **base)
    if gn == pn and gn:
        return Verdict(True, "ok", method="string", **base)
    p_key = text_key(p_ans)
    if g_key and g_key == p_key and _ALPHA_KEY.match(g_key) and not re.search(r"\d", g_key):
        return Verdict(True, "ok", method="text", **base)
    if _is_prose(p_ans) and fast_number(gn) is not None:
        # 'Sum the values of f(n) from n = 1 ...' against a number: a sentence is not a value (no sympy needed)
        return Verdict(False, "ok", method="prose_vs_number", **base)
    return g_ans, p_ans, base, (gn, gf), (pn, pf)


def _is_prose(ans: str) -> bool:
    from .extract import _looks_like_answer

    plain = re.sub(r"\\[a-zA-Z]+|\$[^$]*\$|\\\(.*?\\\)", " ", ans)
    return len(re.findall(r"[A-Za-z]{3,}", plain)) >= 3 and not _looks_like_answer(ans)


def _decide(pre, opts: Options) -> Verdict:
    g_ans, p_ans, base, _, _ = pre
    try:
        g = _parse_gold(g_ans, opts)
    except TooLarge as e:
        return Verdict(None, "too_large", method="parse_gold", detail=str(e), **base)
    except (ParseError, RecursionError, ValueError, TypeError, ZeroDivisionError) as e:
        return Verdict(None, "parse_error", method="parse_gold", detail=str(e)[:200], **base)
    try:
        p = parse(p_ans, opts)
    except TooLarge as e:
        return Verdict(None, "too_large", method="parse_pred", detail=str(e), **base)
    except (ParseError, RecursionError, ValueError, TypeError, ZeroDivisionError) as e:
        return Verdict(False, "parse_error", method="parse_pred", detail=str(e)[:200], **base)
    try:
        ok, method = equal(g, p, opts)
        if not ok and (g.meta.get("percent") != p.meta.get("percent")):
            ok2, m2 = _percent_retry(g, p, opts)
            if ok2:
                ok, method = True, m2
    except TooLarge as e:
        return Verdict(None, "too_large", method="compare", detail=str(e), **base)
    except RecursionError:
        return Verdict(None, "too_large", method="compare", detail="recursion limit", **base)
    except Exception as e:  # sympy internals: never a match
        return Verdict(None, "error", method="compare", detail=f"{type(e).__name__}: {str(e)[:160]}", **base)
    return Verdict(bool(ok), "ok", method=method, **base)


_GOLD_CACHE: "OrderedDict[tuple, object]" = OrderedDict()
_GOLD_NEEDS_SYMPY: "OrderedDict[tuple, None]" = OrderedDict()  # golds the caller's sympy-free path cannot parse
_GOLD_LOCK = threading.Lock()  # the caller's process may verify from several threads (averify, rewards)
GOLD_CACHE_SIZE = 4096


def _parse_gold(g_ans: str, opts: Options) -> Node:
    """Parse a gold answer once per process: RL and eval batches check many predictions against one gold.

    Failures are cached too (re-raised each time). Callers must not mutate the returned Node (equal() does not)."""
    key = (g_ans, dataclasses.astuple(opts))
    with _GOLD_LOCK:
        hit = _GOLD_CACHE.get(key)
        if hit is not None:
            _GOLD_CACHE.move_to_end(key)
        elif key in _GOLD_NEEDS_SYMPY and sympy_free_active():
            raise NeedsSympy
    if hit is None:
        try:
            hit = parse(g_ans, opts)
        except (TooLarge, ParseError, RecursionError, ValueError, TypeError, ZeroDivisionError) as e:
            hit = e
        except NeedsSympy:
            with _GOLD_LOCK:
                _GOLD_NEEDS_SYMPY[key] = None
                if len(_GOLD_NEEDS_SYMPY) > GOLD_CACHE_SIZE:
                    _GOLD_NEEDS_SYMPY.popitem(last=False)
            raise
        with _GOLD_LOCK:
            _GOLD_CACHE[key] = hit
            if len(_GOLD_CACHE) > GOLD_CACHE_SIZE:
                _GOLD_CACHE.popitem(last=False)
    if isinstance(hit, BaseException):
        raise hit
    return hit  # type: ignore[return-value]


def _percent_retry(g: Node, p: Node, opts: Options):
    """'28%' also matches 0.28: retry with the percent side divided by 100."""
    from fractions import Fraction

    side = g if g.meta.get("percent") else p
    if side.kind != "num":
        return False, ""
    scaled = Node("num", side.value / Fraction(100), meta={"decimals": None, "sig": 0})
    a, b = (scaled, p) if side is g else (g, scaled)
    ok, m = equal(a, b, opts)
    return ok, f"{m}+percent"


def fast_verify(gold: str, prediction: str) -> Verdict | None:
    """Decide in the caller's process what needs no sympy: plain numbers (Fraction/Decimal), no-answer, choice
    letters, string/text matches. None = needs a worker (sympy, so isolation and a deadline)."""
    return fast_verify_keyed(gold, prediction)[0]


def fast_verify_keyed(gold: str, prediction: str) -> tuple[Verdict | None, tuple | None]:
    """fast_verify, plus for a pair that needs a worker the key its verdict depends on ((gold answer, predicted
    answer)) and the prediction's own extraction fields: a batch sends one pair per key to the workers."""
    t0 = time.perf_counter()
    pre = _prepare(gold, prediction, Options())
    v = _fast_decide(pre, t0)
    if v is None:
        g_ans, p_ans, base, _, _ = pre
        return None, ((g_ans, p_ans), base)
    return v, None


def _fast_decide(pre, t0: float) -> Verdict | None:
    from .parse import fast_number

    opts = Options()
    if not isinstance(pre, Verdict):
        g_ans, p_ans, base, (gn, gf), (pn, pf) = pre
        if len(gn) > 400 or len(pn) > 400:
            return None
        v = None
        if gf == pf:
            m = _VAR_IS_NUMBER.fullmatch(pn)
            if m:  # 'n = 5' against a number: the value given (what the parser's equation/approx path compares)
                pn = m.group(1)
            try:
                g, p = fast_number(gn), fast_number(pn)
            except Exception:
                g = p = None
            if g is not None and pn == "\\emptyset" and not m:
                return _timed(Verdict(False, "ok", method="fast_number_vs_empty_set", **base), t0)
            if g is not None and p is not None:
                from .compare import scalar_equal

                ok, method = scalar_equal(g, p, opts)
                v = Verdict(ok, "ok", method="fast_" + method, **base)
        if v is None:
            try:  # the full parse + compare where it needs no sympy (tuples, lists, text, 'x = 5', bases)
                with sympy_free():
                    v = _decide(pre, opts)
            except NeedsSympy:
                return None
        pre = v
    return _timed(pre, t0)


# 'x = 12', 'n = -0.5', 'x \approx 600': one variable given a plain number (the parser compares that number)
_VAR_IS_NUMBER = re.compile(r"[A-Za-z]\s*(?:=|\\approx)\s*(-?\d+(?:\.\d+)?)")


def _timed(v: Verdict, t0: float) -> Verdict:
    v.elapsed_ms = round((time.perf_counter() - t0) * 1000, 3)
    return v
