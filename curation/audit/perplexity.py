"""The audit's per-teacher perplexity under one fixed reference LM (the scorer: `curation.text.lm_scoring`).

Perplexity is only comparable across teachers under the same reference model and tokenizer (methods.md §4
pitfalls), so the model name is stored next to the numbers.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..text.lm_scoring import text_perplexities


def teacher_perplexity(
    df: pl.DataFrame,
    model_path: str,
    *,
    text_col: str = "completion",
    max_per_teacher: int = 200,
    batch_size: int = 8,
    max_tokens: int = 1024,
) -> dict[str, Any]:
    """Per-teacher mean/median perplexity over up to `max_per_teacher` traces (first by trace_id: deterministic)."""
    sample = (
        df.filter(pl.col(text_col).is_not_null() & (pl.col(text_col).str.len_chars() > 0))
        .sort("teacher", "trace_id")
        .with_columns(pl.int_range(pl.len()).over("teacher").alias("_r"))
        .filter(pl.col("_r") < max_per_teacher)
        .drop("_r")
    )
    ppl = text_perplexities(sample[text_col].to_list(), model_path, batch_size=batch_size, max_tokens=max_tokens)
    sample = sample.with_columns(pl.Series("ppl", ppl))
    by = (
        sample.group_by("teacher")
        .agg(
            pl.len().alias("n"),
            pl.col("ppl").mean().alias("ppl_mean"),
            pl.col("ppl").median().alias("ppl_median"),
            pl.col("ppl").quantile(0.9, interpolation="linear").alias("ppl_p90"),
        )
        .sort("teacher")
    )
    return {
        "computed": True,
        "model": model_path,
        "max_tokens": max_tokens,
        "by_teacher": by,
        "values": sample.select("teacher", "trace_id", "ppl"),
    }
