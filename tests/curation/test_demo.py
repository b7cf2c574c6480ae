"""The bundled demo manifest runs end to end (on a few rows per source, to keep the suite fast)."""

import duckdb

from curation import manifest
from curation.runner import STAGES, Runner

from .spine_helpers import REPO


def test_demo_manifest_runs_small(tmp_path, smollm2_dir):
    m = manifest.load(REPO / "manifests" / "demo.yaml")
    for s in m.sources:
        s.limit = 12
    for t in m.teachers:
        if t.backend == "transformers":  # `make demo` builds this folder; the test builds its own once per session
            t.model = str(smollm2_dir)
    lock = Runner(m, tmp_path / "demo", options={"quiet": True}).run()
    statuses = {name: lock["stages"][name]["status"] for name in STAGES}
    assert all(s in ("done", "disabled") for s in statuses.values()), statuses
    assert statuses["collect"] == "done"
    con = duckdb.connect(str(tmp_path / "demo" / "catalog.duckdb"), read_only=True)
    n_in = sum(lock["stages"]["collect"]["stats"]["sources"][s.name]["read"] for s in m.sources)
    kept = con.execute("select count(*) from collect_queries").fetchone()[0]
    removed_at_collect = con.execute("select count(*) from removed where stage = 'collect'").fetchone()[0]
    assert kept + removed_at_collect == n_in
    assert con.execute("select count(distinct source) from queries").fetchone()[0] >= 4
