"""Resume benchmark: SIGKILL `cotforge run` at 50% of 1,000 distill requests, re-run, and count what the server saw.

Expected: 0 duplicate requests (no prompt answered in run 1 is asked in run 2) and all 1,000 answered.
The server (tests/fake_openai_server.py) stalls every request after the 500th until the client is killed.
Usage: .venv/bin/python benchmarks/bench_resume.py [N]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def cached(run_dir: Path) -> int:
    return sum(
        sum(1 for line in p.read_text().splitlines() if line.endswith("}"))
        for p in (run_dir / "cache/distill/requests").glob("requests-*.jsonl")
    )


def cotforge(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from curation.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def main() -> None:
    from fake_openai_server import FakeOpenAIServer

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    half = n // 2
    tmp = Path(tempfile.mkdtemp(prefix="bench_resume_"))
    (tmp / "q.jsonl").write_text(
        "".join(json.dumps({"id": i, "problem": f"Problem {i}: what is {i}+{i}?"}) + "\n" for i in range(n))
    )
    srv = FakeOpenAIServer(block_after=half, log_bodies=False).start()
    (tmp / "m.yaml").write_text(f"""
name: bench-resume
sources: [{{name: q, kind: jsonl, path: q.jsonl}}]
teachers:
  - {{name: fake, backend: openai, model: m, generation: {{n: 1, max_tokens: 64, temperature: 0.7}},
      openai: {{base_url: "{srv.base_url}", concurrency: 32}}}}
distill: {{part_size: 50}}
""")
    run_dir = tmp / "run"
    t0 = time.perf_counter()
    p = cotforge("run", str(tmp / "m.yaml"), "--run-dir", str(run_dir), "-q")
    srv.wait_for_requests(half + 1, timeout=600)
    while cached(run_dir) < half:
        time.sleep(0.02)
    p.kill()
    p.wait()
    first = set(srv.prompts("ok"))
    print(
        f"run 1 killed (SIGKILL) after {len(first)} answered requests ({time.perf_counter() - t0:.1f}s), "
        f"{len(srv.log) - len(first)} in flight"
    )
    srv.block_after = None
    srv.release()
    k = len(srv.log)
    t1 = time.perf_counter()
    p = cotforge("run", str(tmp / "m.yaml"), "--run-dir", str(run_dir), "-q")
    out, _ = p.communicate()
    assert p.returncode == 0, out
    second = [e["prompt"] for e in srv.log[k:]]
    dup_across = len(set(second) & first)
    dup_within = sum(c - 1 for c in Counter(second).values())
    import duckdb

    con = duckdb.connect(str(run_dir / "catalog.duckdb"), read_only=True)
    traces, queries = con.sql("select count(*), count(distinct query_id) from traces").fetchall()[0]
    print(
        f"run 2: {len(second)} requests in {time.perf_counter() - t1:.1f}s; duplicates of run-1 answers: "
        f"{dup_across}; duplicates within run 2: {dup_within}; traces: {traces} for {queries} queries (of {n})"
    )
    srv.stop()


if __name__ == "__main__":
    main()
