"""Named benchmarks bundled in `manifests/data/benchmarks/` (see SOURCES.md there), plus user files / HF datasets.

`load(spec)` returns `BenchItem`s; a spec is a bundled name, a path to a file, or a `BenchmarkSpec`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..config.decontaminate import BenchmarkSpec
from ..errors import UserError


def data_dir() -> Path:
    env = os.environ.get("COTFORGE_BENCHMARKS_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "manifests" / "data" / "benchmarks"


@dataclass(frozen=True)
class Bundled:
    file: str
    field: str = "problem"
    domain: str = "math"
    description: str = ""
    tests: str | None = None


REGISTRY: dict[str, Bundled] = {
    "math500": Bundled("math500.jsonl", description="MATH-500 (PRM800K test split)"),
    "aime24": Bundled("aime24.jsonl", description="AIME 2024 I+II"),
    "aime25": Bundled("aime25.jsonl", description="AIME 2025 I+II"),
    "amc23": Bundled("amc23.jsonl", description="AMC 12A/12B 2023"),
    "gsm8k_test": Bundled("gsm8k_test.jsonl", description="GSM8K test"),
    "minerva_math": Bundled("minerva_math.jsonl", description="Minerva math (OCW)"),
    "olympiadbench": Bundled("olympiadbench.jsonl", description="OlympiadBench OE_TO_maths_en_COMP"),
    "hmmt_feb_2025": Bundled("hmmt_feb_2025.jsonl", description="HMMT February 2025"),
    "gpqa_diamond": Bundled(
        "gpqa_diamond.jsonl.gz",
        field="question_only",
        domain="science",
        description="GPQA-Diamond (kept gzipped, as its authors ask)",
    ),
    "humaneval": Bundled("humaneval.jsonl", field="prompt", domain="code", description="HumanEval"),
    "mbpp_test": Bundled(
        "mbpp_test.jsonl", field="prompt", domain="code", description="MBPP test (11-510)", tests="tests"
    ),
}
ALIASES = {
    "math-500": "math500",
    "aime2024": "aime24",
    "aime2025": "aime25",
    "amc2023": "amc23",
    "gsm8k": "gsm8k_test",
    "minerva": "minerva_math",
    "hmmt": "hmmt_feb_2025",
    "gpqa": "gpqa_diamond",
    "mbpp": "mbpp_test",
}


@dataclass(frozen=True)
class BenchItem:
    benchmark: str
    item_id: str
    text: str
    domain: str
    tests: object = None  # code benchmarks: the item's tests (any JSON shape; see text/testcases.py)


def _read_rows(path: Path, hf: str | None = None, hf_config: str | None = None, split: str = "test") -> list[dict]:
    import datasets

    datasets.disable_progress_bars()
    try:
        if hf is not None:
            ds = datasets.load_dataset(hf, hf_config, split=split)
        else:
            suffixes = [s for s in path.suffixes if s != ".gz"]
            kind = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}.get(
                suffixes[-1] if suffixes else "", None
            )
            if kind is None:
                raise UserError(f"benchmark file {path}: unknown format (use .jsonl, .json, .parquet or .csv)")
            ds = datasets.load_dataset(kind, data_files=str(path), split="train")
    except UserError:
        raise
    except Exception as e:
        where = hf if hf is not None else path
        raise UserError(f"cannot read benchmark {where}: {e}") from e
    return ds.to_list()


def _items(
    name: str, rows: list[dict], field: str, id_field: str | None, domain: str, where: str, tests: str | None = None
) -> list[BenchItem]:
    if rows and field not in rows[0]:
        raise UserError(
            f"benchmark {name!r} ({where}): no field {field!r}; fields are: {', '.join(rows[0])}. "
            "Set `field:` to the column holding the problem text"
        )
    out = []
    for i, r in enumerate(rows):
        text = r.get(field)
        if not isinstance(text, str) or not text.strip():
            continue
        item_id = r.get(id_field) if id_field else None
        out.append(
            BenchItem(name, str(item_id if item_id is not None else i), text, domain, r.get(tests) if tests else None)
        )
    return out


def load(spec: str | BenchmarkSpec, base_dir: Path | None = None) -> list[BenchItem]:
    """Items of one benchmark: a bundled name, a file path, or a BenchmarkSpec."""
    if isinstance(spec, BenchmarkSpec):
        path = None
        if spec.path is not None:
            path = spec.path if spec.path.is_absolute() else (base_dir or Path.cwd()) / spec.path
            if not path.exists():
                raise UserError(f"benchmark {spec.name!r}: file not found: {path}")
        rows = _read_rows(path, spec.hf, spec.hf_config, spec.split)
        return _items(spec.name, rows, spec.field, spec.id_field, spec.domain, str(path or spec.hf), spec.tests_field)
    key = ALIASES.get(spec.lower(), spec.lower())
    if key in REGISTRY:
        b = REGISTRY[key]
        path = data_dir() / b.file
        if not path.exists():
            raise UserError(f"bundled benchmark {key!r}: {path} is missing (set COTFORGE_BENCHMARKS_DIR?)")
        return _items(key, _read_rows(path), b.field, "id", b.domain, str(path), b.tests)
    p = Path(spec)
    if not p.is_absolute() and base_dir is not None and not p.exists():
        p = base_dir / p
    if p.exists():
        return _items(p.name.split(".")[0], _read_rows(p), "problem", "id", "math", str(p))
    raise UserError(
        f"unknown benchmark {spec!r}: not a bundled name ({', '.join(REGISTRY)}) and no such file. "
        "For your own file use {name: ..., path: ..., field: ...}"
    )


def load_all(specs: list[str | BenchmarkSpec], base_dir: Path | None = None) -> list[BenchItem]:
    items: list[BenchItem] = []
    for s in specs:
        items.extend(load(s, base_dir))
    return items
