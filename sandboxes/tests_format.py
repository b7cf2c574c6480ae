"""The normalized tests JSON (the `tests` column of the pipeline's queries table).

    {"kind": "stdio", "cases": [{"input": str, "output": str}, ...]}
    {"kind": "assert", "asserts": [str, ...], "setup": str | null}
    {"kind": "humaneval", "check": str, "entry_point": str}

Optional keys on every kind: "time_s" (per test), "mem_mb", "stack_mb" (main-thread stack, default 8). Extra keys are rejected so typos surface.
"""

from __future__ import annotations

import json
from typing import Any

_KEYS = {
    "stdio": ({"kind", "cases"}, {"time_s", "mem_mb", "stack_mb"}),
    "assert": ({"kind", "asserts"}, {"setup", "time_s", "mem_mb", "stack_mb"}),
    "humaneval": ({"kind", "check", "entry_point"}, {"time_s", "mem_mb", "stack_mb"}),
}


class TestsError(ValueError):
    """Tests that do not follow the normalized format; the message says what and how to fix it."""


def parse_tests(tests: Any) -> dict[str, Any]:
    if isinstance(tests, (str, bytes)):
        try:
            tests = json.loads(tests)
        except json.JSONDecodeError as e:
            raise TestsError(f"tests are not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    if not isinstance(tests, dict):
        raise TestsError(f"tests must be a JSON object with a 'kind', got {type(tests).__name__}")
    kind = tests.get("kind")
    if kind not in _KEYS:
        raise TestsError(f"tests 'kind' must be one of stdio|assert|humaneval, got {kind!r}")
    required, optional = _KEYS[kind]
    missing = required - tests.keys()
    extra = tests.keys() - required - optional
    if missing:
        raise TestsError(f"{kind} tests lack key(s) {sorted(missing)}")
    if extra:
        raise TestsError(f"{kind} tests have unknown key(s) {sorted(extra)}; allowed: {sorted(required | optional)}")
    for key in ("time_s", "mem_mb", "stack_mb"):
        v = tests.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0):
            raise TestsError(f"{kind} tests '{key}' must be a positive number, got {v!r}")
    if kind == "stdio":
        cases = tests["cases"]
        if not isinstance(cases, list) or not cases:
            raise TestsError("stdio tests need a non-empty 'cases' list")
        for i, c in enumerate(cases):
            if not isinstance(c, dict) or not isinstance(c.get("input"), str) or not isinstance(c.get("output"), str):
                raise TestsError(f"stdio case {i} must be {{'input': str, 'output': str}}")
    elif kind == "assert":
        a = tests["asserts"]
        if not isinstance(a, list) or not a or not all(isinstance(x, str) and x.strip() for x in a):
            raise TestsError("assert tests need a non-empty 'asserts' list of statements")
        if tests.get("setup") is not None and not isinstance(tests["setup"], str):
            raise TestsError("assert tests 'setup' must be a string or null")
    else:
        if not isinstance(tests["check"], str) or "def check" not in tests["check"]:
            raise TestsError("humaneval tests 'check' must define `check(candidate)`")
        if not isinstance(tests["entry_point"], str) or not tests["entry_point"].isidentifier():
            raise TestsError("humaneval tests 'entry_point' must be a function name")
    return tests
