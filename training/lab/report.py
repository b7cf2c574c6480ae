"""The lab's HTML report: per-arm accuracy with intervals, accuracy vs tokens, REDI's log-prob curves, audit vs
student ranking. Figures are matplotlib PNGs inlined as base64, so the report is one file."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _err(entry: dict[str, Any]) -> float:
    ci = entry.get("ci")
    return 0.0 if not ci else (ci[1] - ci[0]) / 2


def figures(lab: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = {k: v for k, v in lab["arms"].items() if k != "A6" and v["accuracy"]["mean"] is not None}
    out: dict[str, str] = {}
    if arms:
        fig, ax = plt.subplots(figsize=(6, 3))
        names = list(arms)
        ax.bar(names, [arms[a]["accuracy"]["mean"] for a in names],
               yerr=[_err(arms[a]["accuracy"]) for a in names], capsize=4, color="#4c72b0")
        ax.set_ylabel("test accuracy (greedy)")
        ax.set_title("Accuracy per arm: mean over seeds, 95% interval")
        out["accuracy"] = _png(fig)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for a in names:
            for s in arms[a]["per_seed"].values():
                ax.scatter(s["mean_tokens"], s["accuracy"], alpha=0.4, s=14)
            ax.errorbar(arms[a]["mean_tokens"]["mean"], arms[a]["accuracy"]["mean"],
                        xerr=_err(arms[a]["mean_tokens"]), yerr=_err(arms[a]["accuracy"]), fmt="o", capsize=3,
                        label=a)
        ax.set_xlabel("mean generated tokens")
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=7)
        ax.set_title("Accuracy vs tokens generated")
        out["tokens"] = _png(fig)
    a2 = lab["arms"].get("A2", {}).get("per_seed", {})
    curves = [s.get("curves") for s in a2.values() if s.get("curves", {}).get("step")]
    if curves:
        fig, ax = plt.subplots(figsize=(6, 3))
        for i, c in enumerate(curves):
            ax.plot(c["step"], c["logps_chosen"], color="#55a868", alpha=0.8, label="chosen" if i == 0 else None)
            ax.plot(c["step"], c["logps_rejected"], color="#c44e52", alpha=0.8, label="rejected" if i == 0 else None)
        ax.set_xlabel("REDI step")
        ax.set_ylabel("mean token log-prob")
        ax.legend()
        ax.set_title("REDI: chosen and rejected log-probs (one line per seed)")
        out["redi"] = _png(fig)
    a6 = lab["arms"].get("A6")
    if a6 and a6.get("audit_score"):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for t, sc in a6["audit_score"].items():
            acc = a6["student_accuracy"].get(t, {}).get("mean")
            if sc is not None and acc is not None:
                ax.errorbar(sc, acc, yerr=_err(a6["student_accuracy"][t]), fmt="o", capsize=3)
                ax.annotate(t, (sc, acc), fontsize=8, xytext=(4, 4), textcoords="offset points")
        ax.set_xlabel("audit ranking score (cotforge audit)")
        ax.set_ylabel("student accuracy")
        ax.set_title("Audit score vs the student each teacher trains")
        out["audit"] = _png(fig)
    return out


def _fmt_ci(e: dict[str, Any] | None, pct: bool = True) -> str:
    if not e or e.get("mean") is None:
        return "–"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.1f}")
    ci = e.get("ci")
    return f"{f(e['mean'])}" + (f" [{f(ci[0])}, {f(ci[1])}]" if ci else " (1 seed)")


def write_report(out: Path, lab: dict[str, Any]) -> Path:
    figs = figures(lab)
    rows = []
    for arm, e in lab["arms"].items():
        if arm == "A6":
            continue
        lk = e.get("leaked_vs_clean") or {}
        rows.append(f"<tr><td>{arm}</td><td>{_fmt_ci(e['accuracy'])}</td><td>{_fmt_ci(e['mean_tokens'], False)}</td>"
                    f"<td>{_fmt_ci(lk.get('inflation'))}</td><td>{html.escape(json.dumps(e.get('data')))}</td></tr>")
    comp = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt_ci(v, v.get('metric') == 'accuracy')}</td></tr>"
                   for k, v in lab["comparisons"].items() if v)
    a6 = lab["arms"].get("A6") or {}
    rho = a6.get("spearman")
    imgs = "".join(f'<figure><img alt="{k}" src="data:image/png;base64,{v}"></figure>' for k, v in figs.items())
    page = f"""<!doctype html><meta charset="utf-8"><title>cotforge distillation lab</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{border-bottom:1px solid #ddd;padding:4px;
font-size:13px;vertical-align:top}}table{{border-collapse:collapse}}</style>
<h1>Distillation lab ({html.escape(lab['recipe'])} recipe, seeds {lab['seeds']})</h1>
<p>Intervals: 95% t-interval over seeds (none with one seed). Inflation = accuracy on test problems that leaked into
the pool minus accuracy on the clean ones (A5 has decontamination off; the others keep it on).</p>
<h2>Arms</h2><table><tr><th>arm</th><th>accuracy</th><th>mean tokens</th><th>leak inflation</th><th>data</th></tr>
{''.join(rows)}</table>
<h2>Paired differences (same seed)</h2><table>{comp}</table>
<h2>A6: audit ranking vs students</h2><p>Spearman ρ: {html.escape(json.dumps(rho))}</p>
<pre>{html.escape(json.dumps({'audit_score': a6.get('audit_score'), 'student_accuracy': a6.get('student_accuracy')},
                        indent=1, default=str))}</pre>
{imgs}
<p>Run time: {html.escape(json.dumps(lab.get('seconds')))} s.</p>"""
    path = out / "report.html"
    path.write_text(page)
    return path
