"""The Python API (curation.api): pipelines from dicts/YAML with in-memory sources, runs, tables read back."""

import json
import subprocess
import sys

import datasets
import polars as pl
import pytest

from curation import Pipeline, Run
from curation.errors import ManifestError, UserError
from curation.runner import Runner

from .spine_helpers import REPO, math_rows, write_manifest


def _rows(n=20):
    rows = math_rows(n)
    rows += [dict(r, id=r["id"] + "-copy") for r in rows[:4]]  # exact duplicates: dedup removes 4
    rows.append({"id": "blank", "problem": "   ", "answer": "1"})  # collect removes it as empty_problem
    return rows


def _spec(**extra):
    return {
        "name": "api",
        "sources": [{"name": "mine", "kind": "memory", "fields": {"problem": "problem", "reference_answer": "answer"}}],
        "dedup": {"exact": True},
        **extra,
    }


def test_polars_source_runs_to_dedup_and_tables_read_back_as_polars_and_dataset(tmp_path):
    df = pl.DataFrame(_rows())
    run = Pipeline.from_dict(_spec(), sources={"mine": df}).run(tmp_path / "run", until="dedup", quiet=True)
    assert isinstance(run, Run)
    stages = {s["stage"]: s for s in run.summary()["stages"]}
    assert stages["collect"]["outputs"]["queries"] == 24 and stages["collect"]["removed_by_reason"] == {
        "empty_problem": 1
    }
    assert stages["dedup"]["outputs"]["queries"] == 20 and stages["dedup"]["removed"] == 4
    assert {"queries", "collect_queries", "dedup_queries", "removed"} <= set(run.tables())

    frame = run.polars("queries")
    ds = run.dataset("queries")
    assert isinstance(ds, datasets.Dataset) and ds.num_rows == frame.height == 20
    assert ds.to_list() == frame.to_dicts()
    assert sorted(frame["source_id"].to_list()) == sorted(r["id"] for r in _rows()[:20])
    assert set(frame["source"]) == {"mine"}
    assert run.lazy("queries").filter(pl.col("problem") == "What is 3 + 4?").collect().height == 1
    assert run.polars("collect_queries").height == 24

    blank = run.removed(reason="empty_problem")
    assert blank["location"].to_list() == [f"memory:mine:{len(_rows()) - 1}"]  # the row's index in the frame
    assert run.removed(stage="dedup").height == 4
    assert run.sql("select count(*) as n from queries")["n"][0] == 20


def test_datasets_source_with_indices_mapping_reads_the_selected_rows(tmp_path):
    ds = datasets.Dataset.from_list(_rows()).select(range(10))  # select() keeps an indices mapping
    pipe = Pipeline.from_dict(_spec(), sources={"mine": ds})
    assert pipe.manifest.sources[0].memory.rows == 10
    run = pipe.run(tmp_path / "run", until="dedup", quiet=True)
    got = run.dataset("queries")
    assert sorted(got["source_id"]) == sorted(r["id"] for r in _rows()[:10])
    assert got.to_list() == run.polars("queries").to_dicts()


def test_inline_data_key_and_from_yaml_with_sources(tmp_path):
    spec = _spec()
    spec["sources"][0]["data"] = _rows(5)  # a list of dicts, inline
    a = Pipeline.from_dict(spec).run(tmp_path / "a", until="collect", quiet=True)
    assert a.polars("queries").height == len(_rows(5)) - 1  # all but the blank one
    assert "data" in spec["sources"][0]  # the caller's dict is not changed

    path = write_manifest(tmp_path / "m.yaml", _spec())
    b = Pipeline.from_yaml(path, sources={"mine": pl.DataFrame(_rows(5))}).run(
        tmp_path / "b", until="collect", quiet=True
    )
    assert b.polars("queries").sort("query_id").equals(a.polars("queries").sort("query_id"))


def test_second_run_does_no_work(tmp_path):
    df = pl.DataFrame(_rows())
    Pipeline.from_dict(_spec(), sources={"mine": df}).run(tmp_path / "run", until="dedup", quiet=True)
    parts = sorted((tmp_path / "run" / "stages").rglob("part-*.parquet"))
    mtimes = [p.stat().st_mtime_ns for p in parts]
    # a new DataFrame object with the same rows: same fingerprint, nothing re-done
    again = Pipeline.from_dict(_spec(), sources={"mine": pl.DataFrame(_rows())}).run(
        tmp_path / "run", until="dedup", quiet=True
    )
    ran = {s["stage"]: s for s in again.summary()["stages"]}
    assert ran["collect"]["cached"] and ran["dedup"]["cached"]
    assert sorted((tmp_path / "run" / "stages").rglob("part-*.parquet")) == parts
    assert [p.stat().st_mtime_ns for p in parts] == mtimes


def test_changing_the_rows_changes_the_collect_fingerprint_and_reruns(tmp_path):
    def collect_fp(data):
        return dict(
            (n, fp)
            for n, _, fp in Runner(Pipeline.from_dict(_spec(), sources={"mine": data}).manifest, tmp_path / "x").plan()
        )["collect"]

    rows = _rows()
    base = collect_fp(pl.DataFrame(rows))
    assert collect_fp(pl.DataFrame(rows)) == base
    edited = [dict(r) for r in rows]
    edited[7]["answer"] = "999"  # one cell
    assert collect_fp(pl.DataFrame(edited)) != base
    assert collect_fp(pl.DataFrame(rows[:-1])) != base  # one row fewer
    assert collect_fp(datasets.Dataset.from_list(rows)) == collect_fp(datasets.Dataset.from_list(rows))

    Pipeline.from_dict(_spec(), sources={"mine": pl.DataFrame(rows)}).run(tmp_path / "run", until="dedup", quiet=True)
    run = Pipeline.from_dict(_spec(), sources={"mine": pl.DataFrame(edited)}).run(
        tmp_path / "run", until="dedup", quiet=True
    )
    stages = {s["stage"]: s for s in run.summary()["stages"]}
    assert not stages["collect"]["cached"] and not stages["dedup"]["cached"]
    assert run.polars("queries").filter(pl.col("source_id") == "m7")["reference_answer"].to_list() == ["999"]


def test_lock_json_holds_a_fingerprint_not_the_rows(tmp_path):
    rows = _rows()
    run = Pipeline.from_dict(_spec(), sources={"mine": pl.DataFrame(rows)}).run(
        tmp_path / "run", until="collect", quiet=True
    )
    text = (tmp_path / "run" / "lock.json").read_text()
    for r in rows[:20]:
        assert r["problem"] not in text
    source = json.loads(text)["manifest"]["sources"][0]
    assert source["kind"] == "memory" and "data" not in source
    assert source["memory"]["rows"] == len(rows) and source["memory"]["type"] == "polars.DataFrame"
    assert set(source["memory"]["columns"]) == {"id", "problem", "answer"}
    assert run.lock["inputs"]["mine"] == {"memory": source["memory"]["fingerprint"]}


def test_bad_input_gives_clear_errors(tmp_path):
    with pytest.raises(ManifestError, match="kind 'memory' but no rows were given"):
        Pipeline.from_dict(_spec())
    with pytest.raises(ManifestError, match=r"sources=\{…\} names \['other'\]"):
        Pipeline.from_dict(_spec(), sources={"mine": _rows(2), "other": _rows(2)})
    bad = {"name": "x", "sources": [{"name": "f", "kind": "jsonl", "path": "a.jsonl", "data": _rows(1)}]}
    with pytest.raises(ManifestError, match=r"sources\[0\].data: only `kind: memory`"):
        Pipeline.from_dict(bad)
    with pytest.raises(ManifestError, match="unknown key 'sources\\[0\\].colour'"):
        Pipeline.from_dict({"name": "x", "sources": [{"name": "f", "kind": "memory", "colour": 1}]})
    with pytest.raises(ManifestError, match="drop `path:`"):
        Pipeline.from_dict({"name": "x", "sources": [{"name": "f", "kind": "memory", "path": "a.jsonl"}]})
    with pytest.raises(UserError, match="cannot read rows from a builtins.int"):
        Pipeline.from_dict(_spec(), sources={"mine": 3})
    with pytest.raises(UserError, match="DatasetDict"):
        Pipeline.from_dict(
            _spec(), sources={"mine": datasets.DatasetDict({"train": datasets.Dataset.from_list(_rows(2))})}
        )
    pipe = Pipeline.from_dict(_spec(), sources={"mine": _rows(3)})
    with pytest.raises(UserError, match="(?s)invalid executor.*kind: Input should be 'local' or 'ray'.*'dask'"):
        pipe.run(tmp_path / "run", executor="dask")
    with pytest.raises(UserError, match="address is empty"):
        pipe.run(tmp_path / "run", executor={"kind": "ray", "address": " "})
    assert not (tmp_path / "run").exists()
    run = pipe.run(tmp_path / "run", until="collect", quiet=True)
    with pytest.raises(UserError, match="no table 'traces'.*collect_queries"):
        run.polars("traces")
    with pytest.raises(UserError, match="no lock.json"):
        Run(tmp_path)


def test_cli_on_a_memory_manifest_says_where_rows_come_from(tmp_path):
    path = write_manifest(tmp_path / "m.yaml", _spec())
    r = subprocess.run(
        [sys.executable, "-m", "curation.cli", "run", str(path), "--run-dir", str(tmp_path / "run")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "kind 'memory' but no rows were given" in r.stderr


def test_dataset_source_through_a_replay_teacher_to_verify(tmp_path):
    traces = REPO / "manifests/data/traces/skythought_math500_40.jsonl.gz"
    lines = (REPO / "manifests/data/traces/math500_40_problems.jsonl").read_text().splitlines()
    problems = datasets.Dataset.from_list([json.loads(line) for line in lines]).select(range(8))
    spec = {
        "name": "replayed",
        "sources": [
            {
                "name": "math500",
                "kind": "memory",
                "domain": "math",
                "fields": {"problem": "problem", "reference_answer": "answer", "source_id": "id"},
            }
        ],
        "teachers": [
            {
                "name": "sky",
                "backend": "replay",
                "replay": {
                    "path": str(traces),
                    "teacher": "teacher",
                    "completion": "response",
                    "sampling": "decoding",
                    "models": ["Qwen/Qwen2.5-14B-Instruct", "Sky-T1-math-correct-5K-32B-short"],
                },
            }
        ],
        "distill": {"part_size": 8},
        "verify": {"workers": 1},
    }
    run = Pipeline.from_dict(spec, sources={"math500": problems}).run(tmp_path / "run", until="verify", quiet=True)
    assert run.lock["stages"]["verify"]["status"] == "done"
    got = run.dataset("traces")
    frame = run.polars("traces")
    assert got.num_rows == frame.height == 2 * 8
    assert set(got["teacher"]) == {"Qwen/Qwen2.5-14B-Instruct", "Sky-T1-math-correct-5K-32B-short"}
    assert set(got["query_id"]) == set(run.polars("queries")["query_id"])
    assert got.to_list() == frame.to_dicts()
    assert "verdict" in got.column_names and set(got["verdict"]) <= {
        "correct",
        "incorrect",
        "unverifiable",
        "truncated",
        "error",
    }
    assert "correct" in set(got["verdict"])  # the 32B long-CoT model solves some of these MATH-500 problems
    assert run.polars("distill_traces").height == 16 and "verdict" not in run.polars("distill_traces").columns

    exported = run.export("trl-sft", tmp_path / "sft", positives_only=True)
    n_correct = sum(v == "correct" for v in got["verdict"])
    assert exported["trl-sft"]["rows"] == n_correct
    with pytest.raises(UserError, match="unknown; formats are"):
        run.export(["trl-sft", "csv"], tmp_path / "x")
    with pytest.raises(UserError, match="min_tokens"):
        run.export("trl-sft", tmp_path / "x", min_tokens=-1)
    audit = run.audit(tmp_path / "audit", embeddings=False)
    assert audit["summary"]["teachers"] == 2 and (tmp_path / "audit" / "report.html").exists()
