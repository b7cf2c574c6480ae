"""Sandboxed executions/s (all layers) vs a bare `python3` subprocess, and fork-server test runs/s.

    .venv/bin/python benchmarks/bench_sandbox.py [--n 200] [--workers 2] [--out bench.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import sandboxes
from sandboxes.backends import FreshSandbox

PROG = "import sys\nn = int(sys.stdin.readline())\nprint(n * (n + 1) // 2)\n"
TESTS = {"kind": "stdio", "cases": [{"input": "10\n", "output": "55\n"}]}


def _rate(fn, n, workers):
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        ok = sum(ex.map(lambda _: fn(), range(n)))
    dt = time.perf_counter() - t0
    assert ok == n, f"only {ok}/{n} runs were correct"
    return n / dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--out")
    a = ap.parse_args()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PROG)
    exe = sys.executable

    def bare():
        r = subprocess.run([exe, f.name], input=b"10\n", capture_output=True, timeout=10)
        return r.stdout == b"55\n"

    fresh = FreshSandbox()

    def sandboxed():
        return sandboxes.run_tests(PROG, TESTS, backend=fresh).passed

    rows = {}
    sandboxes.run("pass")  # warm: isolation probe, runtime mirror
    rows["bare python3 subprocess"] = _rate(bare, a.n, a.workers)
    rows["sandboxed, fresh sandbox per run"] = _rate(sandboxed, a.n, a.workers)
    with sandboxes.SandboxPool(a.workers, mode="forkserver") as pool:
        pool.run_tests(PROG, TESTS)
        rows["sandboxed, fork-server test runs"] = _rate(lambda: pool.run_tests(PROG, TESTS).passed, a.n * 3,
                                                         a.workers)
    os.unlink(f.name)
    iso = sandboxes.isolation_report()
    print(f"{'mode':40s} {'runs/s':>8s}   (workers={a.workers}, n={a.n})")
    for k, v in rows.items():
        print(f"{k:40s} {v:8.1f}")
    print("isolation:", ",".join(iso["layers"]), "| missing:", iso["missing"] or "none")
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"runs_per_s": rows, "workers": a.workers, "n": a.n, "isolation": iso}, fh, indent=2)


if __name__ == "__main__":
    main()
