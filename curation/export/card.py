"""The dataset card (README.md) of the `hf` export: YAML metadata + body generated from run metadata.

Body sections follow ecosystem_conventions.md §5. The generated body sits between two HTML comments so that
`merge_cards` can replace it on a later push while keeping anything a person wrote around it.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import Any

import polars as pl
import yaml

from .. import __version__
from ..intervals import wilson_scalar
from ..rundata import RunTables
from .formats import ALL_COLUMN_DOCS, COLUMN_DOCS

BEGIN = "<!-- cotforge:begin (generated; edits inside are replaced on the next push) -->"
END = "<!-- cotforge:end -->"
HF_LICENSES = {
    "apache-2.0",
    "mit",
    "cc-by-4.0",
    "cc-by-sa-4.0",
    "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0",
    "cc-by-nd-4.0",
    "cc0-1.0",
    "bsd-2-clause",
    "bsd-3-clause",
    "gpl-3.0",
    "lgpl-3.0",
    "agpl-3.0",
    "odc-by",
    "odbl",
    "pddl",
    "cdla-permissive-2.0",
    "cdla-sharing-1.0",
    "openrail",
    "llama3",
    "llama3.1",
    "llama3.2",
    "llama3.3",
    "gemma",
    "unlicense",
    "other",
    "unknown",
}
SECRET_KEY = re.compile(r"(token|api[_-]?key|secret|password|authorization|credential)", re.IGNORECASE)
SECRET_VALUE = re.compile(r"\b(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_\-]{20,}|api_[A-Za-z0-9]{20,})\b")
ENV_REF = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
SECRET_ENV = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY")


def sanitize(value: Any) -> Any:
    """Remove secrets from manifest-like data: values under secret-looking keys (unless `${VAR}` references),
    token-shaped strings, and the literal values of well-known secret environment variables."""
    live = [v for k in SECRET_ENV if (v := os.environ.get(k)) and len(v) >= 8]

    def clean(v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            return {k: clean(x, str(k)) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x, key) for x in v]
        if isinstance(v, str):
            if SECRET_KEY.search(key) and not ENV_REF.match(v):
                return "<redacted>"
            v = SECRET_VALUE.sub("<redacted>", v)
            for s in live:
                v = v.replace(s, "<redacted>")
        return v

    return clean(value)


def size_category(n: int) -> str:
    if n < 1_000:
        return "n<1K"
    bounds = [
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    ]
    for b, name in bounds:
        if n < b:
            return name
    return "n>1T" if n >= 1_000_000_000_000 else "1B<n<10B"


def hf_license(name: str | None) -> str:
    if not name:
        return "unknown"
    x = name.strip().lower().replace(" ", "-")
    return x if x in HF_LICENSES else "other"


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    if not rows:
        return "_none_\n"
    head = "| " + " | ".join(h for _, h in cols) + " |\n|" + "|".join("---" for _ in cols) + "|\n"

    def fmt(v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.3f}" if abs(v) < 10 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    return head + "".join("| " + " | ".join(fmt(r.get(k)) for k, _ in cols) + " |\n" for r in rows)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def teacher_licenses(manifest: dict[str, Any]) -> list[str]:
    """Licences of the teachers' outputs as the manifest states them (`teachers[].license`)."""
    return sorted({t["license"] for t in manifest.get("teachers") or [] if t.get("license")})


def benchmark_overlap(run: RunTables) -> dict[str, Any]:
    """Exact copies (canonical text) of bundled benchmark problems among the run's queries, for the benchmarks its
    decontamination did not remove: a run may keep benchmark problems on purpose (the demo keeps MATH-500), and
    its card must say so. Returns {"unchecked": [...], "hits": {benchmark: n}}."""
    from ..benchmarks import ALIASES, REGISTRY
    from ..benchmarks import load as load_benchmark
    from ..text.canonical import canonical_expr

    cfg = run.manifest.get("decontaminate") or {}
    removed = (cfg.get("policy") or {}).get("action", "remove") == "remove"
    listed = {ALIASES.get(str(b).lower(), str(b).lower()) for b in cfg.get("benchmarks") or [] if isinstance(b, str)}
    unchecked = [b for b in REGISTRY if not (removed and b in listed)]
    queries = run.get("queries")
    hits: dict[str, int] = {}
    if queries is None or not unchecked or "problem" not in queries.columns:
        return {"unchecked": unchecked, "hits": hits}
    ours = set(queries.select(canonical_expr("problem").alias("c"))["c"].to_list())
    for b in unchecked:
        try:
            items = load_benchmark(b)
        except Exception:  # noqa: BLE001 — a missing bundled file must not stop an export; reported as unknown
            hits[b] = -1
            continue
        theirs = pl.DataFrame({"t": [i.text for i in items]}).select(canonical_expr("t").alias("c"))["c"]
        n = sum(1 for c in set(theirs.to_list()) if c in ours)
        if n:
            hits[b] = n
    return {"unchecked": unchecked, "hits": hits}


def _teacher_section(manifest: dict[str, Any], traces: pl.DataFrame | None) -> list[str]:
    """One entry per model that wrote traces; a replayed dataset whose rows name their own models is listed as a
    dataset (what it is), not as a teacher without a model."""
    b: list[str] = []
    teacher_cfg = {t.get("name"): t for t in manifest.get("teachers") or []}
    tstats: list[dict[str, Any]] = []
    if traces is not None:
        cols = [c for c in ("teacher", "model", "backend", "sampling") if c in traces.columns]
        tstats = (
            traces.select(cols)
            .with_columns(
                pl.col("sampling").str.json_path_match("$.replay").alias("replayed_from")
                if "sampling" in cols
                else pl.lit(None, pl.Utf8).alias("replayed_from")
            )
            .unique()
            .sort(cols)
            .to_dicts()
        )
    trace_teachers = {r["teacher"] for r in tstats}
    datasets = {n: c for n, c in teacher_cfg.items() if c.get("backend") == "replay" and n not in trace_teachers}
    for n, cfg in sorted(datasets.items()):
        models = sorted({r["teacher"] for r in tstats if r.get("replayed_from") == n})
        where = (cfg.get("replay") or {}).get("path") or ((cfg.get("replay") or {}).get("hf") or {}).get("path")
        b.append(
            f"\n### `{n}`: replayed dataset (published outputs, no model was run)\n\n- file: `{where}`\n"
            f"- outputs licence: {cfg.get('license') or 'not stated in the manifest'}\n"
            f"- models in it, each a teacher below: {', '.join(f'`{m}`' for m in models) or 'none matched'}\n"
        )
        extra = {k: v for k, v in cfg.items() if k not in ("name", "backend", "license")}
        if extra:
            b.append(f"- configuration (manifest):\n\n```yaml\n{yaml.safe_dump(extra, sort_keys=True).strip()}\n```\n")
    names = sorted(trace_teachers | {n for n in teacher_cfg if n not in datasets})
    for t in names:
        rows_t = [r for r in tstats if r["teacher"] == t]
        origin = next((r.get("replayed_from") for r in rows_t if r.get("replayed_from")), None)
        cfg = teacher_cfg.get(t) or teacher_cfg.get(origin) or {}
        model = (cfg.get("model") if t in teacher_cfg else None) or (rows_t[0].get("model") if rows_t else None)
        backend = cfg.get("backend") or (rows_t[0].get("backend") if rows_t else None)
        b.append(f"\n### {t}\n\n- model: `{model}`\n- backend: `{backend}`\n")
        if origin and origin != t:
            b.append(f"- replayed from `{origin}` (above)\n")
        b.append(f"- outputs licence: {cfg.get('license') or 'not stated in the manifest (see the model terms)'}\n")
        extra = {k: v for k, v in cfg.items() if k not in ("name", "model", "backend", "license")}
        if extra and t in teacher_cfg:
            b.append(f"- configuration (manifest):\n\n```yaml\n{yaml.safe_dump(extra, sort_keys=True).strip()}\n```\n")
        sampled = sorted({r.get("sampling") for r in rows_t if r.get("sampling")})
        for x in sampled[:5]:
            b.append(f"- decoding parameters sent: `{sanitize(x)}`\n")
        if len(sampled) > 5:
            b.append(f"- … and {len(sampled) - 5} more distinct decoding settings (per-sample seeds)\n")
    return b


def _format_section(written: dict[str, Any]) -> str:
    """What an assistant turn is, with the counts that make the statement checkable."""
    fmt = (written.get("sft") or {}).get("assistant_format")
    if not fmt:
        return ""
    out = (
        "\n## Assistant turn format\n\nEvery assistant turn in `sft` and `preference` is rendered one way: "
        "`<think>\\n{reasoning}\\n</think>\\n\\n{answer}` when the teacher's output separates its reasoning "
        "(think tags, SkyThought's `<|begin_of_thought|>`/`<|begin_of_solution|>` markers, or a separate "
        "reasoning field; the markers themselves are removed), else the answer alone. The raw output is kept "
        "in `all.completion`.\n\n"
    )
    out += _table(
        [
            {"k": "with `<think>` reasoning", "n": fmt["think"]},
            {"k": "answer only (no separate reasoning)", "n": fmt["answer_only"]},
            {"k": "with another family's reasoning markers left", "n": fmt["markers"]},
        ],
        [("k", "`sft` assistant turns"), ("n", "rows")],
    )
    return out


def _contamination_section(overlap: dict[str, Any]) -> str:
    hits = {b: n for b, n in overlap["hits"].items() if n > 0}
    if not hits:
        return ""
    names = ", ".join(f"{n} from `{b}`" for b, n in sorted(hits.items()))
    return (
        f"\n> **Benchmark contamination warning.** This dataset contains benchmark test problems verbatim: {names}. "
        "The run's decontamination did not remove these benchmarks (not listed, or `action: flag`), so this is "
        "deliberate or an oversight; either way, do not evaluate a model trained on this data on them.\n"
    )


def build_card(
    run: RunTables,
    written: dict[str, Any],
    frames_stats: dict[str, Any],
    *,
    pretty_name: str | None,
    license_override: str | None,
    language: list[str],
    tags: list[str],
    filters: dict[str, Any],
    repo_id: str | None = None,
) -> str:
    manifest = sanitize(run.manifest)
    lock = run.lock
    traces = run.get("traces")
    queries = run.get("queries")
    removed = run.get("removed")
    name = manifest.get("name") or run.root.name
    sources_cfg = manifest.get("sources") or []

    # --- metadata ------------------------------------------------------------------------------------
    lic_names = sorted({s.get("license") for s in sources_cfg if s.get("license")} | set(teacher_licenses(manifest)))
    if license_override:
        licenses = [hf_license(license_override)]
    else:
        licenses = sorted({hf_license(x) for x in lic_names}) or ["unknown"]
    domains = (
        sorted(set(queries["domain"].drop_nulls().to_list()))
        if queries is not None and "domain" in queries.columns
        else []
    )
    configs_meta = []
    present = [c for c in ("sft", "preference", "rl", "all") if written.get(c, {}).get("rows")]
    default = "sft" if "sft" in present else (present[0] if present else None)
    for c in present:
        entry: dict[str, Any] = {"config_name": c, "data_files": [{"split": "train", "path": f"data/{c}/train-*"}]}
        if c == default:
            entry["default"] = True
        configs_meta.append(entry)
    largest = max([written[c]["rows"] for c in present] or [0])
    hf_sources = sorted({(s.get("hf") or {}).get("path") for s in sources_cfg if s.get("hf")} - {None})
    meta: dict[str, Any] = {
        "license": licenses[0] if len(licenses) == 1 else licenses,
        "language": language,
        "pretty_name": pretty_name or f"{name} (cotforge reasoning traces)",
        "task_categories": ["text-generation", "question-answering"],
        "tags": sorted({"reasoning", "distillation", "synthetic", "cotforge", *domains, *tags}),
        "size_categories": [size_category(largest)],
        "annotations_creators": ["machine-generated"],
        "source_datasets": hf_sources + (["original"] if any(not s.get("hf") for s in sources_cfg) else []),
        "configs": configs_meta,
    }

    # --- body ----------------------------------------------------------------------------------------
    b: list[str] = [f"# {meta['pretty_name']}\n\n"]
    desc = manifest.get("description")
    b.append(f"{desc}\n\n" if desc else "")
    overlap = benchmark_overlap(run)
    b.append(_contamination_section(overlap))
    b.append(
        "Long chain-of-thought traces distilled from teacher models, verified, and exported by "
        f"cotforge {__version__}. Negatives (incorrect samples) are kept in the `all` "
        "config; the `sft` config holds verified-correct samples only.\n"
    )
    b.append("\n## Configs and intended use\n\n")
    uses = {
        "sft": "supervised fine-tuning (TRL `SFTTrainer`, conversational `messages`)",
        "preference": "preference training (DPO / REDI): `prompt`, `chosen`, `rejected` chat lists",
        "rl": "RL with verifiable rewards (GRPO): prompt-only rows with a `solution` ground truth",
        "all": "every sample with its verdict, for analysis and custom filtering",
    }
    rid = repo_id or "ORG/NAME"
    rows = [{"config": f"`{c}`", "rows": written.get(c, {}).get("rows", 0), "use": uses[c]} for c in uses]
    b.append(_table(rows, [("config", "config"), ("rows", "rows"), ("use", "use")]))
    if present:
        lines = "".join(f'ds_{c} = load_dataset("{rid}", "{c}", split="train")\n' for c in present)
        b.append(f"\n```python\nfrom datasets import load_dataset\n\n{lines}```\n")
    skipped = [c for c in uses if c not in present]
    if skipped:
        b.append(f"\nNot included (no rows after the export filters): {', '.join(f'`{c}`' for c in skipped)}.\n")
    b.append(
        f"\nExport filters: `{filters}`.\n"
        if filters
        else "\nExport filters: none (SFT = verified-correct samples, raw reasoning).\n"
    )

    # teachers
    b.append("\n## Teachers\n\n")
    b.extend(_teacher_section(manifest, traces))
    b.append(
        "\nTeacher outputs may be subject to the teachers' terms of use; check them before training on this data.\n"
    )

    # sources
    b.append("\n## Sources\n\n")
    src_stats = ((lock.get("stages") or {}).get("collect") or {}).get("stats", {}).get("sources", {})
    q_by_src: dict[str, int] = {}
    t_by_src: dict[str, int] = {}
    if queries is not None and "source" in queries.columns:
        q_by_src = dict(queries.group_by("source").agg(pl.len()).iter_rows())
    if traces is not None and queries is not None and "source" in queries.columns:
        t_by_src = dict(
            traces.join(queries.select("query_id", "source").unique("query_id"), on="query_id", how="left")
            .group_by("source")
            .agg(pl.len())
            .iter_rows()
        )
    srows = []
    for s in sources_cfg:
        n = s.get("name")
        where = (s.get("hf") or {}).get("path") or s.get("path")
        srows.append(
            {
                "source": n,
                "where": f"`{where}`" if where else None,
                "license": s.get("license"),
                "read": (src_stats.get(n) or {}).get("read"),
                "kept": (src_stats.get(n) or {}).get("kept"),
                "final": q_by_src.get(n, 0),
                "traces": t_by_src.get(n, 0),
            }
        )
    b.append(
        _table(
            srows,
            [
                ("source", "source"),
                ("where", "from"),
                ("license", "license"),
                ("read", "rows read"),
                ("kept", "valid"),
                ("final", "queries after dedup/decontam"),
                ("traces", "traces"),
            ],
        )
    )

    # dedup & decontamination
    b.append("\n## Deduplication and decontamination\n\n")
    for sec in ("dedup", "decontaminate"):
        cfg = manifest.get(sec)
        if cfg:
            b.append(f"\n`{sec}` settings:\n\n```yaml\n{yaml.safe_dump(cfg, sort_keys=True).strip()}\n```\n")
        else:
            b.append(f"\n`{sec}`: not run.\n")
    if removed is not None and removed.height:
        by = removed.group_by("stage", "reason").agg(pl.len().alias("rows")).sort("stage", "reason").to_dicts()
        b.append("\nRows removed, by stage and reason:\n\n")
        b.append(_table(by, [("stage", "stage"), ("reason", "reason"), ("rows", "rows")]))
        if "evidence" in removed.columns:
            cont = removed.filter(pl.col("stage") == "decontaminate").with_columns(
                pl.col("evidence").str.json_path_match("$.benchmark").alias("benchmark")
            )
            hits = cont.group_by("benchmark").agg(pl.len().alias("hits")).sort("benchmark").to_dicts()
            benchmarks = (manifest.get("decontaminate") or {}).get("benchmarks") or []
            seen = {h["benchmark"] for h in hits}
            hits += [{"benchmark": x, "hits": 0} for x in benchmarks if x not in seen]
            b.append("\nDecontamination hits per benchmark:\n\n")
            b.append(
                _table(
                    sorted(hits, key=lambda r: str(r["benchmark"])),
                    [("benchmark", "benchmark"), ("hits", "queries removed")],
                )
            )
    kept = overlap["hits"]
    b.append(
        "\nBundled benchmarks the decontamination did not remove, and the verbatim copies of their problems "
        "still among this dataset's queries:\n\n"
    )
    b.append(
        _table(
            [
                {"benchmark": x, "copies": "unknown (benchmark file missing)" if kept.get(x) == -1 else kept.get(x, 0)}
                for x in overlap["unchecked"]
            ],
            [("benchmark", "benchmark"), ("copies", "verbatim copies kept")],
        )
    )

    # verification
    b.append("\n## Verification\n\n")
    if traces is not None and "verdict" in traces.columns and traces["verdict"].null_count() < traces.height:
        v = (
            traces.group_by("teacher")
            .agg(
                pl.len().alias("samples"),
                (pl.col("verdict") == "correct").sum().alias("correct"),
                (pl.col("verdict") == "incorrect").sum().alias("incorrect"),
                (pl.col("verdict") == "truncated").sum().alias("truncated"),
                pl.col("verdict").is_in(["unverifiable", "error"]).sum().alias("not_judged"),
            )
            .sort("teacher")
            .to_dicts()
        )
        for r in v:
            lo, hi = wilson_scalar(r["correct"], r["samples"])
            r["pass_rate"] = f"{_pct(r['correct'] / r['samples'])} [{_pct(lo)}, {_pct(hi)}]"
        b.append(
            _table(
                v,
                [
                    ("teacher", "teacher"),
                    ("samples", "samples"),
                    ("correct", "correct"),
                    ("incorrect", "incorrect"),
                    ("truncated", "truncated"),
                    ("not_judged", "could not judge"),
                    ("pass_rate", "pass rate [95% Wilson CI]"),
                ],
            )
        )
        if "verifier" in traces.columns and queries is not None:
            vv = (
                traces.join(queries.select("query_id", "domain").unique("query_id"), on="query_id", how="left")
                .group_by("domain", "verifier")
                .agg(pl.len().alias("samples"))
                .sort("domain", "verifier")
                .to_dicts()
            )
            b.append("\nVerifier per domain:\n\n")
            b.append(_table(vv, [("domain", "domain"), ("verifier", "verifier"), ("samples", "samples")]))
    else:
        b.append("Not verified (the verify stage did not run): every sample's `verdict` is null.\n")

    # statistics
    b.append("\n## Statistics\n\n")
    if traces is not None:
        tok = next(
            (
                c
                for c in ("reasoning_tokens", "completion_tokens")
                if c in traces.columns and traces[c].null_count() < traces.height
            ),
            None,
        )
        if tok:
            s = (
                traces.group_by("teacher")
                .agg(
                    pl.len().alias("samples"),
                    pl.col("query_id").n_unique().alias("queries"),
                    *[
                        pl.col(tok).quantile(q, interpolation="linear").alias(f"p{int(q * 100)}")
                        for q in (0.1, 0.5, 0.9)
                    ],
                    pl.col(tok).mean().alias("mean"),
                    (
                        (pl.col("finish_reason") == "length").mean()
                        if "finish_reason" in traces.columns
                        else pl.lit(None)
                    ).alias("truncation"),
                )
                .with_columns(
                    (pl.col("samples") / pl.col("queries")).round(2).cast(pl.Utf8).alias("per_query"),
                    pl.col("truncation").map_elements(_pct, return_dtype=pl.Utf8),
                )
                .sort("teacher")
            )
            b.append(f"Token counts: `{tok}`.\n\n")
            b.append(
                _table(
                    s.to_dicts(),
                    [
                        ("teacher", "teacher"),
                        ("samples", "samples"),
                        ("per_query", "samples/query"),
                        ("p10", "p10"),
                        ("p50", "median"),
                        ("p90", "p90"),
                        ("mean", "mean"),
                        ("truncation", "truncated"),
                    ],
                )
            )
            if "answer" in traces.columns:
                a = (
                    traces.group_by("teacher")
                    .agg(pl.col("answer").str.len_chars().median().alias("answer_chars_median"))
                    .sort("teacher")
                )
                b.append("\nAnswer length (characters, median):\n\n")
                b.append(_table(a.to_dicts(), [("teacher", "teacher"), ("answer_chars_median", "median chars")]))
    st = frames_stats
    b.append(
        f"\nExported from {st.get('traces_in', 0):,} traces and {st.get('queries_in', 0):,} queries; after the "
        f"export filters {st.get('traces_after_filters', 0):,} traces, {st.get('queries_after_filters', 0):,} "
        f"queries and {st.get('pairs_after_filters', 0):,} preference pairs remained.\n"
    )

    b.append(_format_section(written))

    # schema
    b.append("\n## Schema\n\n")
    for c in present:
        cols = written[c].get("columns") or []
        b.append(f"\n### `{c}`\n\n")
        docs = {**COLUMN_DOCS, **(ALL_COLUMN_DOCS if c == "all" else {})}
        b.append(
            _table(
                [{"column": f"`{n}`", "type": f"`{t}`", "meaning": docs.get(n, "")} for n, t in cols],
                [("column", "column"), ("type", "type"), ("meaning", "meaning")],
            )
        )
    b.append(
        "\nNegatives are kept in `all` (`verdict` = incorrect / truncated); filter with e.g. "
        '`ds.filter(lambda r: r["verdict"] == "correct")`.\n'
    )

    # provenance
    b.append("\n## Provenance\n\n")
    b.append(
        f"- cotforge {lock.get('cotforge_version', __version__)}; run finished {lock.get('finished', '?')}; "
        f"card generated {datetime.now(timezone.utc).isoformat(timespec='seconds')}\n"
    )
    stages = lock.get("stages") or {}
    b.append("- stages: " + ", ".join(f"{k} ({v.get('status')})" for k, v in stages.items()) + "\n")
    versions = lock.get("versions") or {}
    if versions:
        b.append("- versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "\n")
    b.append(
        "- the run's manifest (secrets are references like `${HF_TOKEN}`, never values); also in "
        "`cotforge_lock.json` next to the data:\n\n"
    )
    b.append(f"```yaml\n{yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True).strip()}\n```\n")

    body = BEGIN + "\n" + "".join(b) + END + "\n"
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body


LIST_UNION = ("tags", "task_categories", "language", "source_datasets", "annotations_creators")
OURS = ("size_categories",)


def split_card(text: str) -> tuple[dict[str, Any], str]:
    from huggingface_hub import DatasetCard

    card = DatasetCard(text)
    return (card.data.to_dict() if card.data else {}), card.text


def merge_cards(existing: str | None, generated: str) -> str:
    """Merge a freshly generated card into an existing one without destroying what a person wrote:
    - metadata: keys we do not generate are kept; list keys (tags, languages, …) are unioned; `configs` are merged
      by config_name (ours replace same-named ones, others are kept); size_categories is ours; other scalar keys
      (license, pretty_name) keep the existing value.
    - body: our generated block replaces the previous generated block; text outside it is kept. An existing card
      without our block keeps its text first, with our block appended."""
    if not existing or not existing.strip():
        return generated
    old_meta, old_body = split_card(existing)
    new_meta, new_body = split_card(generated)
    meta = dict(old_meta)
    for k, v in new_meta.items():
        if k not in old_meta or k in OURS:
            meta[k] = v
        elif k in LIST_UNION:
            old = old_meta[k] if isinstance(old_meta[k], list) else [old_meta[k]]
            new = v if isinstance(v, list) else [v]
            meta[k] = old + [x for x in new if x not in old]
        elif k == "configs":
            ours = {c["config_name"]: c for c in v}
            kept = [c for c in old_meta[k] if c.get("config_name") not in ours]
            if any(c.get("default") for c in v):
                kept = [{kk: vv for kk, vv in c.items() if kk != "default"} for c in kept]
            meta[k] = kept + list(v)
    block = new_body[new_body.index(BEGIN) : new_body.index(END) + len(END)]
    if BEGIN in old_body and END in old_body:
        body = old_body[: old_body.index(BEGIN)] + block + old_body[old_body.index(END) + len(END) :]
    else:
        body = old_body.rstrip() + "\n\n" + block + "\n"
    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n\n" + body.lstrip("\n")
