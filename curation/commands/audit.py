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
            structure = result.get("structure") or {}
            if structure.get("computed") and structure.get("summary"):
                # at least 110 columns: a pipe or CI log gets 80, too narrow for long teacher names
                Console(stderr=True, width=max(console.width, 110)).print(structure_table(structure["summary"]))


def structure_table(rows: list[dict]):
    """The DLCoT structure per teacher (what the report's structure section plots), for the terminal."""
    from rich import box
    from rich.table import Table

    def fmt(v, pct=False):
        if not isinstance(v, (int, float)):
            return "–"
        return f"{100 * v:.1f}%" if pct else f"{v:.2f}"

    t = Table(title="DLCoT structure per teacher (segment stage; `full` simplification)", box=box.SIMPLE,
              title_justify="left")
    t.add_column("teacher", no_wrap=True)
    for col in ("traces", "approaches", "checks", "verif. share", "1st correct", "reduction"):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(str(r["teacher"]), str(r.get("segmented_traces", "–")), fmt(r.get("approaches_mean")),
                  fmt(r.get("verification_steps_mean")), fmt(r.get("verification_share"), True),
                  fmt(r.get("first_approach_correct"), True), fmt(r.get("token_reduction"), True))
    return t
