"""`run_audit`: compute every per-teacher number, draw the figures, write report.html + audit.json + PNGs."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from .. import __version__
from ..rundata import RunTables, load_run
from ..store import atomic_write_bytes, atomic_write_json
from . import diversity, metrics, plots
from .ranking import rank
from .template import TEMPLATE


@dataclass
class AuditOptions:
    embeddings: bool = True  # embedding spread (only runs when some teacher has ≥ 2 samples per query)
    embed_model: str | None = None  # sentence-transformers path/name; default: bundled all-MiniLM-L6-v2
    ppl_model: str | None = None  # local transformers causal LM for perplexity; None = skip
    ppl_max_per_teacher: int = 200
    ppl_max_tokens: int = 1024
    ppl_batch_size: int = 8
    weights: dict[str, float] | None = None  # opt-in composite score: criterion → weight (ranking.parse_weights)


# ---- formatting -------------------------------------------------------------------------------------------
def _isnum(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))


def pct(v: Any, digits: int = 1) -> str:
    return f"{v * 100:.{digits}f}%" if _isnum(v) else "–"


def num(v: Any, digits: int = 0) -> str:
    if not _isnum(v):
        return "–"
    return f"{v:,.{digits}f}"


FORMATS: dict[str, Callable[[Any], str]] = {
    "pct": pct,
    "int": lambda v: num(v, 0),
    "num1": lambda v: num(v, 1),
    "num2": lambda v: num(v, 2),
    "num3": lambda v: num(v, 3),
    "text": lambda v: "–" if v is None else html.escape(str(v)),
    "num3na": lambda v: num(v, 3) if _isnum(v) else "n/a",  # undefined (e.g. κ when a teacher never varies)
}


# the per-teacher DLCoT structure table: the report's and `cotforge audit`'s terminal one
STRUCTURE_COLUMNS = [
    ("teacher", "teacher", "text"),
    ("segmented_traces", "traces", "int"),
    ("approaches_mean", "approaches / trace", "num2"),
    ("verification_steps_mean", "verification steps", "num2"),
    ("verification_share", "verification share", "pct"),
    ("first_approach_correct", "first approach correct", "pct"),
    ("token_reduction", "reduction (tokens)", "pct"),
]


def html_table(
    rows: list[dict[str, Any]] | None,
    columns: list[tuple[str, str, str]],
    name: str,
    colors: dict[str, Any] | None = None,
    ci: dict[str, tuple[str, str]] | None = None,
    highlight_first: bool = False,
    notes: dict[str, str] | None = None,
) -> str:
    """A sortable table. columns: (key, header, format); `ci` maps a column to its (low, high) interval keys;
    `notes` maps a column to a key whose value is shown small after the cell (e.g. n)."""
    if not rows:
        return '<p class="na">No rows.</p>'
    head = "".join(f'<th class="{"text" if f == "text" else ""}">{html.escape(h)}</th>' for _, h, f in columns)
    body = []
    for i, r in enumerate(rows):
        cells = []
        for key, _, fmt in columns:
            v = r.get(key)
            shown = FORMATS[fmt](v)
            if key == "teacher" and colors and v in colors:
                c = colors[v]
                rgb = "#" + "".join(f"{int(255 * x):02x}" for x in c[:3])
                shown = f'<span class="swatch" style="background:{rgb}"></span>{shown}'
            if ci and key in ci and _isnum(r.get(ci[key][0])):
                lo, hi = ci[key]
                shown += f' <span class="ci">[{pct(r[lo], 0)}, {pct(r[hi], 0)}]</span>'
            if notes and key in notes and r.get(notes[key]) is not None:
                shown += f' <span class="ci">n={r[notes[key]]}</span>'
            if key == "composite" and _isnum(v):
                shown += f'<span class="bar" style="width:{max(2, int(60 * v))}px"></span>'
            sort = "" if not _isnum(v) else f' data-sort="{v:.6g}"'
            cls = ' class="text"' if fmt == "text" else ""
            cells.append(f"<td{cls}{sort}>{shown}</td>")
        tr = ' class="rank1"' if highlight_first and i == 0 else ""
        body.append(f"<tr{tr}>{''.join(cells)}</tr>")
    return (
        f'<div class="tablewrap"><table class="sortable" data-name="{name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


CI = {"pass_rate": ("ci_low", "ci_high")}


def _pivot_difficulty(by: pl.DataFrame, colors: dict[str, Any]) -> str:
    """Teachers as rows, difficulty buckets as columns: easier to read than one row per (teacher, bucket)."""
    buckets = [b for b in metrics.DIFFICULTY_BUCKETS if b in set(by["difficulty_bucket"].to_list())]
    rows: dict[str, dict[str, Any]] = {}
    for r in by.iter_rows(named=True):
        i = buckets.index(r["difficulty_bucket"])
        row = rows.setdefault(r["teacher"], {"teacher": r["teacher"]})
        row.update({f"b{i}": r["pass_rate"], f"b{i}_lo": r["ci_low"], f"b{i}_hi": r["ci_high"], f"b{i}_n": r["n"]})
    cols = [("teacher", "teacher", "text")] + [(f"b{i}", b, "pct") for i, b in enumerate(buckets)]
    return html_table(
        list(rows.values()),
        cols,
        "by_difficulty",
        colors,
        ci={f"b{i}": (f"b{i}_lo", f"b{i}_hi") for i in range(len(buckets))},
        notes={f"b{i}": f"b{i}_n" for i in range(len(buckets))},
    )


# ---- findings ---------------------------------------------------------------------------------------------
def _findings(
    overall: list[dict],
    lengths: dict,
    structure: list[dict] | None,
    agree: list[dict] | None,
    adaptive: list[dict],
    token_col: str,
) -> list[str]:
    out: list[str] = []
    b = lambda s: f"<b>{html.escape(str(s))}</b>"
    rated = [r for r in overall if _isnum(r.get("pass_rate"))]
    if len(rated) >= 2:
        best = max(rated, key=lambda r: r["pass_rate"])
        worst = min(rated, key=lambda r: r["pass_rate"])
        s = (
            f"{b(best['teacher'])} has the highest pass rate ({pct(best['pass_rate'])}, 95% CI "
            f"{pct(best['ci_low'])}–{pct(best['ci_high'])}); {b(worst['teacher'])} the lowest "
            f"({pct(worst['pass_rate'])})."
        )
        if worst["ci_high"] is not None and best["ci_low"] is not None and worst["ci_high"] >= best["ci_low"]:
            s += " Their intervals overlap: more samples are needed to call the difference."
        out.append(s)
    elif rated:
        r = rated[0]
        out.append(
            f"{b(r['teacher'])} passes {pct(r['pass_rate'])} of its samples "
            f"(95% CI {pct(r['ci_low'])}–{pct(r['ci_high'])})."
        )
    trunc = [r for r in overall if (r.get("truncation_rate") or 0) > 0]
    if trunc:
        t = max(trunc, key=lambda r: r["truncation_rate"])
        out.append(
            f"{b(t['teacher'])} is truncated most often ({pct(t['truncation_rate'])} of samples hit the token "
            "limit); truncated traces are kept in the store but never count as positives."
        )
    elif overall:
        out.append("No teacher hit the token limit.")
    dist = [r for r in lengths if _isnum(r.get(f"{token_col}_p50"))]
    if len(dist) >= 2:
        lo = min(dist, key=lambda r: r[f"{token_col}_p50"])
        hi = max(dist, key=lambda r: r[f"{token_col}_p50"])
        ratio = hi[f"{token_col}_p50"] / max(1, lo[f"{token_col}_p50"])
        out.append(
            f"{b(hi['teacher'])} writes the longest traces (median {num(hi[f'{token_col}_p50'])} tokens), "
            f"{b(lo['teacher'])} the shortest (median {num(lo[f'{token_col}_p50'])}): a {ratio:.1f}× spread."
        )
    if adaptive:
        adapt = [r for r in adaptive if _isnum(r.get("spearman_rho")) and r["spearman_rho"] > 0.2]
        if adapt:
            names = ", ".join(b(r["teacher"]) for r in adapt)
            out.append(f"Adaptive length (longer traces on harder queries, Spearman ρ > 0.2): {names}.")
        else:
            out.append("No teacher clearly adapts its length to difficulty (all Spearman ρ ≤ 0.2).")
    if structure:
        s = [r for r in structure if _isnum(r.get("approaches_mean"))]
        if s:
            most = max(s, key=lambda r: r["approaches_mean"])
            red = [r for r in s if _isnum(r.get("token_reduction"))]
            line = (
                f"{b(most['teacher'])} explores the most approaches per trace "
                f"({num(most['approaches_mean'], 1)} on average)."
            )
            if red:
                top = max(red, key=lambda r: r["token_reduction"])
                line += (
                    f" Simplification removes the most from {b(top['teacher'])} "
                    f"({pct(top['token_reduction'])} of reasoning tokens)."
                )
            out.append(line)
    if agree:
        a = [r for r in agree if _isnum(r.get("answer_agreement"))]
        if a:
            hi = max(a, key=lambda r: r["answer_agreement"])
            lo = min(a, key=lambda r: r["answer_agreement"])
            out.append(
                f"Answers agree most between {b(hi['teacher_a'])} and {b(hi['teacher_b'])} "
                f"({pct(hi['answer_agreement'])} of compared answers) and least between "
                f"{b(lo['teacher_a'])} and {b(lo['teacher_b'])} ({pct(lo['answer_agreement'])})."
            )
    return out


# ---- main -------------------------------------------------------------------------------------------------
def run_audit(
    run_dir: Path | str,
    out_dir: Path | str | None = None,
    options: AuditOptions | None = None,
    run: RunTables | None = None,
) -> dict[str, Any]:
    """Audit a run directory. Writes `out_dir` (default `<run>/report/audit`): report.html, audit.json,
    figures/*.png. Returns the audit.json content."""
    opts = options or AuditOptions()
    run = run or load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.root / "report" / "audit"
    (out / "figures").mkdir(parents=True, exist_ok=True)

    df = metrics.base_frame(run)
    teachers = sorted(df["teacher"].unique().to_list())
    colors = plots.palette(teachers)
    has_verdict = df["verdict"].null_count() < df.height

    rates = metrics.pass_rates(df)
    if not has_verdict:
        for k in rates:
            rates[k] = rates[k].with_columns(
                pl.lit(None, pl.Float64).alias(c) for c in ("pass_rate", "ci_low", "ci_high")
            )
    lens = metrics.lengths(df)
    token_col = lens["token_column"]
    struct = metrics.structure(run, df)
    agree = metrics.agreement(df) if has_verdict or df["extracted_answer"].null_count() < df.height else None
    distinct = diversity.distinct_n(df)
    spread: dict[str, Any] = {"computed": False, "reason": "disabled (--no-embeddings)"}
    if opts.embeddings:
        try:
            spread = diversity.embedding_spread(
                df, embedder=None if opts.embed_model is None else diversity.load_embedder(opts.embed_model)
            )
        except (OSError, ImportError) as e:  # model not installed: report, don't fail the audit
            spread = {"computed": False, "reason": f"embedding model unavailable ({type(e).__name__}: {e})"}
    ppl: dict[str, Any] = {"computed": False, "reason": "no reference model given (use --ppl-model PATH)"}
    if opts.ppl_model:
        from .perplexity import teacher_perplexity

        ppl = teacher_perplexity(
            df,
            opts.ppl_model,
            max_per_teacher=opts.ppl_max_per_teacher,
            batch_size=opts.ppl_batch_size,
            max_tokens=opts.ppl_max_tokens,
        )

    # ranking table: one row per teacher with every criterion
    crit = rates["overall"].select("teacher", "pass_rate", "truncation_rate", "malformed_rate", "n")
    correct_len = (
        df.filter(pl.col("correct"))
        .group_by("teacher")
        .agg(pl.col(token_col).median().cast(pl.Float64).alias("tokens_correct"))
    )
    crit = crit.join(correct_len, on="teacher", how="left")
    crit = (
        crit.join(distinct.select("teacher", "distinct_2"), on="teacher", how="left")
        if "distinct_2" in distinct.columns
        else crit
    )
    crit = crit.join(
        lens["adaptive"].select("teacher", pl.col("spearman_rho").alias("adaptive_rho")), on="teacher", how="left"
    )
    if ppl.get("computed"):
        crit = crit.join(ppl["by_teacher"].select("teacher", "ppl_mean"), on="teacher", how="left")
    if not has_verdict:
        crit = crit.drop("pass_rate", "truncation_rate", "malformed_rate")
    crit = (
        crit.join(rates["overall"].select("teacher", "ci_low", "ci_high", "correct_n"), on="teacher", how="left")
        if has_verdict
        else crit
    )
    ranking = rank(crit, opts.weights)

    # figures
    figures: dict[str, bytes | None] = {
        "outcomes": plots.outcomes(df, teachers),
        "pass_rate": plots.pass_rate_ci(rates["overall"], colors) if has_verdict else None,
        "pass_by_difficulty": plots.pass_by_difficulty(rates["by_difficulty"], colors) if has_verdict else None,
        "length_hist": plots.length_hist(df, token_col, colors, token_col.replace("_", " ").capitalize()),
        "length_vs_correct": plots.length_vs_correct(df, token_col, colors),
        "adaptive_length": plots.adaptive_length(lens["adaptive_by_bucket"], colors, token_col),
        "structure": plots.structure_shares(struct["kind_share"], colors) if struct else None,
        "agreement": plots.agreement_heatmap(
            agree["pairs"], teachers, "answer_agreement", "Answer agreement between teachers"
        )
        if agree
        else None,
        "perplexity": plots.perplexity_box(ppl.get("values"), colors, ppl.get("model", ""))
        if ppl.get("computed")
        else None,
    }
    for name, png in figures.items():
        if png is not None:
            atomic_write_bytes(out / "figures" / f"{name}.png", png)

    def fig(name: str, caption: str) -> str:
        png = figures.get(name)
        if png is None:
            return '<p class="na">Not computed for this run.</p>'
        data = base64.b64encode(png).decode()
        return (
            f'<figure data-figure="{name}"><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    R = metrics.to_records
    overall_rows = R(rates["overall"]) or []
    dist_rows = R(lens["distribution"]) or []
    struct_rows = R(struct["summary"]) if struct else None
    agree_rows = R(agree["pairs"]) if agree else None
    adaptive_rows = R(lens["adaptive"]) or []
    crit_cols = [
        (
            c["key"],
            c["short"] if c["key"] != "pass_rate" else "pass rate [95% CI]",
            "pct" if c["key"].endswith("rate") else ("int" if c["key"] in ("tokens_correct",) else "num3"),
        )
        for c in ranking["criteria"]
    ]
    if ranking["composite"]:
        crit_cols += [("composite", "composite (your weights)", "num3"), ("composite_rank", "composite #", "int")]
    tok = token_col
    tables = {
        "ranking": html_table(
            R(ranking["table"]),
            [("rank_label", "#", "text"), ("teacher", "teacher", "text")] + crit_cols,
            "ranking",
            colors,
            ci=CI,
            notes={"pass_rate": "n"},
            highlight_first=True,
        ),
        "overall": html_table(
            overall_rows,
            [
                ("teacher", "teacher", "text"),
                ("n", "samples", "int"),
                ("queries", "queries", "int"),
                ("samples_per_query", "samples/query", "num1"),
                ("pass_rate", "pass rate [95% CI]", "pct"),
                ("truncation_rate", "truncated", "pct"),
                ("malformed_rate", "malformed", "pct"),
                ("unverifiable_share", "unverifiable", "pct"),
            ],
            "overall",
            colors,
            ci=CI,
        ),
        "by_difficulty": _pivot_difficulty(rates["by_difficulty"], colors),
        "by_source": html_table(
            R(rates["by_source"]),
            [
                ("teacher", "teacher", "text"),
                ("source", "source", "text"),
                ("n", "samples", "int"),
                ("pass_rate", "pass rate [95% CI]", "pct"),
            ],
            "by_source",
            colors,
            ci=CI,
        ),
        "lengths": html_table(
            dist_rows,
            [
                ("teacher", "teacher", "text"),
                (f"{tok}_mean", "mean", "int"),
                (f"{tok}_p10", "p10", "int"),
                (f"{tok}_p50", "median", "int"),
                (f"{tok}_p90", "p90", "int"),
                (f"{tok}_max", "max", "int"),
                (
                    "answer_tokens_p50" if lens["answer_tokens_computed"] else "answer_chars_p50",
                    "answer median" + ("" if lens["answer_tokens_computed"] else " (chars)"),
                    "int",
                ),
                ("reasoning_chars_p50", "reasoning median (chars)", "int"),
            ],
            "lengths",
            colors,
        ),
        "vs_correct": html_table(
            R(lens["vs_correctness"]),
            [
                ("teacher", "teacher", "text"),
                ("verdict", "verdict", "text"),
                ("n", "samples", "int"),
                ("mean_tokens", "mean tokens", "int"),
                ("median_tokens", "median tokens", "int"),
            ],
            "vs_correct",
            colors,
        ),
        "adaptive": html_table(
            adaptive_rows,
            [
                ("teacher", "teacher", "text"),
                ("n", "samples", "int"),
                ("spearman_rho", "Spearman ρ (difficulty, length)", "num3"),
            ],
            "adaptive",
            colors,
        ),
        "structure": html_table(struct_rows, STRUCTURE_COLUMNS, "structure", colors) if struct_rows else "",
        "distinct": html_table(
            R(distinct),
            [
                ("teacher", "teacher", "text"),
                ("distinct_1", "distinct-1", "num3"),
                ("distinct_2", "distinct-2", "num3"),
                ("distinct_3", "distinct-3", "num3"),
            ],
            "distinct",
            colors,
        ),
        "spread": html_table(
            R(spread["by_teacher"]),
            [("teacher", "teacher", "text"), ("queries", "queries", "int"), ("spread", "mean cosine distance", "num3")],
            "spread",
            colors,
        )
        if spread.get("computed")
        else "",
        "agreement": html_table(
            agree_rows,
            [
                ("teacher_a", "teacher A", "text"),
                ("teacher_b", "teacher B", "text"),
                ("shared_queries", "shared queries", "int"),
                ("answers_compared", "answers compared", "int"),
                ("answer_agreement", "same answer", "pct"),
                ("verdict_agreement", "same verdict", "pct"),
                ("cohen_kappa", "Cohen's κ", "num3na"),
            ],
            "agreement",
        )
        if agree_rows
        else "",
        "perplexity": html_table(
            R(ppl["by_teacher"]),
            [
                ("teacher", "teacher", "text"),
                ("n", "traces", "int"),
                ("ppl_mean", "mean", "num2"),
                ("ppl_median", "median", "num2"),
                ("ppl_p90", "p90", "num2"),
            ],
            "perplexity",
            colors,
        )
        if ppl.get("computed")
        else "",
    }

    pairs = run.get("pairs")
    queries = run.get("queries")
    summary = {
        "teachers": len(teachers),
        "traces": df.height,
        "queries": queries.height if queries is not None else df["query_id"].n_unique(),
        "queries_with_traces": df["query_id"].n_unique(),
        "pass_rate": float(df["correct"].mean()) if has_verdict else None,
        "pairs": pairs.height if pairs is not None else None,
    }
    manifest = run.manifest
    findings = _findings(
        overall_rows if has_verdict else [], dist_rows, struct_rows, agree_rows, adaptive_rows, token_col
    )
    token_note = (
        "tokens (reasoning_tokens from the segment stage)"
        if token_col == "reasoning_tokens"
        else "completion tokens (the segment stage did not run, so reasoning is not counted separately)"
    )

    result = {
        "cotforge_version": __version__,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_dir": str(run.root),
        "run_name": manifest.get("name") or run.root.name,
        "tables_from": run.producers,
        "summary": summary,
        "definitions": metrics.__doc__,
        "pass_rate": {
            "overall": overall_rows,
            "by_source": R(rates["by_source"]),
            "by_difficulty": R(rates["by_difficulty"]),
            "computed": has_verdict,
        },
        "length": {
            "token_column": token_col,
            "answer_tokens_computed": lens["answer_tokens_computed"],
            "distribution": dist_rows,
            "vs_correctness": R(lens["vs_correctness"]),
            "adaptive_by_bucket": R(lens["adaptive_by_bucket"]),
            "adaptive": adaptive_rows,
        },
        "structure": {"computed": True, "summary": struct_rows, "kind_share": R(struct["kind_share"])}
        if struct
        else {"computed": False, "reason": "no segments column (segment stage did not run)"},
        "diversity": {
            "distinct_n": R(distinct),
            "embedding_spread": {
                **{k: v for k, v in spread.items() if k != "by_teacher"},
                "by_teacher": R(spread.get("by_teacher")),
            },
        },
        "agreement": {"computed": agree is not None, "pairs": agree_rows},
        "perplexity": {
            **{k: v for k, v in ppl.items() if k not in ("by_teacher", "values")},
            "by_teacher": R(ppl.get("by_teacher")),
        },
        "ranking": {
            "order": ranking["order"],
            "criteria": ranking["criteria"],
            "not_used": ranking["not_used"],
            "composite": ranking["composite"],
            "table": R(ranking["table"]),
        },
        "findings_html": findings,
        "figures": sorted(f"figures/{k}.png" for k, v in figures.items() if v is not None),
    }

    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    page = env.from_string(TEMPLATE).render(
        version=__version__,
        run_name=result["run_name"],
        description=manifest.get("description"),
        run_dir=str(run.root),
        generated=result["generated"],
        summary=summary,
        findings=findings,
        ranking=ranking,
        tables=tables,
        fig=lambda n, c: jinja2.utils.markupsafe.Markup(fig(n, c)),
        pct=pct,
        token_note=token_note,
        structure_computed=struct is not None,
        spread_computed=spread.get("computed", False),
        spread_reason=spread.get("reason", ""),
        agreement_computed=agree is not None,
        ppl_computed=ppl.get("computed", False),
        ppl_model=ppl.get("model", ""),
        ppl_max_tokens=ppl.get("max_tokens", opts.ppl_max_tokens),
        ppl_reason=ppl.get("reason", ""),
    )
    atomic_write_bytes(out / "report.html", page.encode("utf-8"))
    atomic_write_json(out / "audit.json", result)
    result["out_dir"] = str(out)
    return result
