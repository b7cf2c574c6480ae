"""Stream `(location, row | RawError)` from JSONL, Parquet, CSV and `datasets` sources without loading them whole."""

from __future__ import annotations

import gzip
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..config.base import resolve_env_ref
from ..config.collect import SourceConfig
from ..errors import UserError


@dataclass
class RawError:
    """A row that could not even be decoded; kept so it lands in `removed`, not on the floor."""

    reason: str
    detail: str
    raw: str


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def read_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any] | RawError]]:
    with _open_binary(path) as f:
        for lineno, raw in enumerate(f, start=1):
            loc = f"{path}:{lineno}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield loc, RawError("undecodable", f"not UTF-8: {e}", raw[:500].decode("utf-8", "replace"))
                continue
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as e:
                yield loc, RawError("malformed_json", f"{e.msg} at column {e.colno}", text[:500])
                continue
            if not isinstance(row, dict):
                yield loc, RawError("malformed_json", f"expected a JSON object, got {type(row).__name__}", text[:500])
                continue
            yield loc, row


def read_parquet(path: Path, batch_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            yield f"{path}#row={n}", row
            n += 1


def read_csv(path: Path, batch_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 22))
    n = 0
    for batch in reader:
        for row in batch.to_pylist():
            yield f"{path}:{n + 2}", row  # line n+2: header is line 1
            n += 1


def read_hf(source: SourceConfig, base_dir: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    import datasets

    spec = source.hf
    assert spec is not None
    local = (base_dir / spec.path) if not Path(spec.path).is_absolute() else Path(spec.path)
    if local.is_dir() and ((local / "state.json").exists() or (local / "dataset_dict.json").exists()):
        ds = datasets.load_from_disk(str(local))
        if isinstance(ds, datasets.DatasetDict):
            if spec.split not in ds:
                raise UserError(f"source {source.name!r}: split {spec.split!r} not in {local} (has: {list(ds)})")
            ds = ds[spec.split]
        rows: Any = ds
    else:
        path = str(local) if local.exists() else spec.path
        data_files = spec.data_files
        if data_files is not None:
            files = [data_files] if isinstance(data_files, str) else list(data_files)
            data_files = [
                str(base_dir / f) if not Path(f).is_absolute() and (base_dir / f).exists() else f for f in files
            ]
        try:
            rows = datasets.load_dataset(
                path,
                spec.name,
                split=spec.split,
                data_files=data_files,
                revision=spec.revision,
                token=resolve_env_ref(spec.token),
                streaming=True,
            )
        except Exception as e:  # datasets raises many types; the user needs the source name and the cause
            raise UserError(
                f"source {source.name!r}: datasets.load_dataset({path!r}, {spec.name!r}, "
                f"split={spec.split!r}) failed: {type(e).__name__}: {e}"
            ) from e
    for n, row in enumerate(rows):
        yield f"{spec.path}[{spec.split}]#row={n}", row


def iter_source(
    source: SourceConfig, base_dir: Path, batch_size: int
) -> Iterator[tuple[str, dict[str, Any] | RawError]]:
    path = (base_dir / source.path) if source.path is not None and not source.path.is_absolute() else source.path
    if source.kind == "jsonl":
        yield from read_jsonl(path)
    elif source.kind == "parquet":
        yield from read_parquet(path, batch_size)
    elif source.kind == "csv":
        yield from read_csv(path, batch_size)
    elif source.kind == "memory":
        from .memory import read_memory

        yield from read_memory(source, batch_size)
    else:
        yield from read_hf(source, base_dir)
