"""Sandboxed executions/s (all layers) vs bare subprocesses, fork-server test runs/s, and how long a C-stack
overflow takes to end, sandboxed and bare (issue 19), all in one run.

    .venv/bin/python benchmarks/bench_sandbox.py [--n 200] [--workers 2] [--out bench.json]

Two bare baselines: `python3 prog.py` with this environment's interpreter (what a judge without a sandbox runs;
it imports site-packages, here an editable install's finder), and the very interpreter the sandbox runs (the
mirrored runtime, `-I -B`, no site-packages) without any isolation: the difference to that one is the cost of
the isolation layers alone.
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
from sandboxes.runtime import python_runtime

PROG = "import sys\nn = int(sys.stdin.readline())\nprint(n * (n + 1) // 2)\n"
TESTS = {"kind": "stdio", "cases": [{"input": "10\n", "output": "55\n"}]}


def _rate(fn, n, workers):
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        ok = sum(ex.map(lambda _: fn(), range(n)))
    dt = time.perf_counter() - t0
    assert ok == n, f"only {ok}/{n} runs were correct"
    return n / dt


OVERFLOW = "import sys\nsys.setrecursionlimit(10**6)\nx = []\nfor _ in range(10**6):\n    x = [x]\nrepr(x)\n"


def stack_overflow(exe: str) -> dict:
    """Issue 19's adversarial program: seconds until it ends and how, bare and in both sandbox backends."""
    out = {}
    t0 = time.perf_counter()
    r = subprocess.run([exe, "-c", OVERFLOW], capture_output=True, timeout=300)
    out["bare python3"] = {
        "s": round(time.perf_counter() - t0, 2),
        "status": f"signal {-r.returncode}" if r.returncode < 0 else f"exit {r.returncode}",
    }
    limits = sandboxes.Limits(time_s=60)
    for name, backend in (("fresh sandbox", None), ("fork-server", sandboxes.ForkServer())):
        t0 = time.perf_counter()
        res = sandboxes.run(OVERFLOW, limits=limits, backend=backend)
        out[name] = {"s": round(time.perf_counter() - t0, 2), "status": res.status}
        if backend is not None:
            backend.close()
    # The crash comes when the C stack is full, and deep repr is quadratic in depth: a smaller stack crashes
    # sooner (and also halves the depth a legitimate C recursion such as lru_cache reaches).
    for mb in (4, 2):
        t0 = time.perf_counter()
        res = sandboxes.run(OVERFLOW, limits=limits.with_(stack_mb=mb))
        out[f"fresh, stack_mb={mb}"] = {"s": round(time.perf_counter() - t0, 2), "status": res.status}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--out")
    a = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(PROG)
    exe = sys.executable

    def bare():
        r = subprocess.run([exe, f.name], input=b"10\n", capture_output=True, timeout=10)
        return r.stdout == b"55\n"

    rt = python_runtime()
    same_env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LD_LIBRARY_PATH": f"{rt.host_dir}/lib",
        "PYTHONHASHSEED": "0",
    }
    same_exe = f"{rt.host_dir}/bin/{rt.version}"

    def bare_same():
        r = subprocess.run([same_exe, "-I", "-B", f.name], input=b"10\n", capture_output=True, timeout=10, env=same_env)
        return r.stdout == b"55\n"

    fresh = FreshSandbox()

    def sandboxed():
        return sandboxes.run_tests(PROG, TESTS, backend=fresh).passed

    rows = {}
    sandboxes.run("pass")  # warm: isolation probe, runtime mirror
    rows["bare python3 subprocess"] = _rate(bare, a.n, a.workers)
    rows["bare, the sandbox's interpreter"] = _rate(bare_same, a.n, a.workers)
    rows["sandboxed, fresh sandbox per run"] = _rate(sandboxed, a.n, a.workers)
    with sandboxes.SandboxPool(a.workers, mode="forkserver") as pool:
        pool.run_tests(PROG, TESTS)
        rows["sandboxed, fork-server test runs"] = _rate(lambda: pool.run_tests(PROG, TESTS).passed, a.n * 3, a.workers)
    # Each run waits on a chain of wake-ups (client -> server -> child -> server -> client): more servers than
    # cores keep the cores busy in those gaps. Same machine, same cores; only the number of warm servers differs.
    with sandboxes.SandboxPool(2 * a.workers, mode="forkserver") as pool:
        pool.run_tests(PROG, TESTS)
        rows[f"fork-server, {2 * a.workers} servers"] = _rate(
            lambda: pool.run_tests(PROG, TESTS).passed, a.n * 3, 2 * a.workers
        )
    os.unlink(f.name)
    overflow = stack_overflow(exe)
    iso = sandboxes.isolation_report()
    print(f"{'mode':40s} {'runs/s':>8s}   (workers={a.workers}, n={a.n}; ratios in the same run)")
    for k, v in rows.items():
        print(f"{k:40s} {v:8.1f}")
    fresh_rate = rows["sandboxed, fresh sandbox per run"]
    same = rows["bare, the sandbox's interpreter"]
    print(
        f"fresh sandbox vs bare python3: {fresh_rate / rows['bare python3 subprocess']:.2f}x; vs the same "
        f"interpreter bare: {fresh_rate / same:.2f}x"
    )
    for k, v in overflow.items():
        print(f"C-stack overflow, {k:22s} {v['s']:6.2f} s  {v['status']}")
    print("isolation:", ",".join(iso["layers"]), "| missing:", iso["missing"] or "none")
    print(
        f"load average (1/5/15 min) before {load0[0]:.2f}/{load0[1]:.2f}/{load0[2]:.2f}, after "
        "{:.2f}/{:.2f}/{:.2f} on {} CPUs: other jobs slow every row, compare ratios".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    if a.out:
        with open(a.out, "w") as fh:
            json.dump(
                {"runs_per_s": rows, "workers": a.workers, "n": a.n, "stack_overflow": overflow, "isolation": iso},
                fh,
                indent=2,
            )


if __name__ == "__main__":
    main()
