"""Reading a run directory's tables (the one reader audit, export and the export stage share): the latest version of each table, by column name.

Reads the parquet parts directly (not the catalog views, whose absolute paths break when a run folder is moved),
with DuckDB's `union_by_name` so parts written by different code versions still line up. Columns a stage did not
produce (segments when segmentation is off, labels before select) come back absent; callers ask `has(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .errors import UserError
from .store import RunStore

TABLES = ("queries", "traces", "pairs", "removed")


def _stage_order(store: RunStore) -> list[str]:
    from .stages import NAMES as STAGES

    extra = (
        sorted(p.name for p in (store.root / "stages").iterdir() if p.is_dir() and p.name not in STAGES)
        if (store.root / "stages").exists()
        else []
    )
    return [s for s in STAGES if s != "export"] + extra


def _read_parts(paths: list[Path]) -> pl.DataFrame:
    import duckdb

    con = duckdb.connect()
    try:
        files = ", ".join("'" + str(p.resolve()).replace("'", "''") + "'" for p in paths)
        return con.sql(f"SELECT * FROM read_parquet([{files}], union_by_name=true)").pl()
    finally:
        con.close()


@dataclass
class RunTables:
    """The run's tables as polars frames (None when no stage wrote the table) plus its lock file."""

    root: Path
    lock: dict[str, Any]
    frames: dict[str, pl.DataFrame | None] = field(default_factory=dict)
    producers: dict[str, str | None] = field(default_factory=dict)

    def get(self, table: str) -> pl.DataFrame | None:
        return self.frames.get(table)

    def has(self, table: str, *columns: str) -> bool:
        """True when the table exists and every column is present and not entirely null."""
        df = self.frames.get(table)
        if df is None:
            return False
        return all(c in df.columns and df.height > 0 and df[c].null_count() < df.height for c in columns)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.lock.get("manifest") or {}


def load_run(run_dir: Path | str) -> RunTables:
    root = Path(run_dir)
    store = RunStore(root)
    if not root.is_dir():
        raise UserError(f"{root}: not a directory; pass a run directory (runs/<name>, made by `cotforge run`)")
    lock = store.read_lock()
    if not lock and not (root / "stages").exists():
        raise UserError(f"{root}: no lock.json and no stages/ here; is this a run directory? (made by `cotforge run`)")
    out = RunTables(root=root, lock=lock)
    order = _stage_order(store)
    for table in TABLES:
        if table == "removed":
            parts = [p for s in order for p in store.parts(s, "removed")]
            out.producers[table] = "all stages" if parts else None
        else:
            stage = next((s for s in reversed(order) if store.parts(s, table)), None)
            parts = store.parts(stage, table) if stage else []
            out.producers[table] = stage
        out.frames[table] = _read_parts(parts) if parts else None
    if out.frames["traces"] is None:
        raise UserError(
            f"{root}: this run has no traces table yet (the distill stage writes it); run the pipeline with "
            "`teachers:` and `distill:` in the manifest first"
        )
    return out


def col(df: pl.DataFrame, name: str, dtype: Any = pl.Utf8) -> pl.Expr:
    """The column if present, else a typed null: keeps expressions valid on runs that lack a stage."""
    return pl.col(name) if name in df.columns else pl.lit(None, dtype=dtype).alias(name)


def ensure_columns(df: pl.DataFrame, spec: dict[str, Any]) -> pl.DataFrame:
    """Add missing columns as typed nulls so downstream code can select them by name."""
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in spec.items() if n not in df.columns]
    return df.with_columns(missing) if missing else df
