"""Evaluation items from cotforge's bundled benchmarks (or a user file): problem, gold answer, or code tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.errors import UserError


@dataclass
class Item:
    id: str
    problem: str
    domain: str  # math | code
    answer: str | None = None
    tests: dict[str, Any] | None = field(default=None)  # sandboxes' normalized tests


def _code_tests(name: str, row: dict) -> dict[str, Any]:
    if name == "humaneval":
        return {"kind": "humaneval", "check": row["tests"], "entry_point": row["entry_point"]}
    return {"kind": "assert", "asserts": list(row["tests"]), "setup": row.get("test_setup_code") or None}


def _code_prompt(name: str, row: dict) -> str:
    if name == "humaneval":
        return (
            "Complete the following Python function. Answer with the whole function in one ```python code "
            f"block.\n\n```python\n{row['prompt']}```"
        )
    first = row["tests"][0] if row.get("tests") else ""
    return f"{row['prompt']}\nYour code should pass this test:\n{first}\nAnswer with one ```python code block."


def load_benchmark(name_or_path: str, limit: int | None = None) -> list[Item]:
    """Items of a bundled benchmark (`cotforge decontaminate --list` names them) or a .jsonl with problem/answer."""
    from curation import benchmarks as bundled

    p = Path(name_or_path)
    if p.suffix in (".jsonl", ".json") or p.exists():
        if not p.exists():
            raise UserError(f"benchmark file not found: {p}")
        rows = [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
        name, domain = p.stem, "math"
    else:
        name = bundled.ALIASES.get(name_or_path, name_or_path)
        if name not in bundled.REGISTRY:
            raise UserError(
                f"unknown benchmark {name_or_path!r}: use one of {', '.join(bundled.REGISTRY)} or a "
                ".jsonl file with problem/answer (math) fields"
            )
        spec = bundled.REGISTRY[name]
        domain = spec.domain
        path = bundled.data_dir() / spec.file
        if spec.file.endswith(".gz"):
            import gzip

            text = gzip.open(path, "rt").read()
        else:
            text = path.read_text()
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    if domain not in ("math", "code"):
        raise UserError(f"benchmark {name_or_path!r}: domain {domain!r} has no scorer in quantify (math and code do)")
    items = []
    for i, r in enumerate(rows[: limit or None]):
        rid = str(r.get("id", i))
        if domain == "code" or "tests" in r:
            items.append(Item(rid, _code_prompt(name, r), "code", tests=_code_tests(name, r)))
        else:
            if "problem" not in r or "answer" not in r:
                raise UserError(f"{name_or_path}: row {i} needs `problem` and `answer` (found {sorted(r)})")
            items.append(Item(rid, r["problem"], "math", answer=str(r["answer"])))
    return items
