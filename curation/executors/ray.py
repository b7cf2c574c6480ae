"""Batches as Ray Data `map_batches` over an actor pool, on a local Ray instance or an existing cluster.

Each pending batch is one item `{key, start, stop}`; an actor (placed with the stage's declared CPUs, GPUs and
memory) reads those rows from the upstream parquet parts itself, calls the stage's batch function and writes the
keyed part atomically into the run directory, so the run directory must be on storage every node sees (a shared
filesystem). Only keys and counters travel back to the driver. A batch whose part exists is never scheduled, so a
killed run resumes at the first missing part, under this executor or the local one.
"""

from __future__ import annotations

import json
import logging
import math
import pickle
import traceback
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..errors import UserError
from . import BatchFn, add_stats, new_counts, setup, take_stats
from .batches import Parts
from .local import LocalExecutor

if TYPE_CHECKING:
    from ..config.executor import ExecutorConfig
    from ..stage import StageContext
    from ..stages import Resources


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise UserError(
            f"executor 'ray' needs Ray Data: pip install 'cotforge[ray]' (or 'ray[data]>=2.9'); import failed: {e}"
        ) from None
    return ray


class RayExecutor:
    name = "ray"

    def __init__(self, cfg: ExecutorConfig):
        ray = _ray()
        self.cfg = cfg
        self.started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": cfg.log_to_driver,
                "configure_logging": False,
            }
            if cfg.address is None:  # start a local instance sized here; joining a cluster takes its size
                kwargs.update(num_cpus=cfg.num_cpus, num_gpus=cfg.num_gpus)
                if cfg.object_store_mb is not None:
                    kwargs["object_store_memory"] = cfg.object_store_mb * 2**20
            ray.init(address=cfg.address, **kwargs)
            self.started = True
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the stage's own rich progress bar counts rows as parts land
        if not cfg.log_to_driver:  # Ray Data logs every dataset's plan at INFO; the run's summary says enough
            logging.getLogger("ray.data").setLevel(logging.WARNING)

    def workers(self, resources: Resources, fn: Any, pending: int) -> int:
        """Actors to start: as many as the cluster holds at the declared resources, capped by the work and by
        the batch function's own limit."""
        total = _ray().cluster_resources()
        n = int(total.get("CPU", 1) // max(resources.cpus, 1)) if resources.cpus else pending
        if resources.gpus:
            n = min(n, int(total.get("GPU", 0) // resources.gpus))
            if n == 0:
                raise UserError(
                    f"the stage asks for {resources.gpus} GPU(s) per worker but the Ray cluster has "
                    f"{total.get('GPU', 0)}; add GPU nodes or lower the stage's resources"
                )
        cap = getattr(fn, "max_workers", None) or math.inf
        return int(max(1, min(n, pending, cap)))

    def map_batches(
        self,
        ctx: StageContext,
        table: str,
        fn: BatchFn,
        batch_size: int,
        *,
        schema: pa.Schema | None,
        out: str,
        description: str,
        resources: Resources,
    ) -> dict[str, int]:
        if getattr(fn, "ordered", False):
            ctx.log(f"{description}: batches depend on earlier ones; running them in order in the driver")
            return LocalExecutor().map_batches(
                ctx, table, fn, batch_size, schema=schema, out=out, description=description, resources=resources
            )
        ray = _ray()
        counts = new_counts()
        producer = ctx.producer(table)
        if producer is None:
            if schema is None:
                raise FileNotFoundError(f"stage {ctx.name!r} needs table {table!r} but no earlier stage wrote it")
            return counts
        parts = Parts.of(ctx.store.parts(producer, table))
        ranges = parts.ranges(batch_size)
        pending = [r for r in ranges if not ctx.has_part(out, r[0])]
        counts["batches"], counts["skipped"] = len(ranges), len(ranges) - len(pending)
        with ctx.progress(description, total=parts.total) as advance:
            advance(parts.total - sum(stop - start for _, start, stop in pending))
            if not pending:
                return counts
            ds = ray.data.from_items(
                [{"key": k, "start": s, "stop": e} for k, s, e in pending], override_num_blocks=len(pending)
            )
            options: dict[str, Any] = {"num_cpus": resources.cpus, "num_gpus": resources.gpus or None}
            if resources.memory_gib:
                options["memory"] = int(resources.memory_gib * 2**30)
            pool = ray.data.ActorPoolStrategy(size=self.workers(resources, fn, len(pending)))
            ds = ds.map_batches(
                BatchWorker,
                batch_size=1,
                batch_format="pyarrow",
                compute=pool,
                fn_constructor_kwargs={
                    "fn": fn,
                    "root": str(ctx.store.root),
                    "stage": ctx.name,
                    "out": out,
                    "parts": parts,
                },
                **{k: v for k, v in options.items() if v is not None},
            )
            for row in ds.iter_rows():
                if row["error"] is not None:
                    raise pickle.loads(row["error"])
                counts["written" if row["written"] else "not_written"] += 1
                if not row["written"]:
                    counts["not_written_rows"] += row["rows"]
                add_stats(counts, json.loads(row["stats"]))
                advance(row["rows"])
        return counts

    def close(self) -> None:
        if self.started:
            _ray().shutdown()
            self.started = False


class BatchWorker:
    """One Ray actor: sets the batch function up once, then reads, runs and writes one batch per call."""

    def __init__(self, fn: BatchFn, root: str, stage: str, out: str, parts: Parts):
        import os
        import socket

        from ..store import RunStore
        from ..teachers.cache import set_writer

        set_writer(f"{socket.gethostname()}-{os.getpid()}")  # request caches: one file per writing process
        self.fn, self.stage, self.out, self.parts = fn, stage, out, parts
        self.store = RunStore(root)
        setup(fn)

    def __call__(self, items: pa.Table) -> pa.Table:
        rows = []
        for item in items.to_pylist():
            chunk = self.parts.read(item["start"], item["stop"])
            error = None
            try:
                result = self.fn(chunk)
                if result is not None:
                    self.store.write_part(self.stage, self.out, result, key=item["key"])
            except Exception as e:  # sent back whole: Ray would keep only its text and retry the batch
                result, error = None, _pickled(e, item["key"])
            rows.append(
                {
                    "key": item["key"],
                    "rows": chunk.num_rows,
                    "written": result is not None,
                    "stats": json.dumps(take_stats(self.fn)),
                    "error": error,
                }
            )
        return pa.Table.from_pylist(rows, schema=ROW)


ROW = pa.schema(
    [
        ("key", pa.string()),
        ("rows", pa.int64()),
        ("written", pa.bool_()),
        ("stats", pa.string()),
        ("error", pa.binary()),
    ]
)


def _pickled(e: Exception, key: str) -> bytes:
    if hasattr(e, "add_note"):  # Python 3.11+
        e.add_note(f"(in batch {key} on a Ray worker)\n" + "".join(traceback.format_exception(e)).rstrip())
    try:
        return pickle.dumps(e)
    except Exception:  # an exception that does not pickle still reaches the driver with its text
        return pickle.dumps(RuntimeError("".join(traceback.format_exception(e))))
