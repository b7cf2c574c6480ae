import json
import os
import signal
import subprocess
import sys
import time

import duckdb

from curation import manifest
from curation.runner import Runner
from curation.store import RunStore

from .spine_helpers import REPO, math_rows, write_jsonl, write_manifest


def _manifest(tmp_path, **extra):
    if not (tmp_path / "a.jsonl").exists():
        rows = math_rows(30)
        rows += [dict(r, id=r["id"] + "-copy") for r in rows[:5]]  # exact duplicates for dedup
        write_jsonl(tmp_path / "a.jsonl", rows)
    data = {"name": "t", "sources": [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}], **extra}
    return manifest.load(write_manifest(tmp_path / "m.yaml", data))


def _runner(tmp_path, **extra):
    return Runner(_manifest(tmp_path, **extra), tmp_path / "run", options={"quiet": True})


def test_rerun_of_finished_run_does_no_work(tmp_path):
    lock1 = _runner(tmp_path).run()
    parts = RunStore(tmp_path / "run").parts("collect", "queries")
    mtimes = [p.stat().st_mtime_ns for p in parts]
    lock2 = _runner(tmp_path).run()
    assert lock2["stages"]["collect"]["cached"] is True
    assert lock2["stages"]["collect"]["fingerprint"] == lock1["stages"]["collect"]["fingerprint"]
    assert [p.stat().st_mtime_ns for p in parts] == mtimes


def test_changing_dedup_config_reruns_dedup_only(tmp_path):
    _runner(tmp_path, dedup={"exact": True}).run()
    store = RunStore(tmp_path / "run")
    collect_parts = [p.stat().st_mtime_ns for p in store.parts("collect", "queries")]
    lock = _runner(tmp_path, dedup={"exact": True, "near": False}).run()
    assert lock["stages"]["collect"].get("cached") is True
    assert not lock["stages"]["dedup"].get("cached")
    assert [p.stat().st_mtime_ns for p in store.parts("collect", "queries")] == collect_parts


def test_changing_source_data_reruns_everything_downstream(tmp_path):
    _runner(tmp_path, dedup={"exact": True}).run()
    write_jsonl(tmp_path / "a.jsonl", math_rows(31))
    lock = _runner(tmp_path, dedup={"exact": True}).run()
    assert not lock["stages"]["collect"].get("cached") and not lock["stages"]["dedup"].get("cached")
    assert lock["stages"]["collect"]["rows"]["queries"] == 31


def test_removed_accounts_for_every_dropped_row(tmp_path):
    lock = _runner(tmp_path, dedup={"exact": True}).run()
    con = duckdb.connect(str(tmp_path / "run" / "catalog.duckdb"), read_only=True)
    kept = con.execute("select count(*) from queries").fetchone()[0]
    removed = con.execute("select count(*) from removed where stage = 'dedup'").fetchone()[0]
    assert lock["stages"]["collect"]["rows"]["queries"] == 35
    assert kept + removed == 35 and removed == 5
    assert con.execute("select count(*) from collect_queries").fetchone()[0] == 35


def test_catalog_views_answer_sql_and_lock_has_provenance(tmp_path):
    lock = _runner(tmp_path).run()
    con = duckdb.connect(str(tmp_path / "run" / "catalog.duckdb"), read_only=True)
    assert con.execute("select count(*), count(distinct query_id) from queries").fetchone() == (35, 30)
    assert con.execute("select count(*) from removed").fetchone()[0] == 0
    assert lock["versions"]["cotforge"] and lock["versions"]["pyarrow"]
    assert lock["inputs"]["a"]["size"] == (tmp_path / "a.jsonl").stat().st_size
    assert lock["manifest"]["sources"][0]["name"] == "a"


def test_resume_after_kill_between_parts_keeps_finished_parts(tmp_path):
    runner = _runner(tmp_path, collect={"batch_size": 10})
    runner.run()
    store = RunStore(tmp_path / "run")
    parts = store.parts("collect", "queries")
    assert len(parts) == 4
    # The state a kill leaves: stage marked running, last part missing, a half-written temp file around.
    lock = store.read_lock()
    lock["stages"]["collect"]["status"] = "running"
    store.write_lock(lock)
    parts[-1].unlink()
    (parts[0].parent / ".part-k-000-000003.parquet.deadbeef.tmp").write_bytes(b"PAR1 half")
    kept_mtimes = [p.stat().st_mtime_ns for p in parts[:-1]]
    lock = _runner(tmp_path, collect={"batch_size": 10}).run()
    assert lock["stages"]["collect"]["resumed"] is True
    assert [p.stat().st_mtime_ns for p in store.parts("collect", "queries")[:-1]] == kept_mtimes
    assert store.count("collect", "queries") == 35
    assert not list(parts[0].parent.glob(".*.tmp"))


def test_sigkill_mid_stage_then_resume_gives_the_same_tables(tmp_path):
    n = 60_000
    write_jsonl(tmp_path / "a.jsonl", math_rows(n))
    m = write_manifest(
        tmp_path / "m.yaml",
        {"name": "t", "sources": [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}], "collect": {"batch_size": 500}},
    )
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "curation.cli", "run", str(m), "--run-dir", str(run_dir), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True)
    qdir = run_dir / "stages" / "collect" / "queries"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(qdir.glob("part-*.parquet"))) < 5 and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    lock = json.loads((run_dir / "lock.json").read_text())
    assert lock["stages"]["collect"]["status"] == "running"  # it really died mid-stage
    done_before = len(list(qdir.glob("part-*.parquet")))
    assert 0 < done_before < n // 500
    subprocess.run(cmd, cwd=REPO, check=True)
    store = RunStore(run_dir)
    q = store.read("collect", "queries")
    assert q.num_rows == n and len(set(q.column("query_id").to_pylist())) == n
    assert json.loads((run_dir / "lock.json").read_text())["stages"]["collect"]["resumed"] is True
