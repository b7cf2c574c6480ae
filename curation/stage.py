"""What a stage sees: its config, upstream tables, and a place to write outputs, removals and caches.

A stage is a module in `curation/stages/` with `def run(ctx: StageContext) -> None`, registered in
`curation.stages.REGISTRY`. Counting rows, timing, fingerprinting, atomic writes and resume are the runner's job,
not the stage's (as in datatrove); a stage that works row batch by row batch hands its pure per-batch function to
`map_batches`, which owns slicing, part keys, skip-if-done and progress.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from . import records
from .executors.batches import align
from .manifest import Manifest
from .store import RunStore

_STDERR = Console(stderr=True)


@dataclass
class StageContext:
    name: str
    manifest: Manifest
    config: Any
    store: RunStore
    upstream: list[str]  # enabled stages before this one, in order
    options: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    executor: Callable[[], Any] | None = None  # gives the run's curation.executors.Executor; None: local
    resources: Any = None  # curation.stages.Resources this stage declared; None: the defaults
    console: Console = _STDERR

    @property
    def cache_dir(self) -> Path:
        return self.store.cache_dir(self.name)

    @property
    def run_dir(self) -> Path:
        return self.store.root

    # --- inputs ------------------------------------------------------------------------------------------
    def producer(self, table: str) -> str | None:
        """The latest upstream stage that wrote `table` (the table's current version)."""
        for stage in reversed(self.upstream):
            if self.store.parts(stage, table):
                return stage
        return None

    def read(self, table: str, schema: pa.Schema | None = None) -> pa.Table:
        if table == "removed":
            parts = [self.store.read(s, "removed", records.REMOVED) for s in self.upstream]
            return pa.concat_tables(parts, promote_options="permissive") if parts else records.REMOVED.empty_table()
        stage = self.producer(table)
        if stage is None:
            if schema is not None:
                return schema.empty_table()
            raise FileNotFoundError(f"stage {self.name!r} needs table {table!r} but no earlier stage wrote it")
        return self.store.read(stage, table, schema)

    def scan(self, table: str) -> pl.LazyFrame:
        stage = self.producer(table)
        if stage is None:
            raise FileNotFoundError(f"stage {self.name!r} needs table {table!r} but no earlier stage wrote it")
        return pl.scan_parquet([str(p) for p in self.store.parts(stage, table)])

    def iter_batches(self, table: str, batch_size: int, schema: pa.Schema | None = None) -> Iterator[pa.Table]:
        """The current version of upstream `table` in consecutive `batch_size`-row slices (the last may be shorter),
        streamed part by part: at most one part plus one batch in memory. Rows, order and column types are those of
        `read(table)` (parts are aligned to their unified schema, as `read`'s permissive concatenation does).
        Without a producer: nothing when `schema` is given, else FileNotFoundError."""
        stage = self.producer(table)
        if stage is None:
            if schema is not None:
                return
            raise FileNotFoundError(f"stage {self.name!r} needs table {table!r} but no earlier stage wrote it")
        paths = self.store.parts(stage, table)
        unified = pa.unify_schemas([pq.read_schema(p) for p in paths], promote_options="permissive")
        buf: list[pa.Table] = []
        held = 0
        for path in paths:
            part = align(pq.read_table(path), unified)
            buf.append(part)
            held += part.num_rows
            while held >= batch_size:
                rows = pa.concat_tables(buf)
                yield rows.slice(0, batch_size)
                rest = rows.slice(batch_size)
                buf, held = [rest], rest.num_rows
        if held:
            yield pa.concat_tables(buf)

    def map_batches(
        self,
        table: str,
        fn: Callable[[pa.Table], pa.Table | None],
        batch_size: int,
        *,
        schema: pa.Schema | None = None,
        out: str | None = None,
        description: str | None = None,
    ) -> dict[str, int]:
        """Apply the per-batch `fn` (a batch function, see `curation.executors`) to upstream `table` in
        `batch_size`-row batches and write each result as keyed part `{batch:06d}` of `out` (default: the same
        table name), so a killed stage resumes at the first unwritten batch: a batch whose part exists is skipped
        without calling `fn`. `fn` returning None writes nothing (the batch is redone on the next run, e.g. when a
        remote judge did not answer). The run's executor decides where `fn` runs; the parts are the same.
        Returns counts: batches, skipped (already written), written, not_written, not_written_rows, plus the
        counters `fn.take_stats()` reported."""
        from .executors.local import LocalExecutor
        from .stages import Resources

        executor = self.executor() if self.executor is not None else LocalExecutor()
        return executor.map_batches(
            self,
            table,
            fn,
            batch_size,
            schema=schema,
            out=out or table,
            description=description or f"{table} batches",
            resources=self.resources or Resources(),
        )

    def iter_output(self, table: str, columns: list[str] | None = None) -> Iterator[pa.Table]:
        """This stage's own output `table`, part by part (only `columns`, when given): for stats without loading
        the whole table."""
        for path in self.store.parts(self.name, table):
            yield pq.read_table(path, columns=columns)

    # --- outputs -----------------------------------------------------------------------------------------
    def write(self, table: str, data: pa.Table, key: str | None = None) -> None:
        """Write one atomic part. With `key`, the part survives a kill and `has_part` lets a resumed stage skip it."""
        self.store.write_part(self.name, table, data, key=key)

    def has_part(self, table: str, key: str) -> bool:
        return self.store.has_part(self.name, table, key)

    def remove(self, rows: pa.Table | list[dict[str, Any]], key: str | None = None) -> None:
        """Record removed rows (query_id/trace_id, reason, evidence JSON, …); `stage` and `removed_id` are filled in."""
        if isinstance(rows, list):
            rows = pa.Table.from_pylist(rows) if rows else records.REMOVED.empty_table()
        if "stage" not in rows.column_names:
            rows = rows.append_column("stage", pa.array([self.name] * rows.num_rows, pa.string()))
        rows = records.conform(rows, records.REMOVED)
        if rows.num_rows and rows.column("removed_id").null_count:
            cols = {
                c: rows.column(c).to_pylist()
                for c in ("removed_id", "stage", "source", "location", "query_id", "trace_id")
            }
            ids = [r or records.removed_id(s, src, loc, q, t) for r, s, src, loc, q, t in zip(*cols.values())]
            rows = rows.set_column(0, "removed_id", pa.array(ids, pa.string()))
        self.write("removed", rows, key=key)

    # --- progress ----------------------------------------------------------------------------------------
    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Any]:
        """A rich progress bar on stderr; yields `advance(n)`."""
        if self.options.get("quiet") or not sys.stderr.isatty():
            yield lambda n=1: None
            return
        with Progress(
            TextColumn(f"[bold]{self.name}[/] {description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        ) as p:
            task = p.add_task(description, total=total)
            yield lambda n=1: p.advance(task, n)

    def track(self, items: Iterable[Any], description: str, total: int | None = None) -> Iterator[Any]:
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        with self.progress(description, total) as advance:
            for item in items:
                yield item
                advance(1)

    def log(self, message: str) -> None:
        if not self.options.get("quiet"):
            self.console.print(f"[dim]{self.name}:[/] {message}")
