"""Batches in the calling process, in order: today's behaviour on one machine (stages bring their own pools)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from . import BatchFn, add_stats, new_counts, setup, take_stats
from .batches import key

if TYPE_CHECKING:
    from ..stage import StageContext
    from ..stages import Resources


class LocalExecutor:
    name = "local"

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
        resources: Resources | None = None,
    ) -> dict[str, int]:
        producer = ctx.producer(table)
        total = ctx.store.count(producer, table) if producer is not None else 0
        counts = new_counts()
        ready = False
        with ctx.progress(description, total=total) as advance:
            for b, chunk in enumerate(ctx.iter_batches(table, batch_size, schema)):
                counts["batches"] += 1
                if ctx.has_part(out, key(b)):
                    counts["skipped"] += 1
                else:
                    if not ready:
                        setup(fn)
                        ready = True
                    result = fn(chunk)
                    if result is None:
                        counts["not_written"] += 1
                        counts["not_written_rows"] += chunk.num_rows
                    else:
                        ctx.write(out, result, key=key(b))
                        counts["written"] += 1
                    add_stats(counts, take_stats(fn))
                advance(chunk.num_rows)
        return counts

    def close(self) -> None:
        pass
