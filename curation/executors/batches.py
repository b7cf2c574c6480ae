"""Where a stage's batches come from: the upstream table's parquet parts, cut into fixed-size row ranges.

Batch `b` is rows `[b * size, (b + 1) * size)` of the table in part order, so its key `{b:06d}` names the same rows
whoever reads them: the local executor streams the parts once; a Ray actor reads only the parts its range touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True)
class Parts:
    """An upstream table as its part files, their row counts and their unified schema."""

    paths: tuple[str, ...]
    rows: tuple[int, ...]
    schema: pa.Schema

    @classmethod
    def of(cls, paths: list[Path]) -> Parts:
        metas = [pq.read_metadata(p) for p in paths]
        schema = pa.unify_schemas([m.schema.to_arrow_schema() for m in metas], promote_options="permissive")
        return cls(tuple(str(p) for p in paths), tuple(m.num_rows for m in metas), schema)

    @property
    def total(self) -> int:
        return sum(self.rows)

    def ranges(self, batch_size: int) -> list[tuple[str, int, int]]:
        """(key, start, stop) of every batch."""
        return [(key(b), s, min(s + batch_size, self.total)) for b, s in enumerate(range(0, self.total, batch_size))]

    def read(self, start: int, stop: int) -> pa.Table:
        """Rows `[start, stop)`, with exactly the unified schema (as `StageContext.iter_batches` yields them)."""
        pieces, offset = [], 0
        for path, n in zip(self.paths, self.rows):
            lo, hi = max(start, offset), min(stop, offset + n)
            if lo < hi:
                pieces.append(align(pq.read_table(path), self.schema).slice(lo - offset, hi - lo))
            offset += n
            if offset >= stop:
                break
        return pa.concat_tables(pieces) if pieces else self.schema.empty_table()


def key(batch: int) -> str:
    return f"{batch:06d}"


def align(part: pa.Table, schema: pa.Schema) -> pa.Table:
    """`part` with exactly `schema`'s columns, in its order: cast where the part's type is narrower (a column of
    nulls), null-filled where the part lacks the column."""
    cols = [
        part.column(f.name).cast(f.type) if f.name in part.column_names else pa.nulls(part.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(cols, schema=schema)
