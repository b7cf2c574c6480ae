"""Input/output examples of a code task, as comparable keys: the same examples mean the same task.

Renaming the function, rewording the spec or translating it leaves the examples alone ("assert remove_Occ("hello",
"l") == "heo"" vs "assert strip_chars("hello","l") == "heo""); a task with the same signature but another job
changes at least one expected output for the same input. So each example becomes (arguments, expected), with the
function name dropped and spacing/quotes normalized, read from asserts, doctests (">>> f(x)" then its output line)
and prose ("f(x) == y", "f(x) returns y", "f(x) -> y"), and from a query's `tests` column (JSON, any shape).
"""

from __future__ import annotations

import json
import re

_ASSERT = re.compile(r"assert\s+(?:\w+\s*\(\s*)?([A-Za-z_]\w*)\s*\((.*)\)\s*\)?\s*==\s*(.+?)\s*(?:,\s*['\"].*)?$")
_DOCTEST = re.compile(r">>>\s*([A-Za-z_]\w*)\s*\((.*)\)\s*\n\s*([^\n>][^\n]*)")
_PROSE = re.compile(
    r"\b([A-Za-z_]\w*)\s*\(([^()\n]*(?:\([^()\n]*\)[^()\n]*)*)\)\s*(?:==|returns|should return|->|→|gives)"
    r"\s*(\[[^\]\n]*\]|\([^)\n]*\)|'[^'\n]*'|\"[^\"\n]*\"|[^\s,;]+)"
)


def _norm(s: str) -> str:
    s = s.strip().rstrip(".;")
    s = re.sub(r"\s+", "", s).replace("'", '"')
    while s.startswith("(") and s.endswith(")") and "," not in s[1:-1] and s.count("(") == 1:
        s = s[1:-1]
    return s


def _strings(value) -> list[str]:
    if isinstance(value, str):
        try:
            return _strings(json.loads(value))
        except (json.JSONDecodeError, ValueError):
            return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def examples(text: str, tests=None) -> dict[str, str]:
    """{normalized arguments: normalized expected output} of every example in `text` and `tests`."""
    out: dict[str, str] = {}
    parts = [text] + (_strings(tests) if tests else [])
    for part in parts:
        for line in part.splitlines():
            m = _ASSERT.search(line)
            if m and m.group(1) not in ("isinstance", "len", "set", "sorted", "abs", "math"):
                out.setdefault(_norm(m.group(2)), _norm(m.group(3)))
        for m in _DOCTEST.finditer(part):
            out.setdefault(_norm(m.group(2)), _norm(m.group(3)))
        for m in _PROSE.finditer(part):
            if m.group(1) in ("assert", "print"):
                continue
            out.setdefault(_norm(m.group(2)), _norm(m.group(3)))
    return out


def specific(args: str) -> bool:
    """Arguments unusual enough that two tasks sharing them (with the same output) is no coincidence: more than
    a single number ("f(5) == True" is shared by many unrelated tasks)."""
    return not re.fullmatch(r"-?\d+(?:\.\d+)?", args)


def compare(item: dict[str, str], query: dict[str, str]) -> tuple[int, int, int]:
    """(shared examples, shared examples with specific arguments, conflicts: same arguments, other output)."""
    shared = spec = conflict = 0
    for a, e in item.items():
        if a in query:
            if query[a] == e:
                shared += 1
                spec += specific(a)
            else:
                conflict += 1
    return shared, spec, conflict
