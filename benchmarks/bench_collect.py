"""Collect streams: peak memory stays flat as the input grows (vs polars.read_ndjson loading the whole file).

    python benchmarks/bench_collect.py [--sizes-mb 100 400 1600] [--out bench_out/bench_collect.json]

Each measurement runs in a fresh subprocess and reads its own peak RSS (ru_maxrss), so imports count the same for
both sides and nothing leaks between runs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROW = '{{"id": "r{i}", "problem": "Let $x$ be the {i}-th term of a sequence with $a_1 = {i}$ and $a_{{n+1}} = 2a_n + 3$. {pad}Find $a_{{10}}$.", "answer": "{i}"}}\n'
PAD = "Some filler words that make the problem statement as long as a typical competition problem is. " * 3

COLLECT = """
import resource, sys, time, yaml
from curation import manifest
from curation.runner import Runner
path, run_dir = sys.argv[1], sys.argv[2]
m = manifest.loads(yaml.safe_dump({"name": "b", "sources": [{"name": "a", "kind": "jsonl", "path": path}]}),
                   base_dir=None)
t = time.perf_counter()
lock = Runner(m, run_dir, options={"quiet": True}).run()
print(lock["stages"]["collect"]["rows"]["queries"], time.perf_counter() - t,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

BASELINE = """
import resource, sys, time
import polars as pl
t = time.perf_counter()
df = pl.read_ndjson(sys.argv[1])
print(df.height, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def make_file(path: Path, mb: int) -> int:
    n, size = 0, 0
    with open(path, "w") as f:
        while size < mb * 1024 * 1024:
            line = ROW.format(i=n, pad=PAD)
            f.write(line)
            size += len(line)
            n += 1
    return n


def measure(code: str, *args: str) -> tuple[int, float, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    rows, secs, rss = out.stdout.split()
    return int(rows), float(secs), float(rss)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mb", type=int, nargs="+", default=[100, 400, 1600])
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.sizes_mb:
            path = Path(tmp) / f"in_{mb}.jsonl"
            n = make_file(path, mb)
            rows, secs, rss = measure(COLLECT, str(path), str(Path(tmp) / f"run_{mb}"))
            assert rows == n, (rows, n)
            brows, bsecs, brss = measure(BASELINE, str(path))
            results.append(
                {
                    "input_mb": mb,
                    "rows": n,
                    "collect_s": round(secs, 2),
                    "collect_rows_per_s": round(n / secs),
                    "collect_peak_rss_mb": round(rss),
                    "polars_read_ndjson_s": round(bsecs, 2),
                    "polars_peak_rss_mb": round(brss),
                    "rss_ratio_baseline_over_collect": round(brss / rss, 2),
                }
            )
            print(json.dumps(results[-1]), flush=True)
            path.unlink()
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "results": results}, indent=2))


if __name__ == "__main__":
    main()
