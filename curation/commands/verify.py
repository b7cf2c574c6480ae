"""`cotforge verify math`: check model answers against gold answers (a stable contract used by the pipeline).

cotforge verify math --input CASES.jsonl --output OUT.jsonl [--workers N] [--timeout-ms MS]
cotforge verify math --gold G --prediction P
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError

PROGRESS_MIN_ROWS = 200  # smaller inputs stay silent on stderr


def _read_cases(path: Path) -> list[dict]:
    if not path.exists():
        raise UserError(f"--input {path}: file not found")
    rows = []
    with path.open(encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise UserError(f"{path}:{ln}: not valid JSON ({e.msg}); each line must be one JSON object") from e
            if not isinstance(row, dict):
                raise UserError(f"{path}:{ln}: expected a JSON object, got {type(row).__name__}")
            missing = [k for k in ("gold", "prediction") if k not in row]
            if missing:
                raise UserError(f"{path}:{ln}: missing field(s) {missing}; every line needs 'gold' and 'prediction'")
            rows.append(row)
    return rows


def _annotate(row: dict, v) -> dict:
    out = dict(row)
    out["equivalent"] = v.equivalent
    out["status"] = v.status
    out["extracted"] = {
        "gold": v.extracted_gold,
        "prediction": v.extracted_pred,
        "source": v.pred_source,
        "span": list(v.pred_span) if v.pred_span else None,
    }
    out["method"] = v.method
    if v.detail:
        out["detail"] = v.detail
    return out


def register(app: typer.Typer) -> None:
    sub = typer.Typer(help="Verify model answers (math: symbolic equivalence).", no_args_is_help=True)

    @sub.command("math")
    def math_cmd(
        input: Optional[Path] = typer.Option(None, "--input", help="JSONL with 'gold' and 'prediction' per line"),
        output: Optional[Path] = typer.Option(None, "--output", help="JSONL to write (input rows + verdict fields)"),
        gold: Optional[str] = typer.Option(None, "--gold", help="one bare gold answer"),
        prediction: Optional[str] = typer.Option(None, "--prediction", help="one raw model output"),
        workers: int = typer.Option(1, "--workers", min=1, help="worker processes"),
        timeout_ms: int = typer.Option(1000, "--timeout-ms", min=1, help="per-case deadline in milliseconds"),
        last_number: str = typer.Option("short", "--last-number", help="last-number fallback: never|short|always"),
    ) -> None:
        """Verify math answers: a JSONL file (--input/--output) or one pair (--gold/--prediction)."""
        from verifiers.math import verify, verify_batch

        if last_number not in ("never", "short", "always"):
            raise UserError(f"--last-number {last_number!r}: use never, short or always")
        opts = {} if last_number == "short" else {"last_number": last_number}
        if input is None and gold is None:
            raise UserError("give --input CASES.jsonl --output OUT.jsonl, or --gold G --prediction P")
        if input is not None:
            if gold is not None or prediction is not None:
                raise UserError("--input cannot be combined with --gold/--prediction")
            if output is None:
                raise UserError("--input needs --output OUT.jsonl")
            rows = _read_cases(input)
            pairs = [(r["gold"], r["prediction"]) for r in rows]
            if len(rows) >= PROGRESS_MIN_ROWS:
                from tqdm import tqdm

                bar = tqdm(total=len(rows), file=sys.stderr, desc="verify math", unit="case")
                verdicts = verify_batch(pairs, workers=workers, timeout_ms=timeout_ms, progress=bar.update, **opts)
                bar.close()
            else:
                verdicts = verify_batch(pairs, workers=workers, timeout_ms=timeout_ms, **opts)
            output.parent.mkdir(parents=True, exist_ok=True)
            tmp = output.with_name(output.name + ".tmp")
            with tmp.open("w", encoding="utf-8") as f:
                for r, v in zip(rows, verdicts):
                    f.write(json.dumps(_annotate(r, v), ensure_ascii=False) + "\n")
            tmp.replace(output)
            return
        if prediction is None:
            raise UserError("--gold needs --prediction")
        v = verify(gold, prediction, timeout_ms=timeout_ms, **opts)
        typer.echo(json.dumps(_annotate({"gold": gold, "prediction": prediction}, v), ensure_ascii=False))

    app.add_typer(sub, name="verify")
