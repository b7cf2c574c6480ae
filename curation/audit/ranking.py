"""A transparent ranking of teachers: each criterion min-max scaled to [0, 1] (1 = best), weighted mean.

Criteria that were not computed for this run drop out and the remaining weights are renormalised; the report
shows every criterion's raw value, its scaled score and its weight, so the ranking can be argued with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    higher_is_better: bool
    weight: float
    short: str = ""


CRITERIA = [
    Criterion("pass_rate", "pass rate", True, 0.40, "pass rate ↑"),
    Criterion("truncation_rate", "truncation rate", False, 0.10, "truncated ↓"),
    Criterion("malformed_rate", "malformed rate", False, 0.10, "malformed ↓"),
    Criterion("tokens_correct", "median tokens of correct traces (efficiency)", False, 0.15, "tokens (correct) ↓"),
    Criterion("distinct_2", "distinct-2 (lexical diversity)", True, 0.10, "distinct-2 ↑"),
    Criterion("adaptive_rho", "length–difficulty correlation (adaptive length)", True, 0.05, "adaptive ρ ↑"),
    Criterion("ppl_mean", "perplexity under reference LM", False, 0.10, "perplexity ↓"),
]


def rank(table: pl.DataFrame, criteria: list[Criterion] = CRITERIA) -> dict[str, Any]:
    """`table`: one row per teacher with any of the criteria columns. Returns the ranked rows and the criteria
    that were used."""
    used = [c for c in criteria if c.key in table.columns and table[c.key].null_count() < table.height]
    total = sum(c.weight for c in used) or 1.0
    scored = table
    exprs = []
    for c in used:
        x = pl.col(c.key).cast(pl.Float64)
        lo, hi = x.min(), x.max()
        frac = (x - lo) / (hi - lo)
        if not c.higher_is_better:
            frac = 1 - frac
        scaled = pl.when(hi > lo).then(frac).otherwise(pl.lit(1.0))  # a tie favours nobody
        exprs.append(scaled.fill_null(0.0).alias(f"score_{c.key}"))
    scored = scored.with_columns(exprs) if exprs else scored
    if used:
        score = sum(pl.col(f"score_{c.key}") * (c.weight / total) for c in used)
        scored = scored.with_columns(score.alias("score"))
    else:
        scored = scored.with_columns(pl.lit(None, pl.Float64).alias("score"))
    scored = scored.sort("score", descending=True, nulls_last=True).with_row_index("rank", offset=1)
    return {
        "criteria": [{"key": c.key, "label": c.label, "short": c.short or c.label, "higher_is_better": c.higher_is_better,
                      "weight": round(c.weight / total, 4)} for c in used],
        "not_used": [c.key for c in criteria if c not in used],
        "table": scored,
    }
