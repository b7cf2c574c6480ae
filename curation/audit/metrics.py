"""Per-teacher quality numbers, computed as polars/DuckDB group-bys (no Python loops over rows).

Definitions (also printed in the report's glossary, so a reader knows what each number means):
- pass rate = correct samples / all samples of the teacher (truncated, malformed and unverifiable count as not
  passing); its 95% interval is Wilson's score interval.
- truncated = finish_reason 'length' or verdict 'truncated'.
- malformed = an error was recorded, verdict 'error', or no final answer text although the sample was not truncated.
- unverifiable share = verdict 'unverifiable'.
- difficulty = 1 − pass rate of the query over all samples of all teachers (the select stage's column; recomputed
  the same way when select did not run).
- difficulty bucket (pass rate by difficulty) = the query's difficulty for the OTHER teachers (1 − their pass rate
  on it): with the teacher's own samples counted, "solved by all" would be 100% by construction. Null where no
  other teacher answered the query.
- reasoning length counts only traces whose reasoning is separate from the answer (think tags or a known marker
  family); a teacher with none shows "–", not 0.
- Cohen's κ is n/a where a teacher passes all or none of the shared queries (κ is then 0 whatever happens).
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from ..intervals import wilson
from ..rundata import RunTables, col

DIFFICULTY_BUCKETS = [
    "solved by all others (d=0)",
    "mostly solved by others (0<d≤0.5)",
    "mostly failed by others (0.5<d<1)",
    "solved by no other (d=1)",
]
LENGTH_BINS = [0, 256, 512, 1024, 2048, 4096, 8192, 16384]


def base_frame(run: RunTables) -> pl.DataFrame:
    """One row per trace with the derived flags and lengths every metric uses."""
    t = run.get("traces")
    q = run.get("queries")
    assert t is not None
    df = t.select(
        col(t, "trace_id"),
        col(t, "query_id"),
        pl.col("teacher").cast(pl.Utf8),
        col(t, "model"),
        col(t, "sample_index", pl.Int64),
        col(t, "verdict"),
        col(t, "finish_reason"),
        col(t, "error"),
        col(t, "answer"),
        col(t, "reasoning"),
        col(t, "completion"),
        col(t, "extracted_answer"),
        col(t, "completion_tokens", pl.Int64).cast(pl.Int64),
        col(t, "reasoning_tokens", pl.Int64).cast(pl.Int64),
        col(t, "simplified_tokens", pl.Int64).cast(pl.Int64),
        col(t, "pass_rate", pl.Float64),
        col(t, "difficulty", pl.Float64),
        col(t, "label"),
        col(t, "sampling"),
    )
    if q is not None and "source" in q.columns:
        df = df.join(
            q.select("query_id", pl.col("source").alias("source"), col(q, "domain").alias("domain")).unique("query_id"),
            on="query_id",
            how="left",
        )
    else:
        df = df.with_columns(pl.lit(None, pl.Utf8).alias("source"), pl.lit(None, pl.Utf8).alias("domain"))
    df = df.with_columns(
        pl.col("source").fill_null("(unknown)"),
        (pl.col("verdict") == "correct").fill_null(False).alias("correct"),
        ((pl.col("finish_reason") == "length") | (pl.col("verdict") == "truncated"))
        .fill_null(False)
        .alias("truncated"),
        (pl.col("verdict") == "unverifiable").fill_null(False).alias("unverifiable"),
        pl.col("reasoning").str.len_chars().alias("reasoning_chars"),  # null: no separate reasoning
        pl.col("answer").str.len_chars().fill_null(0).alias("answer_chars"),
    )
    df = df.with_columns(
        (
            pl.col("error").is_not_null()
            | (pl.col("verdict") == "error").fill_null(False)
            | ((pl.col("answer").str.strip_chars().str.len_chars().fill_null(0) == 0) & ~pl.col("truncated"))
        ).alias("malformed"),
        pl.when(
            pl.col("completion_tokens").is_not_null()
            & pl.col("reasoning_tokens").is_not_null()
            & (pl.col("completion_tokens") >= pl.col("reasoning_tokens"))
        )
        .then(pl.col("completion_tokens") - pl.col("reasoning_tokens"))
        .otherwise(None)
        .alias("answer_tokens"),
    )
    if df["difficulty"].null_count() == df.height and df["verdict"].null_count() < df.height:
        per_q = df.group_by("query_id").agg(pl.col("correct").mean().alias("_pr"))
        df = (
            df.join(per_q, on="query_id", how="left")
            .with_columns(pl.col("_pr").alias("pass_rate"), (1 - pl.col("_pr")).alias("difficulty"))
            .drop("_pr")
        )
    # difficulty for the other teachers (leave this teacher out), which buckets the pass rate
    per_qt = df.group_by("query_id", "teacher").agg(pl.col("correct").sum().alias("_c"), pl.len().alias("_n"))
    per_qt = per_qt.with_columns(
        (pl.col("_c").sum().over("query_id") - pl.col("_c")).alias("_oc"),
        (pl.col("_n").sum().over("query_id") - pl.col("_n")).alias("_on"),
    )
    df = df.join(
        per_qt.select(
            "query_id",
            "teacher",
            pl.when(pl.col("_on") > 0)
            .then(1 - pl.col("_oc") / pl.col("_on"))
            .otherwise(None)
            .alias("difficulty_others"),
        ),
        on=["query_id", "teacher"],
        how="left",
    )
    if df["verdict"].null_count() == df.height:
        df = df.with_columns(pl.lit(None, pl.Float64).alias("difficulty_others"))
    d = pl.col("difficulty_others")
    df = df.with_columns(
        pl.when(d.is_null())
        .then(None)
        .when(d <= 0)
        .then(pl.lit(DIFFICULTY_BUCKETS[0]))
        .when(d <= 0.5)
        .then(pl.lit(DIFFICULTY_BUCKETS[1]))
        .when(d < 1)
        .then(pl.lit(DIFFICULTY_BUCKETS[2]))
        .otherwise(pl.lit(DIFFICULTY_BUCKETS[3]))
        .alias("difficulty_bucket")
    )
    return df


def _rate_table(df: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    lo, hi = wilson(pl.col("correct_n"), pl.col("n"))
    return (
        df.group_by(keys, maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("correct").sum().alias("correct_n"))
        .with_columns((pl.col("correct_n") / pl.col("n")).alias("pass_rate"))
        .with_columns(lo.alias("ci_low"), hi.alias("ci_high"))
        .sort(keys)
    )


def pass_rates(df: pl.DataFrame) -> dict[str, Any]:
    """Overall / by source / by difficulty bucket, each with Wilson intervals, plus failure-mode rates."""
    overall = (
        df.group_by("teacher")
        .agg(
            pl.len().alias("n"),
            pl.col("query_id").n_unique().alias("queries"),
            pl.col("correct").sum().alias("correct_n"),
            pl.col("truncated").mean().alias("truncation_rate"),
            pl.col("malformed").mean().alias("malformed_rate"),
            pl.col("unverifiable").mean().alias("unverifiable_share"),
            (pl.col("verdict") == "incorrect").sum().alias("incorrect_n"),
        )
        .with_columns(
            (pl.col("correct_n") / pl.col("n")).alias("pass_rate"),
            (pl.col("n") / pl.col("queries")).alias("samples_per_query"),
        )
    )
    lo, hi = wilson(pl.col("correct_n"), pl.col("n"))
    overall = overall.with_columns(lo.alias("ci_low"), hi.alias("ci_high")).sort("teacher")
    by_bucket = _rate_table(df.filter(pl.col("difficulty_bucket").is_not_null()), ["teacher", "difficulty_bucket"])
    return {
        "overall": overall,
        "by_source": _rate_table(df, ["teacher", "source"]),
        "by_difficulty": by_bucket,
    }


def _dist(expr: pl.Expr, name: str) -> list[pl.Expr]:
    return [
        expr.count().alias(f"{name}_n"),
        expr.mean().alias(f"{name}_mean"),
        *[
            expr.quantile(q, interpolation="linear").alias(f"{name}_p{int(q * 100)}")
            for q in (0.1, 0.25, 0.5, 0.75, 0.9)
        ],
        expr.max().alias(f"{name}_max"),
    ]


def lengths(df: pl.DataFrame) -> dict[str, Any]:
    """Token (and character) length distributions, length vs correctness, and adaptive length."""
    have_tokens = df["reasoning_tokens"].null_count() < df.height
    reasoning = pl.col("reasoning_tokens") if have_tokens else pl.col("completion_tokens")
    dist = (
        df.group_by("teacher")
        .agg(
            *_dist(pl.col("reasoning_tokens"), "reasoning_tokens"),
            *_dist(pl.col("answer_tokens"), "answer_tokens"),
            *_dist(pl.col("completion_tokens"), "completion_tokens"),
            *_dist(pl.col("reasoning_chars"), "reasoning_chars"),
            *_dist(pl.col("answer_chars"), "answer_chars"),
        )
        .sort("teacher")
    )
    vs_correct = (
        df.filter(pl.col("verdict").is_in(["correct", "incorrect"]))
        .group_by("teacher", "verdict")
        .agg(pl.len().alias("n"), reasoning.mean().alias("mean_tokens"), reasoning.median().alias("median_tokens"))
        .sort("teacher", "verdict")
    )
    adaptive_buckets = (
        df.filter(pl.col("difficulty_bucket").is_not_null())
        .group_by("teacher", "difficulty_bucket")
        .agg(pl.len().alias("n"), reasoning.mean().alias("mean_tokens"), reasoning.median().alias("median_tokens"))
        .sort("teacher", "difficulty_bucket")
    )
    adaptive = (
        df.filter(pl.col("difficulty").is_not_null() & reasoning.is_not_null())
        .group_by("teacher")
        .agg(
            pl.len().alias("n"),
            pl.corr(pl.col("difficulty"), reasoning.cast(pl.Float64), method="spearman").alias("spearman_rho"),
        )
        .with_columns(pl.col("spearman_rho").fill_nan(None))
        .sort("teacher")
    )
    return {
        "token_column": "reasoning_tokens" if have_tokens else "completion_tokens",
        "answer_tokens_computed": df["answer_tokens"].null_count() < df.height,
        "distribution": dist,
        "vs_correctness": vs_correct,
        "adaptive_by_bucket": adaptive_buckets,
        "adaptive": adaptive,
    }


def structure(run: RunTables, df: pl.DataFrame) -> dict[str, Any] | None:
    """DLCoT structure stats from the `segments` column; None (shown as "not computed") when segment did not run."""
    t = run.get("traces")
    if t is None or not run.has("traces", "segments"):
        return None
    seg = (
        t.select("trace_id", "teacher", "segments")
        .filter(pl.col("segments").is_not_null())
        .explode("segments")
        .unnest("segments")
        .filter(pl.col("kind").is_not_null())
        .with_columns((pl.col("end") - pl.col("start")).clip(0).alias("chars"))
    )
    if seg.height == 0:
        return None
    per_trace = seg.group_by("trace_id", "teacher").agg(
        pl.col("approach").filter(pl.col("kind") == "approach").n_unique().alias("approaches"),
        (pl.col("kind") == "verification").sum().alias("verification_steps"),
        pl.when(pl.col("chars").sum() > 0)
        .then(pl.col("chars").filter(pl.col("kind") == "verification").sum() / pl.col("chars").sum())
        .otherwise(None)
        .alias("verification_share"),
        ((pl.col("kind") == "approach") & (pl.col("approach") == 1) & (pl.col("verdict") == "correct"))
        .any()
        .alias("first_approach_correct"),
        (pl.col("kind") == "approach").any().alias("has_approach"),
    )
    reduction = df.filter(
        pl.col("reasoning_tokens").is_not_null()
        & pl.col("simplified_tokens").is_not_null()
        & (pl.col("reasoning_tokens") > 0)
    )
    red = reduction.group_by("teacher").agg(
        (1 - pl.col("simplified_tokens").sum() / pl.col("reasoning_tokens").sum()).alias("token_reduction"),
        (1 - pl.col("simplified_tokens") / pl.col("reasoning_tokens")).mean().alias("mean_trace_reduction"),
    )
    summary = (
        per_trace.group_by("teacher")
        .agg(
            pl.len().alias("segmented_traces"),
            pl.col("approaches").mean().alias("approaches_mean"),
            pl.col("approaches").median().alias("approaches_median"),
            pl.col("verification_steps").mean().alias("verification_steps_mean"),
            pl.col("verification_share").mean().alias("verification_share"),
            pl.col("first_approach_correct").filter(pl.col("has_approach")).mean().alias("first_approach_correct"),
        )
        .join(red, on="teacher", how="left")
        .sort("teacher")
    )
    kinds = (
        seg.group_by("teacher", "kind")
        .agg(pl.col("chars").sum().alias("chars"))
        .with_columns((pl.col("chars") / pl.col("chars").sum().over("teacher")).alias("share"))
        .sort("teacher", "kind")
    )
    return {"summary": summary, "kind_share": kinds}


def agreement(df: pl.DataFrame) -> dict[str, Any] | None:
    """Inter-teacher agreement on the first sample of each shared query: same final answer (two verified-correct
    answers agree, being both equivalent to the reference; otherwise the extracted answers must match after light
    LaTeX normalisation), and Cohen's κ on pass/fail. DuckDB does the self-join."""
    import duckdb

    if df["teacher"].n_unique() < 2:
        return None
    first = (
        df.sort("sample_index", nulls_last=True)
        .group_by("teacher", "query_id", maintain_order=True)
        .first()
        .select(
            "teacher",
            "query_id",
            "correct",
            "verdict",
            pl.col("extracted_answer")
            .str.replace_all(r"\\[dt]frac", r"\frac")
            .str.replace_all(r"\^\{?\\circ\}?", "")
            .str.replace_all(r"(\s|\$|\\left|\\right|\\!|\\,|\\boxed|\\text)", "")
            .str.strip_chars(".")
            .str.to_lowercase()
            .alias("ans"),
        )
    )
    con = duckdb.connect()
    try:
        con.register("f", first.to_arrow())
        out = con.sql("""
            SELECT a.teacher AS teacher_a, b.teacher AS teacher_b, count(*) AS shared_queries,
                   avg(CASE WHEN a.correct AND b.correct THEN 1
                            WHEN (a.correct AND b.verdict = 'incorrect') OR (b.correct AND a.verdict = 'incorrect')
                                THEN 0
                            WHEN a.ans IS NOT NULL AND b.ans IS NOT NULL THEN (a.ans = b.ans)::INT END)
                       AS answer_agreement,
                   count(CASE WHEN (a.correct AND b.correct) OR (a.correct AND b.verdict = 'incorrect')
                               OR (b.correct AND a.verdict = 'incorrect')
                               OR (a.ans IS NOT NULL AND b.ans IS NOT NULL) THEN 1 END) AS answers_compared,
                   avg((a.correct = b.correct)::INT) AS verdict_agreement,
                   avg(a.correct::INT) AS pa, avg(b.correct::INT) AS pb
            FROM f a JOIN f b ON a.query_id = b.query_id AND a.teacher < b.teacher
            GROUP BY 1, 2 ORDER BY 1, 2
        """).pl()
    finally:
        con.close()
    pe = pl.col("pa") * pl.col("pb") + (1 - pl.col("pa")) * (1 - pl.col("pb"))
    # a teacher that passes all or none of the shared queries gives κ = 0 whatever the other does: undefined
    constant = pl.col("pa").is_in([0.0, 1.0]) | pl.col("pb").is_in([0.0, 1.0])
    out = out.with_columns(
        pl.when(~constant & ((1 - pe).abs() > 1e-12))
        .then((pl.col("verdict_agreement") - pe) / (1 - pe))
        .otherwise(None)
        .alias("cohen_kappa")
    ).drop("pa", "pb")
    return {"pairs": out}


def to_records(df: pl.DataFrame | None) -> list[dict[str, Any]] | None:
    """JSON-safe rows (NaN → None) for audit.json."""
    if df is None:
        return None
    rows = df.to_dicts()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
                r[k] = None
    return rows
