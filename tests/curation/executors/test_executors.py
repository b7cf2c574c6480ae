"""Executors: the same keyed parts whoever runs the batches; a failed or killed run resumes at the missing parts."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation import manifest
from curation.config.executor import ExecutorConfig
from curation.executors import create
from curation.executors.batches import Parts
from curation.runner import Runner
from curation.stage import StageContext
from curation.store import RunStore

from ..spine_helpers import REPO

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="ray[data] not installed (pip install 'cotforge[ray]')"
)


def _seed(tmp_path: Path) -> StageContext:
    """Three upstream parts of different sizes and schemas (the middle one lacks a column, as parts can)."""
    store = RunStore(tmp_path)
    store.write_part("up", "rows", pa.table({"i": list(range(0, 7)), "x": [f"a{i}" for i in range(7)]}))
    store.write_part("up", "rows", pa.table({"i": list(range(7, 10))}))
    store.write_part("up", "rows", pa.table({"i": list(range(10, 23)), "x": [f"c{i}" for i in range(10, 23)]}))
    return StageContext(
        name="down",
        manifest=None,
        config=None,
        store=store,
        upstream=["up"],  # type: ignore[arg-type]
        options={"quiet": True},
    )


def test_a_batch_is_the_same_rows_streamed_or_read_by_range(tmp_path):
    ctx = _seed(tmp_path)
    parts = Parts.of(ctx.store.parts("up", "rows"))
    for size in (1, 4, 7, 10, 50):
        streamed = list(ctx.iter_batches("rows", size))
        ranged = [parts.read(start, stop) for _, start, stop in parts.ranges(size)]
        assert [b.to_pylist() for b in streamed] == [b.to_pylist() for b in ranged]
        assert all(b.schema == parts.schema for b in ranged)
    assert [k for k, *_ in parts.ranges(10)] == ["000000", "000001", "000002"]


class FailOn:
    """Doubles `i`; raises on the batch holding row `fail_at` (a crash mid-stage); records the batches it saw."""

    def __init__(self, fail_at: int | None, log: Path):
        self.fail_at, self.log = fail_at, log

    def __call__(self, chunk: pa.Table) -> pa.Table:
        ids = chunk.column("i").to_pylist()
        with self.log.open("a") as f:
            f.write(json.dumps(ids) + "\n")
        if self.fail_at in ids:
            raise RuntimeError(f"boom at row {self.fail_at}")
        return pa.table({"i": ids, "twice": [2 * i for i in ids]})

    def take_stats(self) -> dict[str, int]:
        return {"calls": 1}


def _executors() -> list:
    kinds = [pytest.param("local")]
    kinds.append(pytest.param("ray", marks=needs_ray))
    return kinds


@pytest.fixture(scope="module")
def ray_instance():
    """One small local Ray instance for the module (2 CPUs, small object store); executors do not shut it down."""
    if importlib.util.find_spec("ray") is None:
        yield None
        return
    import ray

    ray.init(
        num_cpus=2,
        object_store_memory=128 * 2**20,
        include_dashboard=False,
        configure_logging=False,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()


@pytest.mark.parametrize("kind", _executors())
def test_a_failed_batch_keeps_the_written_parts_and_the_rerun_does_only_the_rest(tmp_path, kind, request):
    if kind == "ray":
        request.getfixturevalue("ray_instance")
    ctx = _seed(tmp_path)
    ctx.executor = lambda ex=create(ExecutorConfig(kind=kind)): ex
    log = tmp_path / "calls.jsonl"
    with pytest.raises(RuntimeError, match="boom at row 12"):
        ctx.map_batches("rows", FailOn(12, log), 4, out="doubled")
    first = {p.name: p.stat().st_mtime_ns for p in ctx.store.parts("down", "doubled")}
    assert "part-k-000003.parquet" not in first  # rows 12..15: the failed batch wrote nothing
    log.unlink()
    counts = ctx.map_batches("rows", FailOn(None, log), 4, out="doubled")
    redone = [json.loads(x) for x in log.read_text().splitlines()]
    assert [12, 13, 14, 15] in redone and all(
        f"part-k-{b:06d}.parquet" not in first for b in (min(r) // 4 for r in redone)
    )
    assert counts["skipped"] == len(first) and counts["written"] == len(redone) == counts["calls"]
    assert counts["batches"] == 6 and counts["skipped"] + counts["written"] == 6
    assert {p.name: p.stat().st_mtime_ns for p in ctx.store.parts("down", "doubled") if p.name in first} == first
    out = ctx.store.read("down", "doubled")
    assert out.column("i").to_pylist() == list(range(23))
    assert out.column("twice").to_pylist() == [2 * i for i in range(23)]


def _demo(limit: int) -> manifest.Manifest:
    m = manifest.load(REPO / "manifests" / "demo.yaml")
    for s in m.sources:
        s.limit = limit
    return m


def _tables(run: Path) -> dict[str, list[dict]]:
    """Every stage table's rows in part order, timings dropped (verify records how long each check took)."""
    out = {}
    for stage in sorted((run / "stages").iterdir()):
        for table in sorted(p for p in stage.iterdir() if p.is_dir()):
            rows = [r for p in sorted(table.glob("part-*.parquet")) for r in pq.read_table(p).to_pylist()]
            for r in rows:
                if r.get("verify_details"):
                    r["verify_details"] = {
                        k: v for k, v in json.loads(r["verify_details"]).items() if k != "elapsed_ms"
                    }
            out[f"{stage.name}/{table.name}"] = rows
    return out


def _exports(run: Path) -> dict[str, list[dict]]:
    return {str(p.relative_to(run)): pq.read_table(p).to_pylist() for p in sorted((run / "export").rglob("*.parquet"))}


@needs_ray
@pytest.mark.slow
def test_the_demo_under_ray_gives_the_local_tables(tmp_path, ray_instance):
    """The demo manifest on a few rows per source, every stage on. Its live teacher is left out: distill runs in
    the driver under both executors (test_demo runs it), and generating twice would double this test's time."""
    m = _demo(limit=3)
    m.teachers = [t for t in m.teachers if t.backend == "replay"]
    local = Runner(m, tmp_path / "local", options={"quiet": True}).run()
    ray = Runner(m, tmp_path / "ray", options={"quiet": True, "executor": ExecutorConfig(kind="ray")}).run()
    assert all(ray["stages"][s]["status"] == local["stages"][s]["status"] for s in local["stages"])
    assert ray["stages"]["verify"]["status"] == "done" and ray["stages"]["segment"]["status"] == "done"
    a, b = _tables(tmp_path / "local"), _tables(tmp_path / "ray")
    assert a.keys() == b.keys() and a["verify/traces"]
    for key in a:
        assert a[key] == b[key], key
    assert _exports(tmp_path / "local") == _exports(tmp_path / "ray")
    for s in ("verify", "segment"):
        assert ray["stages"][s]["stats"] == local["stages"][s]["stats"]


@needs_ray
@pytest.mark.slow
def test_a_killed_ray_run_resumes_without_redoing_finished_parts(tmp_path):
    """SIGKILL the CLI (driver and local Ray instance) once verify has written some parts; the resumed run keeps
    them (same files) and ends with the same table as an uninterrupted local run."""
    m = _demo(limit=6)
    m.teachers = [t for t in m.teachers if t.backend == "replay"]
    m.verify.batch_size = 1
    doc = m.public_dict()
    doc["executor"] = {"kind": "ray", "num_cpus": 2, "object_store_mb": 128}
    path = REPO / "manifests" / "demo.yaml"
    spec = tmp_path / "demo-ray.yaml"
    import yaml

    doc["sources"] = [{**s, "path": str(path.parent / s["path"])} for s in doc["sources"]]
    for t in doc["teachers"]:
        t["replay"]["path"] = str(path.parent / t["replay"]["path"])
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "curation.cli", "run", str(spec), "--run-dir", str(run_dir), "--until", "verify", "-q"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = run_dir / "stages" / "verify" / "traces"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and len(list(parts.glob("part-k-*.parquet"))) < 2:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in parts.glob("part-k-*.parquet")}
    total = json.loads((run_dir / "lock.json").read_text())["stages"]
    assert before, proc.stderr.read().decode()[-2000:] if proc.stderr else "no verify part was written"
    assert total["verify"]["status"] == "running"  # killed mid-stage, not after it
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lock = json.loads((run_dir / "lock.json").read_text())
    assert lock["stages"]["verify"]["status"] == "done" and lock["stages"]["verify"]["resumed"] is True
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in parts.glob("part-k-*.parquet")}
    assert {k: after[k] for k in before} == before  # finished parts were not redone
    assert len(after) > len(before)
    m.executor = ExecutorConfig()
    Runner(m, tmp_path / "local", options={"quiet": True}).run(until="verify")
    assert _tables(run_dir)["verify/traces"] == _tables(tmp_path / "local")["verify/traces"]
