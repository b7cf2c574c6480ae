"""`cotforge run | inspect | validate`: drive and look at a run."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console(width=None if sys.stdout.isatty() else 160)


def print_summary(lock: dict, run_dir: Path) -> None:
    from ..api import summary_rows

    t = Table(title=f"cotforge run: {run_dir}", title_justify="left")
    for col in ("stage", "status", "outputs (rows)", "removed", "removed by reason", "seconds"):
        t.add_column(col, overflow="fold")
    for r in summary_rows(lock):
        status = r["status"] + (" (cached)" if r["cached"] else "")
        outputs = ", ".join(f"{k}={v}" for k, v in r["outputs"].items())
        reasons = ", ".join(f"{k}={v}" for k, v in sorted(r["removed_by_reason"].items(), key=lambda x: -x[1]))
        secs = "" if r["seconds"] is None else f"{r['seconds']:.2f}"
        t.add_row(r["stage"], status, outputs, str(r["removed"] or ""), reasons, secs)
    console.print(t)


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        manifest: Path = typer.Argument(..., help="manifest YAML"),
        run_dir: Optional[Path] = typer.Option(None, "--run-dir", help="default: runs/<name>"),
        until: Optional[str] = typer.Option(None, "--until", help="stop after this stage"),
        fresh: bool = typer.Option(False, "--fresh", help="ignore previous results and caches"),
        fail_fast: bool = typer.Option(False, "--fail-fast", help="stop at the first hard teacher error"),
        executor: Optional[str] = typer.Option(
            None, "--executor", help="local or ray (default: the manifest's executor section, else local)"
        ),
        ray_address: Optional[str] = typer.Option(
            None,
            "--ray-address",
            help="with --executor ray: the cluster to join ('auto', 'ray://head:10001'); default: a local instance",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """Run (or resume) the pipeline a manifest describes; finished stages are skipped."""
        from ..api import Pipeline
        from ..errors import UserError

        pipeline = Pipeline.from_yaml(manifest)
        spec = None
        if executor is not None or ray_address is not None:
            if ray_address is not None and (executor or pipeline.manifest.executor.kind) != "ray":
                raise UserError("--ray-address is for the ray executor: add --executor ray")
            spec = {
                **pipeline.manifest.executor.model_dump(),
                **({"kind": executor} if executor else {}),
                **({"address": ray_address} if ray_address else {}),
            }
        result = pipeline.run(run_dir, until=until, fresh=fresh, fail_fast=fail_fast, executor=spec, quiet=quiet)
        if not quiet:
            print_summary(result.lock, result.run_dir)
            console.print(f"run directory: [bold]{result.run_dir}[/]  (catalog: {result.catalog_path})")

    @app.command()
    def inspect(
        run_dir: Path = typer.Argument(..., help="a run directory (runs/<name>)"),
        as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """Per-stage counts, removals by reason and timings of a run."""
        from ..api import Run

        result = Run(run_dir)
        if as_json:
            typer.echo(json.dumps(result.summary(), indent=2))
        else:
            print_summary(result.lock, run_dir)

    @app.command()
    def validate(manifest: Path = typer.Argument(..., help="manifest YAML")) -> None:
        """Check a manifest without running it."""
        from .. import manifest as manifest_mod
        from ..stages import REGISTRY

        m = manifest_mod.load(manifest)
        on = [n for n, s in REGISTRY.items() if s.enabled(m)]
        console.print(f"{manifest}: ok — {len(m.sources)} sources, {len(m.teachers)} teachers; stages: {', '.join(on)}")
