"""The one place that defines the columns of every table, and the content-hash ids that join them.

Ids are content hashes so that two runs over the same inputs produce the same ids and joins stay stable
across stages, runs and machines.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pyarrow as pa

DOMAINS = ("math", "code", "science", "general")
VERDICTS = ("correct", "incorrect", "unverifiable", "truncated", "error")
LABELS = ("positive", "negative", "truncated", "unverifiable")


def _digest(*parts: str) -> str:
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form hashed into ids and stored in JSON columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def merge_metadata(meta: str | None, extra: dict) -> str:
    """A row's `metadata` JSON with `extra`'s keys set (what dedup and decontaminate record per query); metadata that
    is not a JSON object is kept under `_raw_metadata` / `_metadata`, never dropped."""
    try:
        d = json.loads(meta) if meta else {}
    except json.JSONDecodeError:
        d = {"_raw_metadata": meta}
    if not isinstance(d, dict):
        d = {"_metadata": d}
    d.update(extra)
    return canonical_json(d)


def query_id(normalized_problem: str) -> str:
    """Id of a query: hash of its normalized problem text (so exact copies share an id)."""
    return _digest("query", normalized_problem)


def trace_id(query_id_: str, teacher: str, sample_index: int, sampling: dict | str) -> str:
    sampling_s = sampling if isinstance(sampling, str) else canonical_json(sampling)
    return _digest("trace", query_id_, teacher, str(sample_index), sampling_s)


QUERIES = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("problem", pa.string(), nullable=False),
        pa.field("domain", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_id", pa.string()),
        pa.field("reference_answer", pa.string()),
        pa.field("tests", pa.string()),  # JSON, the sandboxes tests format
        pa.field("metadata", pa.string()),  # JSON
    ]
)


def removed_id(
    stage: str, source: str | None, location: str | None, query_id_: str | None, trace_id_: str | None
) -> str:
    """Identity of one removed row: where it came from (source + location), or the trace it was. Not a query id:
    an exact duplicate has the same content hash as the query that was kept in its place."""
    return _digest(
        "removed", stage, source or "", location or "", "" if location else (query_id_ or ""), trace_id_ or ""
    )


# `removed.query_id` is the id of a query that is no longer in the run (dropped by this row's stage, or the query
# of a removed trace). It is null where the removed row is a copy of a query that was kept (an exact duplicate has
# the kept row's content hash; that id is `evidence.kept`), so `queries` anti-joined with `removed` on query_id
# never drops a kept query. `removed_id` is the row's own identity.
REMOVED = pa.schema(
    [
        pa.field("removed_id", pa.string()),  # records.removed_id: source + location (or trace), set by ctx.remove
        pa.field("query_id", pa.string()),
        pa.field("trace_id", pa.string()),  # set when a trace (not a query) is removed
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("source", pa.string()),
        pa.field("location", pa.string()),  # file:line / dataset row where the row came from
        pa.field("evidence", pa.string()),  # JSON: kept representative, matched benchmark item, similarity, …
        pa.field("problem", pa.string()),  # the removed text, so nothing is lost
    ]
)

TRACES = pa.schema(
    [
        pa.field("trace_id", pa.string(), nullable=False),
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("teacher", pa.string(), nullable=False),
        pa.field("model", pa.string()),
        pa.field("backend", pa.string()),
        pa.field("sample_index", pa.int32()),
        pa.field("sampling", pa.string()),  # JSON: the exact params sent
        pa.field("messages", pa.string()),  # JSON chat prompt
        pa.field("completion", pa.string()),
        pa.field("reasoning", pa.string()),
        pa.field("answer", pa.string()),
        pa.field("finish_reason", pa.string()),
        pa.field("prompt_tokens", pa.int32()),
        pa.field("completion_tokens", pa.int32()),
        pa.field("latency_s", pa.float64()),
        # teacher confidence: mean log-probability per generated token of the completion (null unless the teacher
        # was asked for logprobs, `teachers[].logprobs`, or a replayed dataset carries it)
        pa.field("mean_logprob", pa.float64()),
        pa.field("error", pa.string()),
        pa.field("status", pa.string()),  # ok|truncated (finish_reason=length)|malformed (unclosed think)|failed
    ]
)

VERIFY_COLUMNS = [
    pa.field("verdict", pa.string()),
    pa.field("extracted_answer", pa.string()),
    pa.field("verifier", pa.string()),
    pa.field("score", pa.float64()),
    pa.field("verify_details", pa.string()),  # JSON
]

SEGMENT = pa.struct(
    [
        pa.field("kind", pa.string()),  # question_repeat|understanding|approach|verification|conclusion|other
        pa.field("start", pa.int32()),
        pa.field("end", pa.int32()),
        pa.field("approach", pa.int32()),  # 1..k for approach (and its verification), else null
        pa.field("verdict", pa.string()),  # correct|incorrect|incomplete for approaches
    ]
)

SEGMENT_COLUMNS = [
    pa.field("segments", pa.list_(SEGMENT)),
    pa.field("simplified_reasoning", pa.string()),
    pa.field("reasoning_tokens", pa.int32()),
    pa.field("simplified_tokens", pa.int32()),
    pa.field("segment_details", pa.string()),  # JSON: which rule removed what
]

SELECT_COLUMNS = [
    pa.field("label", pa.string()),
    pa.field("pass_rate", pa.float64()),
    pa.field("difficulty", pa.float64()),
    pa.field("teacher_pass_rate", pa.float64()),  # pass rate of this trace's teacher on this query
    pa.field("cv", pa.float64()),  # coefficient of variation of the query's scores (AM/DeepDistill), null if mean 0
    pa.field("rl_pool", pa.bool_()),  # AceReason: 0 < pass_rate < 1
    pa.field("am_selected", pa.bool_()),  # AM stage-I selection (null when not enabled)
]

PAIRS = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),
        pa.field("chosen_trace_id", pa.string(), nullable=False),
        pa.field("rejected_trace_id", pa.string(), nullable=False),
        pa.field("strategy", pa.string()),
        pa.field("chosen_teacher", pa.string()),
        pa.field("rejected_teacher", pa.string()),
    ]
)


def extend(schema: pa.Schema, fields: list[pa.Field]) -> pa.Schema:
    """Schema plus stage columns (stages add columns, never rename)."""
    for f in fields:
        if schema.get_field_index(f.name) == -1:
            schema = schema.append(f)
    return schema


VERIFIED_TRACES = extend(TRACES, VERIFY_COLUMNS)
SEGMENTED_TRACES = extend(VERIFIED_TRACES, SEGMENT_COLUMNS)
SELECTED_TRACES = extend(SEGMENTED_TRACES, SELECT_COLUMNS)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Cast `table` to `schema`: missing nullable columns become nulls, extra columns are kept at the end.

    Raises ValueError naming the column when a required column is missing or cannot be cast.
    """
    cols, fields = [], []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            try:
                col = col.cast(f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise ValueError(f"column {f.name!r}: cannot cast {col.type} to {f.type}: {e}") from e
        elif f.nullable:
            col = pa.nulls(table.num_rows, f.type)
        else:
            raise ValueError(f"column {f.name!r} is required by the schema but missing")
        cols.append(col)
        fields.append(f)
    for name in table.column_names:
        if schema.get_field_index(name) == -1:
            cols.append(table.column(name))
            fields.append(table.schema.field(name))
    return pa.Table.from_arrays(cols, schema=pa.schema(fields))


def empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def replace_columns(
    table: pa.Table, fields: list[pa.Field], values: dict[str, pa.Array], schema: pa.Schema
) -> pa.Table:
    """`table` with `fields` (re)set from `values` and conformed to `schema`: how a stage adds its columns to rows
    an earlier stage wrote (re-running a stage overwrites its own columns, never duplicates them)."""
    for f in fields:
        if f.name in table.column_names:
            table = table.drop_columns([f.name])
        table = table.append_column(f, values[f.name])
    return conform(table, schema)
