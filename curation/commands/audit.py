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
            None, "--ppl-model", help="local transformers causal-LM folder: adds perplexity per teacher"
        ),
        ppl_max_per_teacher: int = typer.Option(200, "--ppl-max-per-teacher", min=1),
        ppl_max_tokens: int = typer.Option(1024, "--ppl-max-tokens", min=8),
        embeddings: bool = typer.Option(
            True, "--embeddings/--no-embeddings", help="embedding spread across samples of the same query"
        ),
        embed_model: str | None = typer.Option(
            None, "--embed-model", help="sentence-transformers model (default: bundled MiniLM)"
        ),
        weight: list[str] | None = typer.Option(
            None,
            "--weight",
            help="opt-in composite score: CRITERION=WEIGHT, repeatable (pass_rate, truncation_rate, "
            "malformed_rate, tokens_correct, distinct_2, adaptive_rho, ppl_mean); the ranking stays by pass rate",
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q"),
    ) -> None:
        """Audit teacher quality: pass rates with intervals, lengths, structure, diversity, agreement, ranking."""
        from ..audit import AuditOptions, run_audit
        from ..audit.ranking import parse_weights
        from ..errors import UserError

        if ppl_model is not None and not Path(ppl_model).exists():
            raise UserError(
                f"--ppl-model {ppl_model}: no such folder (give a local transformers model directory; "
                "the audit never downloads models)"
            )
        opts = AuditOptions(
            embeddings=embeddings,
            embed_model=embed_model,
            ppl_model=ppl_model,
            ppl_max_per_teacher=ppl_max_per_teacher,
            ppl_max_tokens=ppl_max_tokens,
            weights=parse_weights(weight),
        )
        result = run_audit(run_dir, out, opts)
        if not quiet:
            out_dir = Path(result["out_dir"])
            console.print(
                f"[bold]audit[/] {result['summary']['teachers']} teachers, "
                f"{result['summary']['traces']} traces → {out_dir / 'report.html'}"
            )
            for line in ranking_lines(result["ranking"]):
                console.print(line)
            structure = result.get("structure") or {}
            if structure.get("computed") and structure.get("summary"):
                # at least 130 columns: a pipe or CI log gets 80, too narrow for long teacher names
                Console(stderr=True, width=max(console.width, 130)).print(structure_table(structure["summary"]))


def ranking_lines(ranking: dict) -> list[str]:
    """The ranking for the terminal: rank (= for overlapping intervals), pass rate [95% CI] and n per teacher."""
    from ..audit.report import pct

    out = [f"  ranked by {ranking['order']} (= : 95% intervals overlap, not told apart)"]
    for r in ranking["table"]:
        rate = (
            f"pass {pct(r.get('pass_rate'))} [{pct(r.get('ci_low'))}, {pct(r.get('ci_high'))}] n={r.get('n')}"
            if r.get("pass_rate") is not None
            else "not verified"
        )
        comp = f"  composite={r['composite']:.3f}" if r.get("composite") is not None else ""
        out.append(f"  #{r.get('rank_label') or '–'} {r['teacher']}  {rate}{comp}")
    return out


def structure_table(rows: list[dict]):
    """The DLCoT structure per teacher (the report's structure table), for the terminal."""
    from rich import box
    from rich.table import Table

    from ..audit.report import FORMATS, STRUCTURE_COLUMNS

    t = Table(
        title="DLCoT structure per teacher (segment stage; `full` simplification)", box=box.SIMPLE, title_justify="left"
    )
    for key, header, _ in STRUCTURE_COLUMNS:
        t.add_column(header, no_wrap=key == "teacher", justify="left" if key == "teacher" else "right")
    for r in rows:
        t.add_row(*(str(r[key]) if fmt == "text" else FORMATS[fmt](r.get(key)) for key, _, fmt in STRUCTURE_COLUMNS))
    return t
