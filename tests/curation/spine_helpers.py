"""Small builders for spine tests: write source files and manifests into a temp dir."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return path


def write_manifest(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def math_rows(n: int, start: int = 0) -> list[dict]:
    return [
        {"id": f"m{i}", "problem": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)} for i in range(start, start + n)
    ]
