"""Token-wise stdout comparison for stdin/stdout tests.

Rules: lines compared in order after dropping blank lines and trailing whitespace (missing or extra non-blank
lines are wrong; no `zip` truncation); tokens split on whitespace; an expected integer token needs an integer of
equal value; an expected float token (has '.', an exponent, or is inf/nan) accepts a number within relative OR
absolute tolerance; NaN never equals anything; any other token must match exactly.
"""

from __future__ import annotations

import math
import re

_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\Z|[+-]?(inf|infinity|nan)\Z", re.IGNORECASE)

REL_TOL = 1e-6
ABS_TOL = 1e-6


def _lines(text: str) -> list[list[str]]:
    return [ln.split() for ln in text.splitlines() if ln.strip()]


def tokens_equal(expected: str, got: str, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL) -> bool:
    if _INT.match(expected):
        return bool(_INT.match(got)) and int(expected) == int(got)
    if _FLOAT.match(expected):
        if not _FLOAT.match(got):
            return False
        e, g = float(expected), float(got)
        if math.isnan(e) or math.isnan(g):
            return False
        if math.isinf(e) or math.isinf(g):
            return e == g
        return math.isclose(e, g, rel_tol=rel_tol, abs_tol=abs_tol)
    return expected == got


def compare_output(
    expected: str | bytes, got: str | bytes, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL
) -> tuple[bool, str]:
    """(equal, reason). The reason names the first differing line/token, for logs and test reports."""
    if isinstance(expected, bytes):
        expected = expected.decode("utf-8", "replace")
    if isinstance(got, bytes):
        got = got.decode("utf-8", "replace")
    exp, out = _lines(expected), _lines(got)
    for i, (el, gl) in enumerate(zip(exp, out)):
        if len(el) != len(gl):
            return False, f"line {i + 1}: expected {len(el)} tokens, got {len(gl)}"
        for j, (et, gt) in enumerate(zip(el, gl)):
            if not tokens_equal(et, gt, rel_tol, abs_tol):
                return False, f"line {i + 1} token {j + 1}: expected {et[:40]!r}, got {gt[:40]!r}"
    if len(exp) != len(out):
        return False, f"expected {len(exp)} non-blank lines, got {len(out)}"
    return True, ""
