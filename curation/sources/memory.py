"""In-memory sources (`kind: memory`): rows handed over in Python as a polars/pandas frame, `datasets.Dataset`,
Arrow table or list of dicts.

The rows are converted to one Arrow table once (so later edits to the caller's object cannot change a run
half-way) and identified in lock.json by a content fingerprint, never stored there. Rows are located as
`memory:<source>:<row>` (0-based, the row's index in the object passed in).
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

import pyarrow as pa

from ..config.collect import MemorySpec, SourceConfig
from ..errors import UserError

HASH_ROWS = 65536  # rows per hashed slice: bounded extra memory while fingerprinting


def type_name(data: Any) -> str:
    t = type(data)
    return f"{t.__module__.split('.')[0]}.{t.__qualname__}"


def to_arrow(data: Any, what: str) -> pa.Table:
    """The rows of `data` as an Arrow table; `what` names the source in errors."""
    mod = type(data).__module__.split(".")[0]
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if mod == "polars":
        import polars as pl

        if isinstance(data, pl.LazyFrame):
            data = data.collect()
        if isinstance(data, pl.DataFrame):
            return data.to_arrow()
    if mod == "datasets":
        import datasets

        if isinstance(data, datasets.DatasetDict):
            raise UserError(
                f"{what}: got a DatasetDict with splits {list(data)}; pass one split, "
                f"e.g. ds[{next(iter(data), 'train')!r}]"
            )
        if isinstance(data, datasets.IterableDataset):
            raise UserError(
                f"{what}: an IterableDataset (streaming) has no fixed content to fingerprint; "
                "write it to parquet/jsonl and use a file source, or pass a materialized Dataset"
            )
        if isinstance(data, datasets.Dataset):
            # honours select/filter/shuffle (indices mapping); memory-mapped data is not copied
            return data.with_format("arrow")[:]
    if mod == "pandas":
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        try:
            return pa.Table.from_pylist(data)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise UserError(f"{what}: the list of dicts does not form one table: {e}") from None
    raise UserError(
        f"{what}: cannot read rows from a {type_name(data)}; pass a polars or pandas DataFrame, "
        "a datasets.Dataset, a pyarrow.Table or a list of dicts"
    )


def fingerprint(table: pa.Table) -> str:
    """blake2b of the rows as Arrow IPC, in fixed-size slices (schema included, schema metadata excluded).

    Different rows always give a different fingerprint; equal rows in another memory layout may (rarely) too,
    which only makes collect run again, never reuse stale results."""
    table = table.replace_schema_metadata(None)
    h = hashlib.blake2b(digest_size=16)
    h.update(str(table.schema).encode())
    for off in range(0, max(table.num_rows, 1), HASH_ROWS):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table.slice(off, HASH_ROWS).combine_chunks())
        h.update(sink.getvalue())
    return h.hexdigest()


def attach(source: SourceConfig, data: Any) -> None:
    """Give a `kind: memory` source its rows: sets `source.memory` (what lock.json records) and the table."""
    table = to_arrow(data, f"source {source.name!r}")
    source.memory = MemorySpec(
        fingerprint=fingerprint(table), rows=table.num_rows, columns=list(table.column_names), type=type_name(data)
    )
    source._data = table


def read_memory(source: SourceConfig, batch_size: int) -> Iterator[tuple[str, dict[str, Any]]]:
    table = source._data
    if not isinstance(table, pa.Table):
        raise UserError(
            f"source {source.name!r}: kind 'memory' has no rows attached; its rows come from Python: "
            f"Pipeline.from_dict(..., sources={{{source.name!r}: data}}) or "
            f"Pipeline.from_yaml(path, sources={{{source.name!r}: data}})"
        )
    n = 0
    for batch in table.to_batches(max_chunksize=batch_size):
        for row in batch.to_pylist():
            yield f"memory:{source.name}:{n}", row
            n += 1
