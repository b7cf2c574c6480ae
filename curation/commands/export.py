"""`cotforge export` (trainer formats, Hub folder) and `cotforge push` (publish the hf export)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def _split(values: list[str] | None) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def register(app: typer.Typer) -> None:
    @app.command()
    def export(
        run_dir: Path = typer.Argument(..., help="a run directory (runs/<name>)"),
        fmt: list[str] = typer.Option(
            ...,
            "--format",
            "-f",
            help="hf, trl-sft, trl-preference, trl-prompt, verl, "
            "llamafactory, openrlhf (repeat or comma-separate for several)",
        ),
        out: Path = typer.Option(..., "--out", "-o", help="output folder (several formats: one subfolder each)"),
        positives_only: bool = typer.Option(
            True, "--positives-only/--all-samples", help="SFT outputs: verified-correct traces only (default) or all"
        ),
        min_tokens: int | None = typer.Option(None, "--min-tokens", min=0),
        max_tokens: int | None = typer.Option(None, "--max-tokens", min=0),
        teacher: list[str] | None = typer.Option(None, "--teacher", help="keep only these teachers (repeat)"),
        min_difficulty: float | None = typer.Option(None, "--min-difficulty", min=0, max=1),
        max_difficulty: float | None = typer.Option(None, "--max-difficulty", min=0, max=1),
        reasoning: str = typer.Option("raw", "--reasoning", help="raw | simplified (DLCoT simplified reasoning)"),
        prompt: str = typer.Option("problem", "--prompt", help="problem | teacher (exact prompt sent)"),
        pretty_name: str | None = typer.Option(None, "--pretty-name", help="hf card title"),
        license_: str | None = typer.Option(None, "--license", help="hf card license (default: from sources)"),
        max_shard_mb: int = typer.Option(300, "--max-shard-mb", min=1),
    ) -> None:
        """Export a run for trainers (TRL, verl, LLaMA-Factory, OpenRLHF) or as a Hub dataset folder."""
        from pydantic import ValidationError

        from ..config.export import FORMATS, CardConfig, ExportFilters
        from ..errors import UserError
        from ..export import export_run

        formats = _split(fmt)
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise UserError(f"--format {', '.join(bad)}: unknown; formats are: {', '.join(FORMATS)}")
        try:
            filters = ExportFilters(
                positives_only=positives_only,
                min_tokens=min_tokens,
                max_tokens=max_tokens,
                teachers=_split(teacher) or None,
                min_difficulty=min_difficulty,
                max_difficulty=max_difficulty,
                reasoning=reasoning,
                prompt=prompt,
            )
        except ValidationError as e:
            msgs = "; ".join(f"{'.'.join(map(str, x['loc'])) or 'filters'}: {x['msg']}" for x in e.errors())
            raise UserError(f"export filters: {msgs}") from None
        card = CardConfig(pretty_name=pretty_name, license=license_)
        results = export_run(run_dir, formats, out, filters, card, max_shard_mb)
        for f, r in results.items():
            rows = (
                {c: v.get("rows", 0) for c, v in r["configs"].items()}
                if f == "hf"
                else {k: v for k, v in r.items() if k.endswith("rows")}
            )
            console.print(f"[bold]{f}[/] → {r['dir']}  rows: {rows}")

    @app.command()
    def push(
        run_dir: Path = typer.Argument(..., help="a run directory (its hf export is rebuilt and uploaded)"),
        repo_id: str = typer.Option(..., "--repo-id", help="ORG/NAME of the dataset repo on the Hub"),
        private: bool = typer.Option(False, "--private", help="create the repo private (ignored if it exists)"),
        config: list[str] | None = typer.Option(
            None, "--config", help="only these configs (sft, preference, rl, all); repeat or comma-separate"
        ),
        from_dir: Path | None = typer.Option(
            None, "--from", help="upload this existing hf export folder instead of re-exporting RUN_DIR/export/hf"
        ),
        endpoint: str | None = typer.Option(
            None, "--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)"
        ),
        revision: str | None = typer.Option(None, "--revision", help="branch (default: main)"),
        commit_max_files: int = typer.Option(100, "--commit-max-files", min=1),
        commit_max_mb: int = typer.Option(2048, "--commit-max-mb", min=1),
    ) -> None:
        """Upload the hf export to the Hub: resumable multi-commit upload, retries, card merged non-destructively.
        The token comes from HF_TOKEN or `hf auth login`; it is never written anywhere."""
        from ..config.export import CardConfig, ExportFilters
        from ..export import export_format
        from ..export.push import push_folder
        from ..rundata import load_run

        if from_dir is None:
            run = load_run(run_dir)
            cfg = run.manifest.get("export") or {}
            filters = ExportFilters.model_validate(cfg.get("filters") or {})
            card = CardConfig.model_validate(cfg.get("card") or {})
            folder = run.root / "export" / "hf"
            export_format(run, "hf", folder, filters, card, repo_id=repo_id)
        else:
            folder = from_dir
        res = push_folder(
            folder,
            repo_id,
            private=private,
            endpoint=endpoint,
            revision=revision,
            configs=_split(config) or None,
            commit_max_files=commit_max_files,
            commit_max_mb=commit_max_mb,
            log=lambda m: console.print(f"[dim]push:[/] {m}"),
        )
        console.print(
            f"[bold]pushed[/] {len(res.files)} files in {len(res.commits)} commits to {res.url}"
            + (" (existing card merged)" if res.card_merged else "")
            + (f"; {res.retries} retries" if res.retries else "")
        )
