"""`cotforge audit RUN_DIR [--out DIR]`: per-teacher quality report (HTML + JSON + PNG)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(stderr=True)


def register(app: typer.Typer) -> None:
    @app.command()
    def audit(
        run_dir: Path = typer.Argument(..., help="a run directory (runs/<name>)"),
        out: Path | None = typer.Option(None, "--out", help="output folder (default: RUN_DIR/report/audit)"),
        ppl_model: str | None = typer.Option(
            None, "--ppl-model", help="local transformers causal-LM folder: adds perplexity per teacher"),
        ppl_max_per_teacher: int = typer.Option(200, "--ppl-max-per-teacher", min=1),
        ppl_max_tokens: int = typer.Option(1024, "--ppl-max-tokens", min=8),
        embeddings: bool = typer.Option(True, "--embeddings/--no-embeddings",
                                        help="embedding spread across samples of the same query"),
        embed_model: str | None = typer.Option(None, "--embed-model",
                                                  help="sentence-transformers model (default: bundled MiniLM)"),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """Audit teacher quality: pass rates with intervals, lengths, structure, diversity, agreement, ranking."""
        from ..audit import AuditOptions, run_audit
        from ..errors import UserError

        if ppl_model is not None and not Path(ppl_model).exists():
            raise UserError(f"--ppl-model {ppl_model}: no such folder (give a local transformers model directory; "
                            "the audit never downloads models)")
        opts = AuditOptions(embeddings=embeddings, embed_model=embed_model, ppl_model=ppl_model,
                            ppl_max_per_teacher=ppl_max_per_teacher, ppl_max_tokens=ppl_max_tokens)
        result = run_audit(run_dir, out, opts)
        if not quiet:
            out_dir = Path(result["out_dir"])
            console.print(f"[bold]audit[/] {result['summary']['teachers']} teachers, "
                          f"{result['summary']['traces']} traces → {out_dir / 'report.html'}")
            for row in result["ranking"]["table"]:
                score = row.get("score")
                console.print(f"  #{row['rank']} {row['teacher']}  score={score:.3f}" if score is not None
                              else f"  #{row['rank']} {row['teacher']}")
