"""The export's working frames: traces joined with their queries, export filters, chat messages (all polars).

Chat turns are lists of {role, content} structs, the shape TRL, verl, LLaMA-Factory and `datasets` expect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..config.export import ExportFilters
from ..rundata import RunTables, ensure_columns

MESSAGE = pl.Struct({"role": pl.Utf8, "content": pl.Utf8})
CHAT = pl.List(MESSAGE)

TRACE_COLUMNS: dict[str, Any] = {
    "trace_id": pl.Utf8,
    "query_id": pl.Utf8,
    "teacher": pl.Utf8,
    "model": pl.Utf8,
    "backend": pl.Utf8,
    "sample_index": pl.Int32,
    "sampling": pl.Utf8,
    "messages": pl.Utf8,
    "completion": pl.Utf8,
    "reasoning": pl.Utf8,
    "answer": pl.Utf8,
    "finish_reason": pl.Utf8,
    "prompt_tokens": pl.Int32,
    "completion_tokens": pl.Int32,
    "mean_logprob": pl.Float64,
    "verdict": pl.Utf8,
    "extracted_answer": pl.Utf8,
    "verifier": pl.Utf8,
    "score": pl.Float64,
    "simplified_reasoning": pl.Utf8,
    "reasoning_tokens": pl.Int32,
    "simplified_tokens": pl.Int32,
    "label": pl.Utf8,
    "pass_rate": pl.Float64,
    "difficulty": pl.Float64,
}
QUERY_COLUMNS: dict[str, Any] = {
    "query_id": pl.Utf8,
    "problem": pl.Utf8,
    "domain": pl.Utf8,
    "source": pl.Utf8,
    "source_id": pl.Utf8,
    "reference_answer": pl.Utf8,
    "tests": pl.Utf8,
    "metadata": pl.Utf8,
}


@dataclass
class ExportFrames:
    traces: pl.DataFrame  # all traces after trace-level filters (teachers, difficulty, tokens), joined with queries
    queries: pl.DataFrame  # queries after query-level filters (difficulty)
    pairs: pl.DataFrame | None  # pairs whose both traces survived the filters (None: no pairs table)
    stats: dict[str, Any] = field(default_factory=dict)


def assistant_content(reasoning: pl.Expr, answer: pl.Expr) -> pl.Expr:
    """`<think>\\n{reasoning}\\n</think>\\n\\n{answer}` (ecosystem_conventions §4); just the answer when there is no
    reasoning."""
    has = reasoning.is_not_null() & (reasoning.str.strip_chars().str.len_chars() > 0)
    return (
        pl.when(has)
        .then(pl.concat_str([pl.lit("<think>\n"), reasoning, pl.lit("\n</think>\n\n"), answer.fill_null("")]))
        .otherwise(answer.fill_null(""))
    )


def user_prompt(df: pl.DataFrame, mode: str) -> pl.Expr:
    """The prompt as a chat list: the problem as one user turn, or the exact prompt sent to the teacher."""
    problem = pl.concat_list([pl.struct(pl.lit("user").alias("role"), pl.col("problem").alias("content"))])
    if mode == "teacher" and "messages" in df.columns:
        sent = pl.col("messages").str.json_decode(CHAT)
        return pl.when(sent.list.len() > 0).then(sent).otherwise(problem)
    return problem


def load_frames(run: RunTables, filters: ExportFilters) -> ExportFrames:
    t = run.get("traces")
    q = run.get("queries")
    if t is None:
        raise ValueError("run has no traces table")
    t = ensure_columns(t, TRACE_COLUMNS).select(list(TRACE_COLUMNS))
    if q is None:
        q = (
            t.select("query_id")
            .unique(maintain_order=True)
            .with_columns([pl.lit(None, v).alias(k) for k, v in QUERY_COLUMNS.items() if k != "query_id"])
        )
    q = (
        ensure_columns(q, QUERY_COLUMNS)
        .select(list(QUERY_COLUMNS))
        .unique("query_id", keep="first", maintain_order=True)
    )
    stats: dict[str, Any] = {"traces_in": t.height, "queries_in": q.height}

    # query-level difficulty (the same value on every trace of a query) for prompt-only outputs
    qd = t.group_by("query_id").agg(
        pl.col("difficulty").drop_nulls().first(), pl.col("pass_rate").drop_nulls().first(), pl.len().alias("samples")
    )
    q = q.join(qd, on="query_id", how="left")
    df = t.join(q.drop("difficulty", "pass_rate", "samples"), on="query_id", how="left")

    simplified = filters.reasoning == "simplified"
    reasoning = pl.coalesce("simplified_reasoning", "reasoning") if simplified else pl.col("reasoning")
    tokens = (
        pl.coalesce("simplified_tokens", "reasoning_tokens", "completion_tokens")
        if simplified
        else pl.coalesce("reasoning_tokens", "completion_tokens")
    )
    if simplified:
        stats["simplified_fallback_to_raw"] = int(
            df.filter(pl.col("simplified_reasoning").is_null() & pl.col("reasoning").is_not_null()).height
        )
    df = df.with_columns(reasoning.alias("export_reasoning"), tokens.alias("export_tokens"))
    df = df.with_columns(
        pl.when(pl.col("label").is_not_null())
        .then(pl.col("label") == "positive")
        .otherwise(pl.col("verdict") == "correct")
        .fill_null(False)
        .alias("positive"),
        user_prompt(df, filters.prompt).alias("prompt"),
    )

    mask = pl.lit(True)
    if filters.teachers:
        known = set(df["teacher"].unique().to_list())
        unknown = [x for x in filters.teachers if x not in known]
        if unknown:
            from ..errors import UserError

            raise UserError(
                f"--teacher {', '.join(unknown)}: no such teacher in this run; teachers: {', '.join(sorted(known))}"
            )
        mask &= pl.col("teacher").is_in(filters.teachers)
    qmask = pl.lit(True)
    if filters.min_difficulty is not None:
        mask &= pl.col("difficulty") >= filters.min_difficulty
        qmask &= pl.col("difficulty") >= filters.min_difficulty
    if filters.max_difficulty is not None:
        mask &= pl.col("difficulty") <= filters.max_difficulty
        qmask &= pl.col("difficulty") <= filters.max_difficulty
    if filters.min_tokens is not None:
        mask &= pl.col("export_tokens") >= filters.min_tokens
    if filters.max_tokens is not None:
        mask &= pl.col("export_tokens") <= filters.max_tokens
    df = df.filter(mask.fill_null(False))
    q = q.filter(qmask.fill_null(False))
    stats["traces_after_filters"] = df.height
    stats["queries_after_filters"] = q.height

    pairs = run.get("pairs")
    if pairs is not None:
        ids = df.select("trace_id")
        pairs = pairs.join(ids, left_on="chosen_trace_id", right_on="trace_id", how="semi").join(
            ids, left_on="rejected_trace_id", right_on="trace_id", how="semi"
        )
        stats["pairs_after_filters"] = pairs.height
    return ExportFrames(traces=df, queries=q, pairs=pairs, stats=stats)


def sft_rows(f: ExportFrames, positives_only: bool) -> pl.DataFrame:
    """One row per trace: messages (prompt turns + assistant turn) plus provenance columns."""
    df = f.traces.filter(pl.col("positive")) if positives_only else f.traces
    assistant = pl.struct(
        pl.lit("assistant").alias("role"),
        assistant_content(pl.col("export_reasoning"), pl.col("answer")).alias("content"),
    )
    return df.with_columns(pl.concat_list([pl.col("prompt"), pl.concat_list([assistant])]).alias("messages"))


def preference_rows(f: ExportFrames) -> pl.DataFrame:
    """prompt / chosen / rejected chat lists from the pairs table (TRL's conversational preference format)."""
    if f.pairs is None or f.pairs.height == 0:
        return pl.DataFrame(
            schema={
                "query_id": pl.Utf8,
                "prompt": CHAT,
                "chosen": CHAT,
                "rejected": CHAT,
                "chosen_trace_id": pl.Utf8,
                "rejected_trace_id": pl.Utf8,
                "chosen_teacher": pl.Utf8,
                "rejected_teacher": pl.Utf8,
                "source": pl.Utf8,
                "domain": pl.Utf8,
                "difficulty": pl.Float64,
                "rejected_finish_reason": pl.Utf8,
                "rejected_label": pl.Utf8,
            }
        )
    turn = pl.concat_list(
        [
            pl.struct(
                pl.lit("assistant").alias("role"),
                assistant_content(pl.col("export_reasoning"), pl.col("answer")).alias("content"),
            )
        ]
    )
    side = f.traces.select("trace_id", "teacher", "prompt", "source", "domain", "difficulty", turn.alias("turn"))
    out = (
        f.pairs.select("query_id", "chosen_trace_id", "rejected_trace_id")
        .join(
            side.rename({"trace_id": "chosen_trace_id", "turn": "chosen", "teacher": "chosen_teacher"}),
            on="chosen_trace_id",
        )
        .join(
            f.traces.select("trace_id", "teacher", "finish_reason", "label", turn.alias("turn")).rename(
                {
                    "trace_id": "rejected_trace_id",
                    "turn": "rejected",
                    "teacher": "rejected_teacher",
                    "finish_reason": "rejected_finish_reason",
                    "label": "rejected_label",
                }
            ),
            on="rejected_trace_id",
        )
    )
    # the rejected side's finish reason and label travel with the pair so trainers can drop cut-off negatives
    return out.select(
        "query_id",
        "prompt",
        "chosen",
        "rejected",
        "chosen_trace_id",
        "rejected_trace_id",
        "chosen_teacher",
        "rejected_teacher",
        "source",
        "domain",
        "difficulty",
        "rejected_finish_reason",
        "rejected_label",
    )


def prompt_rows(f: ExportFrames) -> pl.DataFrame:
    """One row per query with a ground truth (reference answer or tests): prompt-only RL data."""
    q = f.queries.filter(pl.col("reference_answer").is_not_null() | pl.col("tests").is_not_null())
    f.stats["prompts_without_ground_truth"] = f.queries.height - q.height
    return q.with_columns(
        pl.concat_list([pl.struct(pl.lit("user").alias("role"), pl.col("problem").alias("content"))]).alias("prompt"),
        pl.coalesce("reference_answer", "tests").alias("solution"),
    )
