"""Teacher ranking: by pass rate with its 95% interval; every other criterion is its own column.

Teachers whose Wilson intervals overlap are not told apart: a teacher's rank is 1 + the number of teachers whose
interval lies wholly above its own, so overlapping teachers share a rank (shown "=2"). A composite score is opt-in
(`composite` weights from the user) and scores each teacher from its own values only, through fixed transforms
to [0, 1]; it never scales against the other teachers, so adding or removing one teacher cannot reorder the rest.
No criterion has a built-in direction that a user could not want: length is scored only when the user weights it,
and "fewer tokens is better" is then the user's choice (`tokens_correct`), not a default of a long-CoT tool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import polars as pl

from ..errors import UserError


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    higher_is_better: bool | None  # None: no direction (shown, never scored unless weighted)
    unit: Callable[[float], float]  # the teacher's own value → [0, 1], 1 = better; fixed, not relative
    short: str = ""
    unit_doc: str = ""


def _clip(x: float) -> float:
    return min(1.0, max(0.0, x))


TOKENS_SCALE = 4096.0  # tokens_correct in the composite: 1 / (1 + tokens / 4096)

CRITERIA = [
    Criterion("pass_rate", "pass rate", True, _clip, "pass rate ↑", "the rate itself"),
    Criterion("truncation_rate", "truncation rate", False, lambda x: _clip(1 - x), "truncated ↓", "1 − rate"),
    Criterion("malformed_rate", "malformed rate", False, lambda x: _clip(1 - x), "malformed ↓", "1 − rate"),
    Criterion(
        "tokens_correct",
        "median tokens of correct traces",
        None,
        lambda x: 1 / (1 + max(x, 0.0) / TOKENS_SCALE),
        "tokens (correct)",
        f"1 / (1 + tokens / {TOKENS_SCALE:.0f}): fewer is better, only if you weight it",
    ),
    Criterion("distinct_2", "distinct-2 (lexical diversity)", True, _clip, "distinct-2 ↑", "the value itself"),
    Criterion(
        "adaptive_rho",
        "length–difficulty correlation (adaptive length)",
        True,
        lambda x: _clip((x + 1) / 2),
        "adaptive ρ ↑",
        "(ρ + 1) / 2",
    ),
    Criterion(
        "ppl_mean", "perplexity under reference LM", False, lambda x: 1 / max(x, 1.0), "perplexity ↓", "1 / perplexity"
    ),
]
BY_KEY = {c.key: c for c in CRITERIA}


def parse_weights(specs: list[str] | None) -> dict[str, float] | None:
    """`["pass_rate=0.7", "distinct_2=0.3"]` → weights; None when no composite was asked for."""
    if not specs:
        return None
    out: dict[str, float] = {}
    for s in specs:
        key, sep, val = s.partition("=")
        key = key.strip()
        if not sep or key not in BY_KEY:
            raise UserError(f"--weight {s!r}: expected CRITERION=WEIGHT with CRITERION one of {', '.join(BY_KEY)}")
        try:
            w = float(val)
        except ValueError:
            raise UserError(f"--weight {s!r}: {val!r} is not a number") from None
        if not w >= 0 or math.isinf(w):
            raise UserError(f"--weight {s!r}: a weight is a finite number ≥ 0")
        out[key] = w
    if sum(out.values()) <= 0:
        raise UserError("--weight: all weights are 0; give at least one positive weight")
    return out


def interval_ranks(rows: list[dict[str, Any]]) -> list[int | None]:
    """1 + number of teachers whose pass-rate interval lies wholly above this one's (None: no interval)."""
    out: list[int | None] = []
    for r in rows:
        if r.get("ci_high") is None or r.get("pass_rate") is None:
            out.append(None)
            continue
        out.append(
            1 + sum(1 for o in rows if o is not r and o.get("ci_low") is not None and o["ci_low"] > r["ci_high"])
        )
    return out


def composite(table: pl.DataFrame, weights: dict[str, float]) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """`composite` column: Σ w·unit(value) / Σ w over the weighted criteria, per teacher from its own values.
    A teacher missing a weighted value gets no score (null) rather than a score from fewer criteria."""
    missing = [k for k in weights if k not in table.columns or table[k].null_count() == table.height]
    if missing:
        raise UserError(
            f"--weight {', '.join(missing)}: not computed for this run (e.g. perplexity needs "
            "--ppl-model, pass rate needs the verify stage); drop the weight or compute it"
        )
    total = sum(weights.values())
    used = [(BY_KEY[k], w / total) for k, w in weights.items() if w > 0]
    score = None
    for c, w in used:
        part = pl.col(c.key).cast(pl.Float64).map_elements(c.unit, return_dtype=pl.Float64) * w
        score = part if score is None else score + part
    out = table.with_columns(score.alias("composite"))
    return out, [{"key": c.key, "label": c.label, "weight": round(w, 4), "unit": c.unit_doc} for c, w in used]


def rank(table: pl.DataFrame, weights: dict[str, float] | None = None) -> dict[str, Any]:
    """`table`: one row per teacher with `pass_rate`, `ci_low`, `ci_high`, `n` and any other criteria columns.
    Rows are ordered by pass rate (then n); `rank` ties teachers whose intervals overlap, `tied` says so.
    With `weights`, a `composite` column and its own `composite_rank` are added (the order stays by pass rate)."""
    shown = [c for c in CRITERIA if c.key in table.columns and table[c.key].null_count() < table.height]
    has_rate = any(c.key == "pass_rate" for c in shown)
    ordered = table.sort(["pass_rate", "n"], descending=True, nulls_last=True) if has_rate else table.sort("teacher")
    rows = ordered.to_dicts()
    ranks = interval_ranks(rows) if has_rate else [None] * len(rows)
    counts: dict[int, int] = {}
    for r in ranks:
        if r is not None:
            counts[r] = counts.get(r, 0) + 1
    # a rank is "tied" when another teacher's interval overlaps this one's (the two cannot be told apart)
    tied = [
        r is not None
        and any(
            o is not row
            and o.get("ci_low") is not None
            and row.get("ci_low") is not None
            and o["ci_low"] <= row["ci_high"]
            and row["ci_low"] <= o["ci_high"]
            for o in rows
        )
        for row, r in zip(rows, ranks)
    ]
    out = ordered.with_columns(pl.Series("rank", ranks, dtype=pl.Int64), pl.Series("tied", tied, dtype=pl.Boolean))
    out = out.with_columns(
        pl.when(pl.col("rank").is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(pl.col("tied"))
        .then(pl.concat_str([pl.lit("="), pl.col("rank").cast(pl.Utf8)]))
        .otherwise(pl.col("rank").cast(pl.Utf8))
        .alias("rank_label")
    )
    weights_used: list[dict[str, Any]] = []
    if weights:
        out, weights_used = composite(out, weights)
        out = out.with_columns(pl.col("composite").rank("min", descending=True).cast(pl.Int64).alias("composite_rank"))
    return {
        "order": "pass_rate" if has_rate else "teacher (no verdicts: not ranked)",
        "criteria": [
            {"key": c.key, "label": c.label, "short": c.short or c.label, "higher_is_better": c.higher_is_better}
            for c in shown
        ],
        "not_used": [c.key for c in CRITERIA if c not in shown],
        "composite": {"weights": weights_used, "opt_in": True} if weights else None,
        "table": out,
    }
