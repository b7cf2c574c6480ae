"""quantify's HTML report: the audit report's look (its stylesheet and plot helpers), self-contained."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path
from typing import Any

from curation.audit.plots import _plt, _png, palette
from curation.audit.template import TEMPLATE as AUDIT_TEMPLATE

_STYLE = re.search(r"<style>.*?</style>", AUDIT_TEMPLATE, re.S).group(0)  # type: ignore[union-attr]


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return html.escape(str(v))


def gain_plot(gain: dict[str, Any], models: list[str]) -> bytes | None:
    benches = list(gain)
    if not benches:
        return None
    plt = _plt()
    colors = palette(models)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 * len(benches) * max(1, len(models)) / 2), 3.4))
    width = 0.8 / len(models)
    for j, m in enumerate(models):
        xs = [i + j * width for i in range(len(benches))]
        ys = [gain[b].get(m, {}).get("pass@1", 0.0) for b in benches]
        err = [gain[b].get(m, {}).get("pass@1_sem") or 0.0 for b in benches]
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=m, color=colors[m])
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(benches))], benches)
    ax.set_ylabel("pass@1 (± SEM over samples)")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False)
    return _png(fig)


def identity_plot(ident: dict[str, Any]) -> bytes | None:
    if not ident:
        return None
    plt = _plt()
    models = list(ident)
    fig, ax = plt.subplots(figsize=(5.5, 0.6 + 0.5 * len(models)))
    ax.barh(models, [ident[m]["loose_rate"] for m in models], color="#9bb7e6", label="loose")
    ax.barh(models, [ident[m]["strict_rate"] for m in models], color="#2b59c3", label="strict")
    ax.set_xlabel("share of identity probes answered with another identity")
    ax.set_xlim(0, 1)
    ax.legend(frameon=False)
    return _png(fig)


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    return f'<img alt="{alt}" style="max-width:100%" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(result: dict[str, Any]) -> str:
    models = list(result["models"])
    parts = [
        "<section class='card'><h2>Distillation gain</h2>",
        "<p>pass@1 is the mean over the samples per problem; ± is the standard error across sample indices "
        "(the REDI paper's method). pass@k uses the unbiased estimator. Gap recovered = (student − base) / "
        "(teacher − base), n/a without a teacher that beats the base.</p>",
        _img(gain_plot({b: v for b, v in result["gain"].items()}, models), "pass@1 by model"),
    ]
    rows = []
    for b, by in result["gain"].items():
        for m in models:
            if m in by:
                r = by[m]
                rows.append(
                    [
                        b,
                        m,
                        r["problems"],
                        r["samples_per_problem"],
                        r["pass@1"],
                        r["pass@1_sem"],
                        r.get("pass@4"),
                        r["mean_tokens"],
                        r["truncation_rate"],
                    ]
                )
        rows.append([b, "gap recovered", "", "", by.get("gap_recovered"), "", "", "", ""])
    parts.append(
        _table(
            ["benchmark", "model", "problems", "samples", "pass@1", "SEM", "pass@4", "mean tokens", "truncated"], rows
        )
        + "</section>"
    )
    if result["identity"]:
        parts.append(
            "<section class='card'><h2>Identity consistency</h2><p>Share of identity probes (questions × "
            "pressure templates, one sample each) whose answer claims another identity than the model's "
            "fact: loose = any other identity, strict = a major closed model's. Denominators are the "
            "probes asked.</p>" + _img(identity_plot(result["identity"]), "identity conflicts")
        )
        rows = [
            [m, lang, d["asked"], d["loose_rate"], d["strict_rate"]]
            for m, v in result["identity"].items()
            for lang, d in v["by_language"].items()
        ]
        parts.append(_table(["model", "language", "asked", "loose", "strict"], rows) + "</section>")
    sim = result.get("similarity")
    if sim:
        rows = [
            ["surface (ROUGE-L F1)", sim["proxy_surface_rougeL"], "proxy"],
            ["embedding cosine (MiniLM)", sim["proxy_embedding_cosine"], "proxy"],
            ["reasoning structure (DLCoT parts)", sim["proxy_structure"], "proxy"],
        ]
        for k in ("style", "structure", "content", "overall"):
            if sim.get("judge", {}).get(k) is not None:
                rows.append([f"LLM judge: {k} (1–5)", sim["judge"][k], "judge"])
        parts.append(
            f"<section class='card'><h2>Response similarity: {html.escape(sim['test'])} vs "
            f"{html.escape(sim['reference'])}</h2><p>{sim['n']} prompts of {html.escape(sim['benchmark'])}."
            " Proxies are deterministic stand-ins for the paper's judge scores.</p>"
            + _table(["measure", "value", "kind"], rows)
            + "</section>"
        )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>cotforge quantify</title>{_STYLE}"
        "</head><body><header><div class='wrap'><h1>What distillation did</h1><p>"
        + html.escape(", ".join(f"{m}: {v['model']}" for m, v in result["models"].items()))
        + "</p></div></header><main class='wrap'>"
        + "".join(parts)
        + "</main></body></html>"
    )


def write_report(result: dict[str, Any], out_dir: Path) -> Path:
    path = Path(out_dir) / "report.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(result))
    tmp.replace(path)
    return path
