"""In-memory sources: what the fingerprint costs, and collect from a polars frame vs the same rows in a JSONL file.

    python benchmarks/bench_memory_source.py [--rows 200000] [--out bench_out/bench_memory_source.json]

All three are timed in one process, baseline first, on the same rows; compare the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import polars as pl

from curation import Pipeline
from curation.sources.memory import fingerprint, to_arrow

PAD = "Some filler words that make the problem statement as long as a typical competition problem is. " * 3


def rows(n: int) -> list[dict]:
    return [
        {"id": f"r{i}", "problem": f"Let a_1 = {i} and a_(n+1) = 2a_n + 3. {PAD}Find a_10.", "answer": str(i)}
        for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    data = rows(args.rows)
    df = pl.DataFrame(data)
    spec = {"name": "b", "collect": {"require_reference_answer": "never"}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "q.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in data))
        t = time.perf_counter()
        Pipeline.from_dict({**spec, "sources": [{"name": "q", "kind": "jsonl", "path": str(path)}]}).run(
            tmp / "file", quiet=True
        )
        t_file = time.perf_counter() - t
        t = time.perf_counter()
        Pipeline.from_dict({**spec, "sources": [{"name": "q", "kind": "memory"}]}, sources={"q": df}).run(
            tmp / "memory", quiet=True
        )
        t_memory = time.perf_counter() - t
        table = to_arrow(df, "q")
        t = time.perf_counter()
        fingerprint(table)
        t_fp = time.perf_counter() - t
    result = {
        "rows": args.rows,
        "arrow_mb": round(table.nbytes / 2**20, 1),
        "collect_jsonl_s": round(t_file, 3),
        "collect_memory_s": round(t_memory, 3),
        "fingerprint_s": round(t_fp, 3),
        "memory_vs_jsonl": round(t_memory / t_file, 3),
        "fingerprint_share_of_memory_run": round(t_fp / t_memory, 3),
    }
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
