"""Read and write the .jsonl[.gz] / .parquet files the standalone CLIs (dedup, decontaminate, segment) take."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from .errors import UserError


def file_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".parquet"):
        return "parquet"
    raise UserError(f"{path}: unknown format; use .jsonl (or .jsonl.gz) or .parquet")


def read_table(path: Path):
    """A polars DataFrame of the whole file; every failure is a UserError naming the file."""
    import polars as pl

    if not path.exists():
        raise UserError(f"{path}: input file not found")
    fmt = file_format(path)
    try:
        if fmt == "parquet":
            return pl.read_parquet(path)
        if path.name.endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as f:
                return pl.read_ndjson(f.read(), infer_schema_length=None)
        return pl.read_ndjson(path, infer_schema_length=None)
    except Exception as e:
        raise UserError(f"{path}: cannot read ({e}); expected one JSON object per line or a parquet file") from e


def write_table(data: Any, path: Path) -> None:
    """Write a polars DataFrame or Arrow table atomically (temp name, then rename)."""
    import polars as pl

    fmt = file_format(path)
    if path.name.endswith(".gz"):
        raise UserError(f"{path}: write .jsonl or .parquet (gzip output is not supported)")
    df = data if isinstance(data, pl.DataFrame) else pl.from_arrow(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        if fmt == "parquet":
            df.write_parquet(tmp, compression="zstd")
        else:
            df.write_ndjson(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
