"""Turn the many ways datasets store code tests into the one JSON the sandboxes run.

Formats (the `tests` column): {"kind": "assert", "asserts": [...], "setup": str|null},
{"kind": "humaneval", "check": str, "entry_point": str}, {"kind": "stdio", "cases": [{"input", "output"}]}.
"""

from __future__ import annotations

import json
from typing import Any


class TestsFormatError(ValueError):
    pass


def _from_value(value: Any, fmt: str, setup: str | None, entry_point: str | None) -> dict[str, Any]:
    if isinstance(value, str) and fmt in ("auto", "json", "assert_list", "stdio"):
        stripped = value.strip()
        if stripped[:1] in "[{":
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as e:
                raise TestsFormatError(f"tests look like JSON but do not parse: {e.msg} at column {e.colno}") from e
        elif fmt in ("json", "assert_list", "stdio"):
            raise TestsFormatError(f"tests_format {fmt!r} expects JSON, got plain text")
    if fmt == "auto":
        if isinstance(value, dict) and "kind" in value:
            fmt = "json"
        elif isinstance(value, list) and all(isinstance(x, str) for x in value):
            fmt = "assert_list"
        elif isinstance(value, list) and all(isinstance(x, dict) and "input" in x and "output" in x for x in value):
            fmt = "stdio"
        elif isinstance(value, dict) and "inputs" in value and "outputs" in value:
            fmt = "stdio"
        elif isinstance(value, str) and "def check(" in value:
            fmt = "humaneval"
        else:
            raise TestsFormatError(
                "cannot tell the tests format (expected a list of assert strings, a list of {input, output}, "
                "a HumanEval check function, or JSON with 'kind'); set `tests_format:` on the source"
            )
    if fmt == "json":
        if not isinstance(value, dict) or value.get("kind") not in ("assert", "humaneval", "stdio"):
            raise TestsFormatError("tests JSON must be an object with kind assert|humaneval|stdio")
        return value
    if fmt == "assert_list":
        if not isinstance(value, list) or not value or not all(isinstance(x, str) and x.strip() for x in value):
            raise TestsFormatError("assert_list tests must be a non-empty list of assert statements")
        return {"kind": "assert", "asserts": value, "setup": setup or None}
    if fmt == "humaneval":
        if not isinstance(value, str) or "def check(" not in value or not entry_point:
            raise TestsFormatError("humaneval tests need a `def check(candidate)` string and an entry point")
        return {"kind": "humaneval", "check": value, "entry_point": entry_point}
    if fmt == "stdio":
        if isinstance(value, dict):
            value = [{"input": i, "output": o} for i, o in zip(value["inputs"], value["outputs"], strict=True)]
        if not isinstance(value, list) or not value:
            raise TestsFormatError("stdio tests must be a non-empty list of {input, output}")
        return {"kind": "stdio", "cases": [{"input": str(c["input"]), "output": str(c["output"])} for c in value]}
    raise TestsFormatError(f"unknown tests_format {fmt!r}")


def normalize_tests(value: Any, fmt: str = "auto", setup: str | None = None, entry_point: str | None = None) -> str:
    """JSON string of the normalized tests; raises TestsFormatError with a message a user can act on."""
    return json.dumps(_from_value(value, fmt, setup, entry_point), ensure_ascii=False)
