"""Wilson score intervals for pass rates: one formula for the audit's tables (polars expressions) and the dataset
cards export writes (scalars)."""

from __future__ import annotations

import math

import polars as pl

Z95 = 1.959963984540054


def wilson(passed: pl.Expr, n: pl.Expr, z: float = Z95) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval (low, high) for passed/n, as expressions (n = 0 gives nulls)."""
    nf = n.cast(pl.Float64)
    p = passed.cast(pl.Float64) / nf
    denom = 1 + z * z / nf
    centre = (p + z * z / (2 * nf)) / denom
    half = z * ((p * (1 - p) / nf + z * z / (4 * nf * nf)).sqrt()) / denom
    ok = n > 0
    return (
        pl.when(ok).then((centre - half).clip(0, 1)).otherwise(None),
        pl.when(ok).then((centre + half).clip(0, 1)).otherwise(None),
    )


def wilson_scalar(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    p = passed / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))
