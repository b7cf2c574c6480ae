"""Kill `cotforge run` (SIGKILL) in the middle of distill, re-run, and show from the server's request log that
nothing already answered is asked again and every query ends up answered exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

N, K = 40, 15  # queries; requests answered before the server stalls and the client is killed


def cached_lines(run_dir: Path) -> int:
    n = 0
    for p in (run_dir / "cache/distill/requests").glob("requests-*.jsonl"):
        n += sum(1 for line in p.read_text().splitlines() if line.endswith("}"))
    return n


def cotforge(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", "from curation.cli import main; main()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_kill_during_distill_then_rerun_reasks_nothing_answered(tmp_path, openai_server):
    (tmp_path / "q.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "problem": f"Problem number {i}: add {i} and {i}.", "answer": str(2 * i)}) + "\n"
            for i in range(N)
        )
    )
    srv = openai_server(block_after=K)
    (tmp_path / "m.yaml").write_text(f"""
name: resume
sources: [{{name: q, kind: jsonl, path: q.jsonl}}]
teachers:
  - name: fake
    backend: openai
    model: fake-model
    generation: {{n: 1, max_tokens: 32, temperature: 0.0}}
    openai: {{base_url: "{srv.base_url}", concurrency: 3}}
distill: {{part_size: 4}}
""")
    run_dir = tmp_path / "run"
    proc = cotforge("run", str(tmp_path / "m.yaml"), "--run-dir", str(run_dir), "-q")
    try:
        assert srv.wait_for_requests(K + 1, timeout=300), "the client never reached the stalled requests"
        deadline = time.monotonic() + 300  # a guard against hanging, not a timing assertion
        while cached_lines(run_dir) < K and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cached_lines(run_dir) == K
    finally:
        proc.kill()
        proc.wait()
    lock = json.loads((run_dir / "lock.json").read_text())
    assert lock["stages"]["distill"]["status"] == "running"  # killed mid-stage
    answered = set(srv.prompts("ok"))
    assert len(answered) == K

    srv.block_after = None
    srv.release()
    n_first = len(srv.log)
    proc = cotforge("run", str(tmp_path / "m.yaml"), "--run-dir", str(run_dir), "-q")
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    second = [e["prompt"] for e in srv.log[n_first:]]
    assert not set(second) & answered  # nothing already answered is asked again
    assert len(second) == len(set(second)) == N - K  # the rest, each once
    lock = json.loads((run_dir / "lock.json").read_text())
    st = lock["stages"]["distill"]
    assert st["status"] == "done" and st["resumed"] is True
    assert st["stats"]["teachers"]["fake"]["run"]["sent"] == N - K
    parts = sorted((run_dir / "stages/distill/traces").glob("part-*.parquet"))
    rows = [r for p in parts for r in pq.read_table(p).to_pylist()]
    assert len(rows) == N and len({r["query_id"] for r in rows}) == N
