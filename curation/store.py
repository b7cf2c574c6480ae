"""The run directory: parquet parts per stage, atomic writes, the lock file and the DuckDB catalog.

Layout (ARCHITECTURE.md §3)::

    runs/<name>/lock.json                 resolved manifest (secrets as references), fingerprints, versions, stages
    runs/<name>/catalog.duckdb            one view per table (queries, traces, pairs, removed, <stage>_<table>)
    runs/<name>/stages/<stage>/<table>/part-*.parquet
    runs/<name>/cache/<stage>/            caches that survive re-runs (request cache, embeddings)
    runs/<name>/report/

A part is written to a hidden temporary name and renamed, so a reader never sees half a file; readers only
glob `part-*.parquet`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

KEYED = "part-k-"
SEQUENTIAL = "part-s-"


def file_fingerprint(path: Path) -> dict[str, Any]:
    """Size + mtime + a hash of the first and last MiB: cheap on 10 GB files, catches edits in practice."""
    st = path.stat()
    h = hashlib.blake2b(digest_size=8)
    with open(path, "rb") as f:
        h.update(f.read(1 << 20))
        if st.st_size > (2 << 20):
            f.seek(-(1 << 20), 2)
            h.update(f.read(1 << 20))
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_tail_hash": h.hexdigest()}


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, (json.dumps(value, indent=2, sort_keys=False, default=str) + "\n").encode())


def atomic_write_parquet(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class RunStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    # --- paths -------------------------------------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.root / "lock.json"

    @property
    def catalog_path(self) -> Path:
        return self.root / "catalog.duckdb"

    def stage_dir(self, stage: str) -> Path:
        return self.root / "stages" / stage

    def table_dir(self, stage: str, table: str) -> Path:
        return self.stage_dir(stage) / table

    def cache_dir(self, stage: str) -> Path:
        d = self.root / "cache" / stage
        d.mkdir(parents=True, exist_ok=True)
        return d

    # --- parts -------------------------------------------------------------------------------------------
    def parts(self, stage: str, table: str) -> list[Path]:
        d = self.table_dir(stage, table)
        return sorted(d.glob("part-*.parquet")) if d.exists() else []

    def tables(self, stage: str) -> list[str]:
        d = self.stage_dir(stage)
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.exists() else []

    def has_part(self, stage: str, table: str, key: str) -> bool:
        return (self.table_dir(stage, table) / f"{KEYED}{key}.parquet").exists()

    def write_part(self, stage: str, table: str, data: pa.Table, key: str | None = None) -> Path:
        d = self.table_dir(stage, table)
        if key is not None:
            path = d / f"{KEYED}{key}.parquet"
        else:
            n = len(list(d.glob(f"{SEQUENTIAL}*.parquet"))) if d.exists() else 0
            path = d / f"{SEQUENTIAL}{n:06d}.parquet"
        atomic_write_parquet(path, data)
        return path

    def drop_unkeyed_parts(self, stage: str) -> None:
        """After a kill, sequential parts cannot be trusted to be complete as a set; keyed parts can."""
        d = self.stage_dir(stage)
        if d.exists():
            for p in d.glob(f"*/{SEQUENTIAL}*.parquet"):
                p.unlink()
            for p in d.glob("*/.*.tmp"):
                p.unlink()

    def reset_stage(self, stage: str, keep_cache: bool = True) -> None:
        d = self.stage_dir(stage)
        if d.exists():
            trash = d.with_name(f".trash-{stage}-{uuid.uuid4().hex}")
            os.replace(d, trash)
            shutil.rmtree(trash, ignore_errors=True)
        if not keep_cache:
            shutil.rmtree(self.root / "cache" / stage, ignore_errors=True)

    def read(self, stage: str, table: str, schema: pa.Schema | None = None) -> pa.Table:
        parts = self.parts(stage, table)
        if not parts:
            if schema is None:
                raise FileNotFoundError(f"no {table!r} table written by stage {stage!r} in {self.root}")
            return schema.empty_table()
        tables = [pq.read_table(p) for p in parts]
        return pa.concat_tables(tables, promote_options="permissive")

    def count_part(self, stage: str, table: str, key: str) -> int:
        return pq.ParquetFile(self.table_dir(stage, table) / f"{KEYED}{key}.parquet").metadata.num_rows

    def count(self, stage: str, table: str) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.parts(stage, table))

    # --- lock --------------------------------------------------------------------------------------------
    def read_lock(self) -> dict[str, Any]:
        if not self.lock_path.exists():
            return {}
        try:
            return json.loads(self.lock_path.read_text())
        except json.JSONDecodeError:
            return {}

    def write_lock(self, lock: dict[str, Any]) -> None:
        atomic_write_json(self.lock_path, lock)

    # --- catalog -----------------------------------------------------------------------------------------
    def refresh_catalog(self, stage_order: list[str], schemas: dict[str, pa.Schema] | None = None) -> list[str]:
        """(Re)create catalog.duckdb: `<stage>_<table>` for every stage output, the latest stage's version of
        each table under its bare name, and `removed` as the union over stages."""
        import duckdb

        schemas = schemas or {}
        views: dict[str, str] = {}
        latest: dict[str, str] = {}
        removed_globs: list[str] = []
        for stage in stage_order:
            for table in self.tables(stage):
                if not self.parts(stage, table):
                    continue
                glob = str((self.table_dir(stage, table) / "part-*.parquet").resolve())
                src = f"read_parquet('{glob}', union_by_name=true)"
                views[f"{stage}_{table}"] = src
                if table == "removed":
                    removed_globs.append(glob)
                else:
                    latest[table] = src
        views.update(latest)
        if removed_globs:
            globs = ", ".join(f"'{g}'" for g in removed_globs)
            views["removed"] = f"read_parquet([{globs}], union_by_name=true)"
        tmp = self.catalog_path.with_name(f".catalog.{uuid.uuid4().hex}.duckdb")
        con = duckdb.connect(str(tmp))
        try:
            for name, src in views.items():
                con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM {src}')
        finally:
            con.close()
        os.replace(tmp, self.catalog_path)
        return sorted(views)
