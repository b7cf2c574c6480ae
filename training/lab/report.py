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


def _floor(ax: Any, lab: dict[str, Any]) -> None:
    floor = (lab.get("eval") or {}).get("modal_answer_accuracy")
    if floor is not None:
        ax.axhline(
            floor, color="grey", linestyle="--", linewidth=1, label=f"always {lab['eval'].get('modal_answer')!r}"
        )
    kind_floor = (lab.get("eval") or {}).get("per_kind_modal_accuracy")
    if kind_floor is not None:
        ax.axhline(kind_floor, color="grey", linestyle=":", linewidth=1, label="each kind's commonest answer")


def figures(lab: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = {k: v for k, v in lab["arms"].items() if k != "A6" and v["accuracy"]["mean"] is not None}
    out: dict[str, str] = {}
    if arms:
        fig, ax = plt.subplots(figsize=(6, 3))
        names = list(arms)
        ax.bar(
            names,
            [arms[a]["accuracy"]["mean"] for a in names],
            yerr=[_err(arms[a]["accuracy"]) for a in names],
            capsize=4,
            color="#4c72b0",
        )
        _floor(ax, lab)
        ax.set_ylabel("test accuracy (greedy)")
        ax.set_title("Accuracy per arm: mean over seeds, 95% interval")
        ax.legend(fontsize=7)
        out["accuracy"] = _png(fig)
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for a in names:
            bar = ax.errorbar(
                arms[a]["mean_tokens"]["mean"],
                arms[a]["accuracy"]["mean"],
                xerr=_err(arms[a]["mean_tokens"]),
                yerr=_err(arms[a]["accuracy"]),
                fmt="o",
                capsize=3,
                label=a,
            )
            for s in arms[a]["per_seed"].values():  # the seeds, in the arm's colour
                ax.scatter(s["mean_tokens"], s["accuracy"], alpha=0.4, s=14, color=bar.lines[0].get_color())
        _floor(ax, lab)
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
        ax.set_xlabel("minus the audit's teacher rank (cotforge audit; higher = better)")
        ax.set_ylabel("student accuracy")
        ax.set_title("Audit score vs the student each teacher trains")
        out["audit"] = _png(fig)
    leak = {
        a: lab["arms"][a]["leaked_vs_clean"] for a in ("A1", "A5") if (lab["arms"].get(a) or {}).get("leaked_vs_clean")
    }
    if leak:
        fig, ax = plt.subplots(figsize=(5, 3))
        xs = range(len(leak))
        for off, part, color in ((-0.2, "clean", "#4c72b0"), (0.2, "leaked", "#c44e52")):
            ax.bar(
                [x + off for x in xs],
                [leak[a][part]["mean"] for a in leak],
                width=0.4,
                color=color,
                yerr=[_err(leak[a][part]) for a in leak],
                capsize=4,
                label=f"{part} test problems",
            )
        ax.set_xticks(list(xs), [f"{a} (decontamination {'off' if a == 'A5' else 'on'})" for a in leak])
        ax.set_ylabel("accuracy")
        ax.legend(fontsize=8)
        ax.set_title("Leaked vs clean test problems")
        out["leak"] = _png(fig)
    return out


WHAT = {
    "A0": "SFT on every trace (no verification)",
    "A1": "SFT on verified-correct traces",
    "A2": "A1, then REDI on (correct, incorrect) pairs",
    "A3": "A1, then as many more SFT steps (control)",
    "A4": "SFT on DLCoT-simplified correct traces",
    "A5": "A1's recipe with decontamination off",
    "A6": "one student per teacher",
}


def _fmt_ci(e: dict[str, Any] | None, pct: bool = True) -> str:
    if not e or e.get("mean") is None:
        return "–"
    f = (lambda v: f"{100 * v:.1f}%") if pct else (lambda v: f"{v:.1f}")
    ci = e.get("ci")
    return f"{f(e['mean'])}" + (f" [{f(ci[0])}, {f(ci[1])}]" if ci else " (1 seed)")


def verdict(e: dict[str, Any] | None) -> str:
    """What a paired difference's interval says, in words."""
    if not e or e.get("mean") is None:
        return "not measured"
    ci = e.get("ci")
    if not ci:
        return "one seed: no interval"
    if ci[0] > 0:
        return "positive (interval above 0)"
    if ci[1] < 0:
        return "negative (interval below 0)"
    return "no detectable difference (interval contains 0)"


def _seed_accs(e: dict[str, Any]) -> str:
    return ", ".join(f"{100 * s['accuracy']:.1f}" for _, s in sorted(e["per_seed"].items()))


def reading(lab: dict[str, Any]) -> list[str]:
    """Plain sentences generated from the numbers (true for whatever run produced them)."""
    c, arms, out = lab["comparisons"], lab["arms"], []
    ev = lab.get("eval") or {}
    if ev.get("modal_answer_accuracy") is not None:
        floor = ev["modal_answer_accuracy"]
        near = [
            a
            for a, e in arms.items()
            if a != "A6" and e["accuracy"].get("mean") is not None and e["accuracy"]["mean"] <= floor + 0.02
        ]
        out.append(
            f"Floor: answering {ev['modal_answer']!r} to every problem scores {100 * floor:.1f}%. Arms at or "
            f"below the floor + 2 points ({', '.join(near) or 'none'}) have not learned the task (at best the "
            f"output format); differences between them are about format (stopping, boxing), not arithmetic."
        )
    if ev.get("per_kind_modal_accuracy") is not None:
        kf = ev["per_kind_modal_accuracy"]
        below = [
            a
            for a, e in arms.items()
            if a != "A6" and e["accuracy"].get("mean") is not None and e["accuracy"]["mean"] <= kf + 0.02
        ]
        given = ", ".join(f"{k} {v!r}" for k, v in ev.get("per_kind_modal_answer", {}).items())
        out.append(
            f"Per-kind floor: giving each task kind its most common answer ({given}) scores {100 * kf:.1f}%; "
            f"arms at or below it + 2 points: {', '.join(below) or 'none'}."
        )
    for key, what in (
        ("verification (A1 - A0)", "Verification (A1 − A0)"),
        ("REDI vs control (A2 - A3)", "REDI vs the same-steps SFT control (A2 − A3)"),
        ("simplification accuracy (A4 - A1)", "DLCoT simplification, accuracy (A4 − A1)"),
        ("leak inflation (A5 - A1)", "Leak inflation, A5's minus A1's"),
    ):
        e = c.get(key)
        if e:
            out.append(f"{what}: {_fmt_ci(e)} over {e.get('n')} seeds: {verdict(e)}.")
    e = c.get("simplification tokens (A4 - A1)")
    if e and e.get("mean") is not None:
        out.append(f"Simplification, generated tokens (A4 − A1): {_fmt_ci(e, False)}: {verdict(e)}.")
    rho = (arms.get("A6") or {}).get("spearman") or {}
    if rho.get("rho") is not None:
        out.append(
            f"A6: Spearman ρ between the audit's ranking and student accuracy = {rho['rho']:.2f} "
            f"(exact permutation p = {rho['p_exact']:.2f}; {rho['note']})."
        )
    elif rho:
        out.append(f"A6: no rank correlation: {rho.get('why')}.")
    return out


def write_report(out: Path, lab: dict[str, Any], notes: str | None = None) -> Path:
    """report.html next to lab.json; `notes` (HTML) is the hand-written reading of this run, if any."""
    figs = figures(lab)
    rows = []
    for arm, e in lab["arms"].items():
        if arm == "A6":
            continue
        sm = e.get("sampled") or {}
        k = sm.get("k")
        passk = (
            f"pass@1 {_fmt_ci(sm['pass@1'])}<br>pass@{k} {_fmt_ci(sm[f'pass@{k}'])}<br>(T = {sm['temperature']})"
            if sm
            else "–"
        )
        trunc = [s.get("truncation_rate") for s in e["per_seed"].values() if s.get("truncation_rate") is not None]
        rows.append(
            f"<tr><td><b>{arm}</b><br>{WHAT.get(arm, '')}</td><td>{_fmt_ci(e['accuracy'])}<br>"
            f"<small>seeds: {_seed_accs(e)}</small></td><td>{_fmt_ci(e['mean_tokens'], False)}<br><small>"
            f"truncated {100 * sum(trunc) / max(1, len(trunc)):.0f}%</small></td><td>{passk}</td>"
            f"<td><small>{html.escape(json.dumps(e.get('data')))}</small></td></tr>"
        )
    comp = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt_ci(v, v.get('metric') == 'accuracy')}</td><td>{verdict(v)}</td></tr>"
        for k, v in lab["comparisons"].items()
        if v
    )
    leak_rows = "".join(
        f"<tr><td>{a}</td><td>{_fmt_ci(e['leaked_vs_clean']['leaked'])}</td>"
        f"<td>{_fmt_ci(e['leaked_vs_clean']['clean'])}</td><td>{_fmt_ci(e['leaked_vs_clean']['inflation'])}</td></tr>"
        for a, e in lab["arms"].items()
        if a in ("A1", "A5") and e.get("leaked_vs_clean")
    )
    ev = lab.get("eval") or {}
    a6 = lab["arms"].get("A6") or {}
    acc6 = a6.get("student_accuracy") or {}
    order = sorted(acc6, key=lambda t: -(acc6[t].get("mean") or 0))
    ranks = _ranks([acc6[t].get("mean") or 0.0 for t in order])
    a6_rows = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{html.escape(str((a6.get('audit') or {}).get(t, {}).get('rank_label')))}"
        f"</td><td>{_pct((a6.get('audit') or {}).get(t, {}).get('pass_rate'))}</td><td>{ranks[i]}</td>"
        f"<td>{_fmt_ci(acc6[t])}</td></tr>"
        for i, t in enumerate(order)
    )
    rho = a6.get("spearman")
    imgs = "".join(f'<figure><img alt="{k}" src="data:image/png;base64,{v}"></figure>' for k, v in figs.items())
    findings = "".join(f"<li>{html.escape(x)}</li>" for x in reading(lab))
    page = f"""<!doctype html><meta charset="utf-8"><title>cotforge distillation lab</title>
<style>body{{font-family:sans-serif;max-width:64em;margin:2em auto}}td,th{{border-bottom:1px solid #ddd;padding:4px;
font-size:13px;vertical-align:top;text-align:left}}table{{border-collapse:collapse}}</style>
<h1>Distillation lab ({html.escape(lab["recipe"])} recipe, seeds {lab["seeds"]})</h1>
<p>Each arm is a student trained from scratch (same initial weights per seed, same SFT token budget) and scored
greedily on {ev.get("problems", "?")} test problems, {ev.get("leaked", "?")} of which leaked into the train pool.
Intervals: 95% t-interval over seeds (none with one seed); paired differences are taken seed by seed.
Inflation = accuracy on the leaked test problems minus on the clean ones. Floor: a student that gives the most
common answer ({html.escape(str(ev.get("modal_answer")))}) to every problem scores
{_pct(ev.get("modal_answer_accuracy"))}.</p>
<h2>Reading</h2><ul>{findings}</ul>{notes or ""}
<h2>Arms</h2><table><tr><th>arm</th><th>accuracy (greedy)</th><th>mean generated tokens</th><th>sampled</th>
<th>data</th></tr>{"".join(rows)}</table>
<h2>Paired differences (same seed)</h2><table><tr><th>comparison</th><th>mean [95% CI]</th><th>reading</th></tr>
{comp}</table>
<h2>A5: decontamination off</h2><table><tr><th>arm</th><th>leaked problems</th><th>clean problems</th>
<th>inflation</th></tr>{leak_rows}</table>
<h2>A6: audit ranking vs students</h2><table><tr><th>teacher</th><th>audit rank</th><th>audit pass rate</th>
<th>student rank</th><th>student accuracy</th></tr>{a6_rows}</table>
<p>Spearman ρ: {html.escape(json.dumps(rho))}</p>
{imgs}
<p>Run time: {html.escape(json.dumps(lab.get("seconds")))} s.</p>"""
    path = out / "report.html"
    path.write_text(page)
    return path


def _ranks(desc: list[float]) -> list[str]:
    """Competition ranks of values sorted high to low, ties marked "=" as the audit marks them."""
    out = []
    for v in desc:
        r = 1 + sum(x > v for x in desc)
        out.append(f"={r}" if desc.count(v) > 1 else str(r))
    return out


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def main(argv: list[str] | None = None) -> None:
    """Re-render report.html from a lab folder's lab.json (and its notes.html, if present)."""
    import argparse

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("out", type=Path)
    a = ap.parse_args(argv)
    notes = a.out / "notes.html"
    print(
        write_report(a.out, json.loads((a.out / "lab.json").read_text()), notes.read_text() if notes.exists() else None)
    )


if __name__ == "__main__":
    main()
