"""export stage (optional, last): writes the formats listed in the manifest's `export:` section.

Default destination `<run_dir>/export/<format>/`; `export.out_dir` (relative to the manifest's folder) moves it.
The stage reads the run's latest tables and writes no tables of its own; per-format row counts go to the lock.
Publishing (`cotforge push`) is a separate command: it needs network and a token, which a pipeline run must not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..manifest import Manifest
from ..stage import StageContext


def enabled(manifest: Manifest) -> bool:
    return manifest.export is not None and manifest.export.enabled


def output_dir(ctx: StageContext) -> Path:
    cfg = ctx.config
    return ctx.manifest.resolve(cfg.out_dir) if cfg.out_dir is not None else ctx.run_dir / "export"


def run(ctx: StageContext) -> None:
    from ..export import export_run
    from ..rundata import load_run

    cfg = ctx.config
    out = output_dir(ctx)
    results = export_run(
        load_run(ctx.run_dir), list(cfg.formats), out, cfg.filters, cfg.card, cfg.max_shard_mb, subdirs=True
    )
    stats: dict[str, Any] = {}
    for fmt, r in results.items():
        rows = (
            {c: v.get("rows", 0) for c, v in r["configs"].items()}
            if fmt == "hf"
            else {k: v for k, v in r.items() if k.endswith("rows")}
        )
        stats[fmt] = {"dir": r["dir"], "rows": rows}
        ctx.log(f"{fmt}: {rows} → {r['dir']}")
    ctx.stats["formats"] = stats
    ctx.stats["filters"] = cfg.filters.model_dump(exclude_defaults=True)
