import json
import subprocess
import sys

import duckdb

from .spine_helpers import REPO, math_rows, write_jsonl, write_manifest


def cotforge(*args, cwd=REPO):
    return subprocess.run(
        [sys.executable, "-m", "curation.cli", *map(str, args)], cwd=cwd, capture_output=True, text=True
    )


def test_validate_ok_and_bad_manifest_exit_2_with_location(tmp_path):
    ok = cotforge("validate", REPO / "manifests" / "demo.yaml")
    assert ok.returncode == 0, ok.stderr
    assert "ok" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsources:\n  - {name: a, kind: jsonl, path: a.jsonl, colour: red}\n")
    r = cotforge("validate", bad)
    assert r.returncode == 2
    assert "bad.yaml:3: unknown key 'sources[0].colour'" in r.stderr
    assert "Traceback" not in r.stderr


def test_missing_manifest_and_bad_until_exit_2(tmp_path):
    assert cotforge("run", tmp_path / "nope.yaml").returncode == 2
    write_jsonl(tmp_path / "a.jsonl", math_rows(3))
    m = write_manifest(
        tmp_path / "m.yaml", {"name": "t", "sources": [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}]}
    )
    r = cotforge("run", m, "--run-dir", tmp_path / "run", "--until", "bogus")
    assert r.returncode == 2 and "unknown stage" in r.stderr
    r = cotforge("lab", "build", "--train", "many")  # a typed option's own check: a usage error, not a crash
    assert r.returncode == 2 and "Invalid value for '--train'" in r.stderr and "internal error" not in r.stderr
    r = cotforge("run", m, "--executor", "ray", "--ray-address", " ", "--run-dir", tmp_path / "run")
    assert r.returncode == 2 and "address is empty" in r.stderr


def test_run_then_inspect_json_and_table(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", math_rows(7) + [{"problem": ""}])
    m = write_manifest(
        tmp_path / "m.yaml", {"name": "t", "sources": [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}]}
    )
    r = cotforge("run", m, "--run-dir", tmp_path / "run", "--until", "collect")
    assert r.returncode == 0, r.stderr
    assert "collect" in r.stdout and "queries=7" in r.stdout
    info = json.loads(cotforge("inspect", tmp_path / "run", "--json").stdout)
    collect = [s for s in info["stages"] if s["stage"] == "collect"][0]
    assert collect["outputs"]["queries"] == 7 and collect["removed_by_reason"] == {"empty_problem": 1}
    table = cotforge("inspect", tmp_path / "run")
    assert table.returncode == 0 and "empty_problem=1" in table.stdout
    con = duckdb.connect(str(tmp_path / "run" / "catalog.duckdb"), read_only=True)
    assert con.execute("select count(*) from removed where reason = 'empty_problem'").fetchone()[0] == 1


def test_inspect_of_non_run_dir_exit_2(tmp_path):
    r = cotforge("inspect", tmp_path)
    assert r.returncode == 2 and "no lock.json" in r.stderr
