"""Exports of a run for downstream trainers and the Hub.

    from curation.export import export_run
    export_run("runs/demo", ["hf", "trl-sft"], "out/", filters=ExportFilters(max_tokens=16000))

Formats (ecosystem_conventions.md §4–5): hf (parquet shards per config + dataset card), trl-sft, trl-preference,
trl-prompt, verl, llamafactory, openrlhf. The run's tables are only read.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..config.export import FORMATS, CardConfig, ExportFilters
from ..errors import UserError
from ..rundata import RunTables, load_run
from ..store import atomic_write_bytes, atomic_write_json
from . import formats as F
from .frame import load_frames

__all__ = ["FORMATS", "export_format", "export_run"]


def export_format(
    run: RunTables,
    fmt: str,
    dest: Path,
    filters: ExportFilters,
    card: CardConfig | None = None,
    max_shard_mb: int = 300,
    repo_id: str | None = None,
) -> dict[str, Any]:
    """Write one format into `dest`; returns what was written (files, row counts, filter stats)."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: unknown export format; formats are: {', '.join(FORMATS)}")
    frames = load_frames(run, filters)
    if fmt in ("trl-preference",) and frames.pairs is None:
        raise UserError(
            f"{run.root}: format {fmt!r} needs the `pairs` table, which the select stage writes; "
            "enable `select:` in the manifest and re-run"
        )
    dest.mkdir(parents=True, exist_ok=True)
    pos = filters.positives_only
    if fmt == "hf":
        from .card import build_card, sanitize

        for sub in ("sft", "preference", "rl", "all"):  # stale shards from an earlier export would be loaded too
            shutil.rmtree(dest / "data" / sub, ignore_errors=True)
        written = F.write_hf(frames, dest, pos, max_shard_mb)
        card = card or CardConfig()
        text = build_card(
            run,
            written,
            frames.stats,
            pretty_name=card.pretty_name,
            license_override=card.license,
            language=card.language,
            tags=card.tags,
            filters=filters.model_dump(exclude_defaults=True),
            repo_id=repo_id,
        )
        atomic_write_bytes(dest / "README.md", text.encode("utf-8"))
        atomic_write_json(dest / "cotforge_lock.json", sanitize(run.lock))
        result: dict[str, Any] = {
            "configs": written,
            "files": ["README.md", "cotforge_lock.json"] + [f for c in written.values() for f in c.get("files", [])],
        }
    elif fmt == "trl-sft":
        result = F.write_trl_sft(frames, dest, pos)
    elif fmt == "trl-preference":
        result = F.write_trl_preference(frames, dest)
    elif fmt == "trl-prompt":
        result = F.write_trl_prompt(frames, dest)
    elif fmt == "verl":
        result = F.write_verl(frames, dest)
    elif fmt == "llamafactory":
        name = (run.manifest.get("name") or "cotforge").replace("-", "_")
        result = F.write_llamafactory(frames, dest, pos, name)
    else:
        result = F.write_openrlhf(frames, dest, pos)
    result.update({"format": fmt, "dir": str(dest), "filter_stats": frames.stats})
    return result


def export_run(
    run_dir: Path | str | RunTables,
    formats: list[str],
    out: Path | str,
    filters: ExportFilters | None = None,
    card: CardConfig | None = None,
    max_shard_mb: int = 300,
    subdirs: bool | None = None,
    repo_id: str | None = None,
) -> dict[str, Any]:
    """Export several formats. With one format and `subdirs` unset, files go straight into `out`; otherwise into
    `out/<format>/`."""
    run = run_dir if isinstance(run_dir, RunTables) else load_run(run_dir)
    filters = filters or ExportFilters()
    out = Path(out)
    if subdirs is None:
        subdirs = len(formats) > 1
    results = {}
    for fmt in dict.fromkeys(formats):
        results[fmt] = export_format(run, fmt, out / fmt if subdirs else out, filters, card, max_shard_mb, repo_id)
    return results
