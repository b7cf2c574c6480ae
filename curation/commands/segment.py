"""`cotforge segment INPUT --out OUTPUT`: DLCoT segmentation + simplification of any file with a reasoning column."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..tabular_io import read_table, write_table


def register(app: typer.Typer) -> None:
    @app.command()
    def segment(
        input: Path = typer.Argument(..., help="parquet or jsonl[.gz] file with a reasoning column"),
        out: Path = typer.Option(..., "--out", help="output .parquet or .jsonl (every input row, plus new columns)"),
        reasoning_field: str = typer.Option("reasoning", "--reasoning-field"),
        reference_field: Optional[str] = typer.Option(
            "reference_answer", "--reference-field", help="reference answer column ('' for none)"
        ),
        problem_field: Optional[str] = typer.Option("problem", "--problem-field"),
        segmenter: str = typer.Option("crf", "--segmenter", help="crf (learned, default) | heuristic (cue rules)"),
        strategy: str = typer.Option("full", "--strategy", help="none | redundancy_only | full | keep_last_k"),
        strength: float = typer.Option(1.0, "--strength"),
        cluster: str = typer.Option("embedding", "--cluster", help="embedding | none"),
        threshold: float = typer.Option(0.85, "--cluster-threshold"),
        tokenizer: str = typer.Option("auto", "--tokenizer", help="auto | regex | local tokenizer folder"),
        workers: int = typer.Option(2, "--workers"),
        batch: int = typer.Option(256, "--batch"),
    ) -> None:
        """Segment reasoning into DLCoT parts, judge each approach, cluster, simplify; write every row back."""
        import json

        import pyarrow as pa
        from rich.console import Console

        from .. import records
        from ..config.segment import SegmentConfig, SimplifyConfig
        from ..cot.pipeline import DLCoT, TraceIn
        from ..errors import UserError

        try:
            cfg = SegmentConfig(
                segmenter=segmenter,
                cluster=cluster,
                cluster_threshold=threshold,
                tokenizer=tokenizer,
                workers=workers,
                simplify=SimplifyConfig(strategy=strategy, strength=strength),
            )
        except Exception as e:
            raise UserError(f"bad option: {e}") from None
        table = read_table(input).to_arrow()
        cols = table.column_names
        if reasoning_field not in cols:
            raise UserError(
                f"{input}: no column {reasoning_field!r} (columns: {', '.join(cols)}); pass --reasoning-field"
            )
        ref_col = reference_field or None
        if ref_col and ref_col not in cols:
            if reference_field != "reference_answer":
                raise UserError(f"{input}: no column {ref_col!r} for --reference-field (columns: {', '.join(cols)})")
            ref_col = None
        prob_col = problem_field if problem_field and problem_field in cols else None
        texts = table.column(reasoning_field).to_pylist()
        if any(t is not None and not isinstance(t, str) for t in texts):
            raise UserError(f"{input}: column {reasoning_field!r} is not text")
        refs = table.column(ref_col).to_pylist() if ref_col else [None] * len(texts)
        probs = table.column(prob_col).to_pylist() if prob_col else [None] * len(texts)
        proc = DLCoT(cfg)
        outs = []
        for s in range(0, len(texts), batch):
            outs += proc.process(
                [
                    TraceIn(t, p, None if r is None else str(r))
                    for t, p, r in zip(texts[s : s + batch], probs[s : s + batch], refs[s : s + batch])
                ]
            )
        for f in records.SEGMENT_COLUMNS:
            if f.name in table.column_names:
                table = table.drop_columns([f.name])
        table = table.append_column(
            records.SEGMENT_COLUMNS[0], pa.array([o.segments for o in outs], records.SEGMENT_COLUMNS[0].type)
        )
        table = table.append_column("simplified_reasoning", pa.array([o.simplified for o in outs], pa.string()))
        table = table.append_column("reasoning_tokens", pa.array([o.reasoning_tokens for o in outs], pa.int32()))
        table = table.append_column("simplified_tokens", pa.array([o.simplified_tokens for o in outs], pa.int32()))
        table = table.append_column("segment_details", pa.array([json.dumps(o.details) for o in outs], pa.string()))
        write_table(table, out)
        before = sum(o.reasoning_tokens for o in outs)
        after = sum(o.simplified_tokens for o in outs)
        n_s = sum(bool(o.details.get("simplified")) for o in outs)
        Console(stderr=True).print(
            f"segmented {len(outs)} rows → {out}; simplified {n_s}; tokens {before} → {after} "
            f"({(1 - after / before) * 100 if before else 0:.1f}% less, tokenizer {proc.counter.name})"
        )
