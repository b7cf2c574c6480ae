"""The audit's figures (matplotlib, Agg backend): one function per figure, each returns PNG bytes or None.

Teachers keep the same colour in every figure, so a reader can follow one teacher down the page.
"""

from __future__ import annotations

import io
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl

from .metrics import DIFFICULTY_BUCKETS, LENGTH_BINS

VERDICT_COLORS = {
    "correct": "#3a923a",
    "incorrect": "#d62728",
    "truncated": "#ff9f1c",
    "unverifiable": "#9e9e9e",
    "error": "#6a3d9a",
    "(none)": "#cfcfcf",
}


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "font.size": 9.5,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.25,
            "legend.frameon": False,
            "font.family": "DejaVu Sans",
        }
    )
    return plt


def palette(teachers: list[str]) -> dict[str, Any]:
    plt = _plt()
    cmap = plt.get_cmap("tab10" if len(teachers) <= 10 else "tab20")
    return {t: cmap(i % cmap.N) for i, t in enumerate(teachers)}


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    _plt().close(fig)
    return buf.getvalue()


def _height(n: int, per: float = 0.42, base: float = 1.4) -> float:
    return base + per * n


def outcomes(df: pl.DataFrame, teachers: list[str]) -> bytes | None:
    if df["verdict"].null_count() == df.height:
        return None
    plt = _plt()
    shares = (
        df.with_columns(pl.col("verdict").fill_null("(none)"))
        .group_by("teacher", "verdict")
        .agg(pl.len().alias("n"))
        .with_columns((pl.col("n") / pl.col("n").sum().over("teacher")).alias("share"))
    )
    verdicts = [v for v in VERDICT_COLORS if v in set(shares["verdict"].to_list())]
    fig, ax = plt.subplots(figsize=(8.6, _height(len(teachers))))
    _stacked_shares(
        ax, teachers, shares, "verdict", verdicts, VERDICT_COLORS, min_label=0.07, fontsize=8.5, fontweight="bold"
    )
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_title("What happened to each teacher's samples")
    ax.legend(ncol=len(verdicts), loc="upper center", bbox_to_anchor=(0.5, -0.08))
    ax.grid(axis="y", visible=False)
    return _png(fig)


def _stacked_shares(
    ax,
    teachers: list[str],
    shares: pl.DataFrame,
    key: str,
    keys: list[str],
    colors: dict[str, Any],
    min_label: float,
    **text_kw: Any,
) -> None:
    """Horizontal 100% bars, one per teacher, one segment per `key` value, labelled where wide enough."""
    left = np.zeros(len(teachers))
    for k in keys:
        sub = dict(shares.filter(pl.col(key) == k).select("teacher", "share").iter_rows())
        vals = np.array([sub.get(t, 0.0) for t in teachers])
        ax.barh(teachers, vals, left=left, color=colors[k], label=k, height=0.62)
        for i, (lft, w) in enumerate(zip(left, vals)):
            if w >= min_label:
                ax.text(lft + w / 2, i, f"{w:.0%}", ha="center", va="center", color="white", **text_kw)
        left += vals


def pass_rate_ci(overall: pl.DataFrame, colors: dict[str, Any]) -> bytes | None:
    if overall.height == 0:
        return None
    plt = _plt()
    rows = overall.sort("pass_rate", descending=True)
    teachers = rows["teacher"].to_list()
    p, lo, hi = (rows[c].to_numpy() for c in ("pass_rate", "ci_low", "ci_high"))
    fig, ax = plt.subplots(figsize=(8.6, _height(len(teachers))))
    y = np.arange(len(teachers))
    for i, t in enumerate(teachers):
        ax.plot([lo[i], hi[i]], [i, i], color=colors[t], lw=3, alpha=0.45, solid_capstyle="round")
        ax.plot(p[i], i, "o", color=colors[t], ms=9)
        ax.text(hi[i] + 0.015, i, f"{p[i]:.1%}  (n={rows['n'][i]})", va="center", fontsize=8.5)
    ax.set_yticks(y, teachers)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.18)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}" if x <= 1 else ""))
    ax.set_title("Pass rate with 95% Wilson interval")
    ax.grid(axis="y", visible=False)
    return _png(fig)


def pass_by_difficulty(by_diff: pl.DataFrame, colors: dict[str, Any]) -> bytes | None:
    if by_diff.height == 0:
        return None
    plt = _plt()
    buckets = [b for b in DIFFICULTY_BUCKETS if b in set(by_diff["difficulty_bucket"].to_list())]
    teachers = [t for t in colors if t in set(by_diff["teacher"].to_list())]
    fig, ax = plt.subplots(figsize=(8.6, 3.8))
    width = 0.8 / max(1, len(teachers))
    x = np.arange(len(buckets))
    for i, t in enumerate(teachers):
        sub = {r["difficulty_bucket"]: r for r in by_diff.filter(pl.col("teacher") == t).iter_rows(named=True)}
        vals = np.array([sub[b]["pass_rate"] if b in sub else np.nan for b in buckets])
        lo = np.array([sub[b]["ci_low"] if b in sub else np.nan for b in buckets])
        hi = np.array([sub[b]["ci_high"] if b in sub else np.nan for b in buckets])
        xs = x - 0.4 + width * (i + 0.5)
        ax.bar(xs, vals, width=width * 0.92, color=colors[t], label=t)
        ax.errorbar(
            xs,
            vals,
            yerr=np.clip([vals - lo, hi - vals], 0, None),
            fmt="none",
            ecolor="#333",
            elinewidth=0.8,
            capsize=2,
        )
    ax.set_xticks(x, [b.replace(" (", "\n(") for b in buckets])
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_title("Pass rate by query difficulty (d = 1 − pass rate of the other teachers)")
    ax.legend(ncol=min(3, len(teachers)), loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8)
    ax.grid(axis="x", visible=False)
    return _png(fig)


def _values(df: pl.DataFrame, teacher: str, column: str, extra: pl.Expr | None = None) -> np.ndarray:
    sub = df.filter(pl.col("teacher") == teacher)
    if extra is not None:
        sub = sub.filter(extra)
    return sub[column].drop_nulls().cast(pl.Float64).to_numpy()


def length_hist(df: pl.DataFrame, column: str, colors: dict[str, Any], label: str) -> bytes | None:
    if df[column].null_count() == df.height:
        return None
    plt = _plt()
    teachers = list(colors)
    vmax = float(df[column].max() or 1)
    bins = [b for b in LENGTH_BINS if b < vmax] + [max(vmax + 1, LENGTH_BINS[1])]
    labels = [f"<{bins[1]}"] + [
        f"{int(a)}–{int(b)}" if i < len(bins) - 3 else f"≥{int(a)}" for i, (a, b) in enumerate(pairwise(bins[1:]))
    ]
    cols = min(3, len(teachers))
    nrows = int(np.ceil(len(teachers) / cols))
    fig, axes = plt.subplots(nrows, cols, figsize=(8.8, 2.3 * nrows + 0.4), squeeze=False, sharey=True)
    for ax, t in zip(axes.flat, teachers):
        v = _values(df, t, column)
        counts, _ = np.histogram(v, bins=bins)
        share = counts / max(1, counts.sum())
        ax.bar(range(len(share)), share, color=colors[t], width=0.85)
        ax.set_xticks(range(len(share)), labels, rotation=45, ha="right", fontsize=7)
        med = np.median(v) if v.size else float("nan")
        ax.set_title(f"{t}\nmedian {med:,.0f} · n={v.size}", fontsize=8.5)
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y:.0%}"))
        ax.grid(axis="x", visible=False)
    for ax in list(axes.flat)[len(teachers) :]:
        ax.axis("off")
    fig.suptitle(f"{label} per trace (share of traces per length bin)", fontweight="bold", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def length_vs_correct(df: pl.DataFrame, column: str, colors: dict[str, Any]) -> bytes | None:
    sub = df.filter(pl.col("verdict").is_in(["correct", "incorrect"]) & pl.col(column).is_not_null())
    if sub.height == 0:
        return None
    plt = _plt()
    teachers = [t for t in colors if t in set(sub["teacher"].to_list())]
    fig, ax = plt.subplots(figsize=(8.6, _height(len(teachers), 0.62, 1.6)))
    data, pos, cols = [], [], []
    for i, t in enumerate(teachers):
        for j, v in enumerate(["correct", "incorrect"]):
            vals = _values(sub, t, column, pl.col("verdict") == v)
            if vals.size:
                data.append(vals)
                pos.append(i * 1.0 + (j - 0.5) * 0.36)
                cols.append(VERDICT_COLORS[v])
    bp = ax.boxplot(
        data,
        positions=pos,
        orientation="horizontal",
        widths=0.3,
        patch_artist=True,
        showfliers=True,
        flierprops={"markersize": 3, "alpha": 0.5},
        medianprops={"color": "black"},
    )
    for patch, c in zip(bp["boxes"], cols):
        patch.set_facecolor(c)
        patch.set_alpha(0.75)
    ax.set_yticks(range(len(teachers)), teachers)
    ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=100)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"{column.replace('_', ' ')} (symlog scale)")
    ax.set_title("Length vs correctness (green = correct, red = incorrect)")
    ax.grid(axis="y", visible=False)
    return _png(fig)


def adaptive_length(buckets: pl.DataFrame, colors: dict[str, Any], column: str) -> bytes | None:
    if buckets.height == 0:
        return None
    plt = _plt()
    order = [b for b in DIFFICULTY_BUCKETS if b in set(buckets["difficulty_bucket"].to_list())]
    fig, ax = plt.subplots(figsize=(8.6, 3.6))
    for t, c in colors.items():
        sub = {
            r["difficulty_bucket"]: r["mean_tokens"]
            for r in buckets.filter(pl.col("teacher") == t).iter_rows(named=True)
        }
        ys = [sub.get(b, np.nan) for b in order]
        ax.plot(range(len(order)), ys, "o-", color=c, label=t, lw=2, ms=6)
    ax.set_xticks(range(len(order)), [b.replace(" (", "\n(") for b in order])
    ax.set_ylabel(f"mean {column.replace('_', ' ')}")
    ax.set_title("Adaptive length: do harder queries get longer traces?")
    ax.legend(ncol=min(3, len(colors)), loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=8)
    return _png(fig)


def structure_shares(kind_share: pl.DataFrame, colors: dict[str, Any]) -> bytes | None:
    if kind_share is None or kind_share.height == 0:
        return None
    plt = _plt()
    kinds = ["question_repeat", "understanding", "approach", "verification", "conclusion", "other"]
    kinds = [k for k in kinds if k in set(kind_share["kind"].to_list())] + sorted(
        set(kind_share["kind"].to_list()) - set(kinds)
    )
    kcolors = dict(zip(kinds, ["#8ecae6", "#219ebc", "#023047", "#ffb703", "#fb8500", "#bdbdbd", "#999999", "#777777"]))
    teachers = [t for t in colors if t in set(kind_share["teacher"].to_list())]
    fig, ax = plt.subplots(figsize=(8.6, _height(len(teachers))))
    _stacked_shares(ax, teachers, kind_share, "kind", kinds, kcolors, min_label=0.08, fontsize=8)
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    ax.set_title("Where the reasoning goes (share of reasoning characters by DLCoT segment)")
    ax.legend(ncol=len(kinds), loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=8)
    ax.grid(axis="y", visible=False)
    return _png(fig)


def agreement_heatmap(pairs: pl.DataFrame, teachers: list[str], value: str, title: str) -> bytes | None:
    if pairs is None or pairs.height == 0 or pairs[value].null_count() == pairs.height:
        return None
    plt = _plt()
    n = len(teachers)
    idx = {t: i for i, t in enumerate(teachers)}
    m = np.full((n, n), np.nan)
    np.fill_diagonal(m, 1.0)
    for r in pairs.iter_rows(named=True):
        if r[value] is not None and r["teacher_a"] in idx and r["teacher_b"] in idx:
            a, b = idx[r["teacher_a"]], idx[r["teacher_b"]]
            m[a, b] = m[b, a] = r[value]
    side = min(7.2, 0.85 * n + 2.6)
    fig, ax = plt.subplots(figsize=(side + 1.2, side))
    im = ax.imshow(m, cmap="viridis", vmin=min(0.0, float(np.nanmin(m))), vmax=1)
    for i in range(n):
        for j in range(n):
            if not np.isnan(m[i, j]):
                ax.text(
                    j,
                    i,
                    f"{m[i, j]:.2f}",
                    ha="center",
                    va="center",
                    color="white" if m[i, j] < 0.6 else "black",
                    fontsize=8,
                )
    short = [t if len(t) <= 24 else t[:11] + "…" + t[-11:] for t in teachers]  # keep both ends: variants differ there
    ax.set_xticks(range(n), short, rotation=35, ha="right")
    ax.set_yticks(range(n), short)
    ax.grid(False)
    ax.set_title(title)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _png(fig)


def perplexity_box(values: pl.DataFrame, colors: dict[str, Any], model: str) -> bytes | None:
    if values is None or values.height == 0:
        return None
    plt = _plt()
    teachers = [t for t in colors if t in set(values["teacher"].to_list())]
    data = [values.filter(pl.col("teacher") == t)["ppl"].drop_nans().drop_nulls().to_numpy() for t in teachers]
    fig, ax = plt.subplots(figsize=(8.6, _height(len(teachers), 0.45, 1.6)))
    bp = ax.boxplot(
        data,
        orientation="horizontal",
        patch_artist=True,
        widths=0.55,
        medianprops={"color": "black"},
        flierprops={"markersize": 3},
    )
    for patch, t in zip(bp["boxes"], teachers):
        patch.set_facecolor(colors[t])
        patch.set_alpha(0.7)
    ax.set_yticks(range(1, len(teachers) + 1), teachers)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_title(f"Perplexity under {model.rstrip('/').split('/')[-1]} (lower = more predictable text)")
    ax.grid(axis="y", visible=False)
    return _png(fig)
