"""Reading a field of a raw source row by dotted path: how collect maps dataset rows and replay maps trace rows."""

from __future__ import annotations

from typing import Any


def get_field(row: dict[str, Any], path: str | None) -> Any:
    """Dotted-path lookup (`info.answer`) so nested dataset rows map without preprocessing."""
    if path is None:
        return None
    if "." not in path and isinstance(row, dict):  # the common case, once per field per row at collect
        return row.get(path)
    value: Any = row
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
