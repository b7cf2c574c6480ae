"""`cotforge dedup` and `cotforge decontaminate`: the pipeline's dedup/decontamination on any jsonl/parquet file.

Every input row is written back with the decision columns, so nothing is dropped silently:
dedup → `cluster_id`, `kept`, `dup_of`, `dup_reason`, `dup_similarity`;
decontaminate → `contaminated`, `contamination_hits` (list of {benchmark, item_id, detector, score}).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..errors import UserError
from ..tabular_io import read_table, write_table


def _text_column(df, field: str, path: Path):
    import polars as pl

    if field not in df.columns:
        raise UserError(f"{path}: no column {field!r} (columns: {', '.join(df.columns)}); pass --text-field")
    if df.schema[field] != pl.String:
        raise UserError(f"{path}: column {field!r} is {df.schema[field]}, not text")
    return df[field]


def _ids(df, id_field: str | None, path: Path) -> list:
    if id_field is None:
        return df["id"].to_list() if "id" in df.columns else list(range(df.height))
    if id_field not in df.columns:
        raise UserError(f"{path}: no column {id_field!r} for --id-field (columns: {', '.join(df.columns)})")
    return df[id_field].to_list()


def register(app: typer.Typer) -> None:
    @app.command()
    def dedup(
        input: Path = typer.Argument(..., help="queries file (.jsonl, .jsonl.gz or .parquet)"),
        out: Path = typer.Option(..., "--out", "-o", help="output .jsonl or .parquet (every input row)"),
        text_field: str = typer.Option("problem", "--text-field"),
        id_field: str | None = typer.Option(None, "--id-field", help="default: 'id' if present, else row number"),
        exact: bool = typer.Option(False, "--exact", help="exact dedup on the canonical form"),
        near: bool = typer.Option(False, "--near", help="MinHash/LSH near dedup, number-guarded"),
        semantic: bool = typer.Option(False, "--semantic", help="embedding dedup, number-guarded (slow on CPU)"),
        near_threshold: float = typer.Option(0.6, "--near-threshold", help="estimated Jaccard"),
        no_number_guard: bool = typer.Option(False, "--no-number-guard", help="let near dedup merge different numbers"),
        number_order: str = typer.Option(
            "sentence",
            "--number-order",
            help="sentence: numbers must also keep their order within each sentence "
            "('x-y=6, x+y=12' ≠ 'x-y=12, x+y=6'); off: multiset only",
        ),
        semantic_threshold: float = typer.Option(
            0.95, "--semantic-threshold", help="cosine (--semantic-method cosine)"
        ),
        semantic_method: str = typer.Option(
            "detector",
            "--semantic-method",
            help="detector: the decontamination detectors, pool against itself; "
            "cosine: number-blocked cosine ≥ --semantic-threshold",
        ),
        domain_field: str | None = typer.Option(
            None, "--domain-field", help="math|code column (semantic: code tasks are compared by their examples)"
        ),
        model: str = typer.Option("all-MiniLM-L6-v2", "--model", help="sentence-transformers model (semantic)"),
        device: str = typer.Option("auto", "--device"),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="embedding cache folder"),
    ) -> None:
        """Mark exact / near / semantic duplicates (default: --exact --near). Keeps the first row of a cluster."""
        import polars as pl

        from ..config.dedup import NearConfig, SemanticConfig
        from ..config.embedding import EmbeddingConfig
        from ..text.dedup import find_duplicates

        if not (exact or near or semantic):
            exact = near = True
        df = read_table(input)
        texts = _text_column(df, text_field, input)
        ids = _ids(df, id_field, input)
        if number_order not in ("sentence", "off"):
            raise UserError(f"--number-order must be 'sentence' or 'off', got {number_order!r}")
        near_cfg = NearConfig(
            enabled=near,
            threshold=near_threshold,
            number_guard="off" if no_number_guard else "exact",
            number_order=number_order,
        )
        if semantic_method not in ("detector", "cosine"):
            raise UserError(f"--semantic-method must be 'detector' or 'cosine', got {semantic_method!r}")
        domains = None
        if domain_field:
            if domain_field not in df.columns:
                raise UserError(f"{input}: no column {domain_field!r} for --domain-field")
            domains = df[domain_field].cast(pl.String).to_list()
        sem_cfg = SemanticConfig(
            enabled=semantic,
            threshold=semantic_threshold,
            method=semantic_method,
            embedding=EmbeddingConfig(model=model, device=device),
        )
        res = find_duplicates(texts, exact=exact, near=near_cfg, semantic=sem_cfg, cache_dir=cache_dir, domains=domains)
        kept = res.kept
        id_dtype = df.schema[id_field or "id"] if (id_field or "id") in df.columns else pl.Int64
        df = df.with_columns(
            pl.Series("cluster_id", [ids[r] for r in res.root], dtype=id_dtype),
            pl.Series("kept", kept, dtype=pl.Boolean),
            pl.Series("dup_of", [None if k else ids[r] for k, r in zip(kept, res.root)], dtype=id_dtype),
            pl.Series("dup_reason", res.reason, dtype=pl.String),
            pl.Series(
                "dup_similarity",
                [None if k else round(float(s), 4) for k, s in zip(kept, res.similarity)],
                dtype=pl.Float64,
            ),
        )
        write_table(df, out)
        s = res.stats
        typer.echo(
            f"{input}: {s['input']} rows → {s['kept']} kept; exact {s.get('exact_duplicate', 0)}, "
            f"near {s.get('near_duplicate', 0)}, semantic {s.get('semantic_duplicate', 0)} → {out}"
        )

    @app.command()
    def decontaminate(
        input: Path | None = typer.Argument(None, help="queries file (.jsonl, .jsonl.gz or .parquet)"),
        out: Path | None = typer.Option(None, "--out", "-o", help="output .jsonl or .parquet (every input row)"),
        text_field: str = typer.Option("problem", "--text-field"),
        benchmark: list[str] | None = typer.Option(
            None, "--benchmark", "-b", help="bundled name or file (repeat); default: every bundled benchmark"
        ),
        benchmark_field: str = typer.Option("problem", "--benchmark-field", help="text column of benchmark files"),
        domain_field: str | None = typer.Option(None, "--domain-field", help="math|code column (code detectors)"),
        tests_field: str | None = typer.Option(
            None, "--tests-field", help="column with each query's tests (code: compared with the items' examples)"
        ),
        embedding: bool = typer.Option(True, "--embedding/--no-embedding", help="embedding detector (rephrasings)"),
        embedding_threshold: float = typer.Option(0.8, "--embedding-threshold"),
        ngram: int = typer.Option(13, "--ngram", help="word n-gram size (8 for short items)"),
        changed_numbers: str = typer.Option(
            "clean", "--changed-numbers", help="clean|contaminated: is a number-changed variant contaminated?"
        ),
        model: str = typer.Option("all-MiniLM-L6-v2", "--model"),
        device: str = typer.Option("auto", "--device"),
        cache_dir: Path | None = typer.Option(None, "--cache-dir", help="embedding cache folder"),
        list_: bool = typer.Option(False, "--list", help="list the bundled benchmarks and exit"),
    ) -> None:
        """Flag queries that overlap benchmark items (exact, substring, tests, n-gram, code n-gram, embedding,
        translation)."""
        import polars as pl

        from ..benchmarks import REGISTRY, load_all
        from ..config.decontaminate import BenchmarkSpec, Detectors, Policy
        from ..config.embedding import EmbeddingConfig
        from ..text.contamination import BenchmarkIndex

        if list_:
            for name, b in REGISTRY.items():
                typer.echo(f"{name:15s} {b.domain:8s} {b.file:24s} {b.description}")
            return
        if input is None or out is None:
            raise UserError("decontaminate needs INPUT and --out (or --list)")
        if changed_numbers not in ("clean", "contaminated"):
            raise UserError(f"--changed-numbers must be 'clean' or 'contaminated', got {changed_numbers!r}")
        specs: list = []
        for b in benchmark or list(REGISTRY):
            p = Path(b)
            if b.lower() not in REGISTRY and p.exists():
                specs.append(
                    BenchmarkSpec(
                        name=p.name.split(".")[0],
                        path=p.resolve(),
                        field=benchmark_field,
                        domain="code" if benchmark_field == "prompt" else "math",
                    )
                )
            else:
                specs.append(b)
        df = read_table(input)
        texts = _text_column(df, text_field, input)
        domains = None
        if domain_field:
            if domain_field not in df.columns:
                raise UserError(f"{input}: no column {domain_field!r} for --domain-field")
            domains = df[domain_field].cast(pl.String).to_list()
        det = Detectors()
        det.ngram.n = ngram
        det.embedding.enabled = embedding
        det.embedding.threshold = embedding_threshold
        det.embedding.embedding = EmbeddingConfig(model=model, device=device)
        index = BenchmarkIndex(load_all(specs), det, Policy(changed_numbers=changed_numbers))
        tests = None
        if tests_field:
            if tests_field not in df.columns:
                raise UserError(f"{input}: no column {tests_field!r} for --tests-field")
            tests = [t if isinstance(t, str) or t is None else json.dumps(t) for t in df[tests_field].to_list()]
        hits = index.detect(texts.to_list(), domains, cache_dir, tests=tests)
        hit_type = pl.List(
            pl.Struct({"benchmark": pl.String, "item_id": pl.String, "detector": pl.String, "score": pl.Float64})
        )
        df = df.with_columns(
            pl.Series("contaminated", [bool(h) for h in hits], dtype=pl.Boolean),
            pl.Series("contamination_hits", [[x.to_dict() for x in h] for h in hits], dtype=hit_type),
        )
        write_table(df, out)
        n = sum(1 for h in hits if h)
        typer.echo(f"{input}: {df.height} rows, {n} contaminated → {out}")
