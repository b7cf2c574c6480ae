import gzip
import json

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from curation import manifest, records
from curation.runner import Runner
from curation.store import RunStore

from ..spine_helpers import math_rows, write_jsonl, write_manifest


def _run(tmp_path, sources, **extra):
    m = write_manifest(tmp_path / "m.yaml", {"name": "t", "sources": sources, **extra})
    runner = Runner(manifest.load(m), tmp_path / "run", options={"quiet": True})
    lock = runner.run()
    return runner.store, lock


def test_every_source_kind_maps_into_the_queries_schema(tmp_path):
    import datasets

    rows = math_rows(5)
    write_jsonl(tmp_path / "a.jsonl", rows)
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in math_rows(3, start=100))
    pq.write_table(pa.Table.from_pylist(math_rows(4, start=200)), tmp_path / "c.parquet")
    pacsv.write_csv(pa.Table.from_pylist(math_rows(2, start=300)), tmp_path / "d.csv")
    write_jsonl(tmp_path / "hf" / "train.jsonl", math_rows(3, start=400))
    datasets.Dataset.from_list(math_rows(2, start=500)).save_to_disk(str(tmp_path / "saved"))
    sources = [
        {"name": "a", "kind": "jsonl", "path": "a.jsonl"},
        {"name": "b", "kind": "jsonl", "path": "b.jsonl.gz"},
        {"name": "c", "kind": "parquet", "path": "c.parquet"},
        {"name": "d", "kind": "csv", "path": "d.csv"},
        {"name": "e", "kind": "hf", "hf": {"path": "json", "data_files": ["hf/train.jsonl"], "split": "train"}},
        {"name": "f", "kind": "hf", "hf": {"path": "saved"}},
    ]
    store, lock = _run(tmp_path, sources)
    q = store.read("collect", "queries")
    assert q.schema.equals(records.QUERIES, check_metadata=False)
    counts = {}
    for s in q.column("source").to_pylist():
        counts[s] = counts.get(s, 0) + 1
    assert counts == {"a": 5, "b": 3, "c": 4, "d": 2, "e": 3, "f": 2}
    row = q.filter(pa.compute.equal(q["source_id"], "m201")).to_pylist()[0]
    assert row["problem"] == "What is 201 + 202?" and row["reference_answer"] == "403"
    assert row["query_id"] == records.query_id("What is 201 + 202?")
    assert lock["stages"]["collect"]["stats"]["sources"]["d"] == {"read": 2, "kept": 2, "removed": 0}


def test_invalid_rows_are_removed_with_reason_and_location(tmp_path):
    good = math_rows(3)
    lines = [json.dumps(r) for r in good]
    lines.insert(1, "{not json")
    lines.append(json.dumps({"id": "e", "problem": "   ", "answer": "1"}))
    lines.append(json.dumps({"id": "na", "problem": "Find x.", "answer": None}))
    lines.append(json.dumps({"id": "n", "problem": 5, "answer": "1"}))
    raw = ("\n".join(lines) + "\n").encode() + b'{"problem": "caf\xe9"}\n'
    (tmp_path / "a.jsonl").write_bytes(raw)
    write_jsonl(
        tmp_path / "code.jsonl",
        [
            {"id": "c1", "prompt": "Write f.", "tests": ["assert f(1) == 1"]},
            {"id": "c2", "prompt": "Write g.", "tests": "[assert g(1)"},
        ],
    )
    sources = [
        {"name": "a", "kind": "jsonl", "path": "a.jsonl"},
        {
            "name": "code",
            "kind": "jsonl",
            "path": "code.jsonl",
            "domain": "code",
            "fields": {"problem": "prompt", "reference_answer": None, "tests": "tests"},
        },
    ]
    store, lock = _run(tmp_path, sources, collect={"require_reference_answer": "always"})
    removed = store.read("collect", "removed").to_pylist()
    reasons = sorted((r["reason"], r["location"].rsplit("/", 1)[-1]) for r in removed)
    assert reasons == [
        ("empty_problem", "a.jsonl:5"),
        ("invalid_problem", "a.jsonl:7"),
        ("invalid_tests", "code.jsonl:2"),
        ("malformed_json", "a.jsonl:2"),
        ("missing_reference_answer", "a.jsonl:6"),
        ("undecodable", "a.jsonl:8"),
    ]
    kept = store.read("collect", "queries")
    # every input row is either kept or removed
    assert kept.num_rows + len(removed) == 3 + 5 + 2
    code = [r for r in kept.to_pylist() if r["domain"] == "code"][0]
    assert json.loads(code["tests"]) == {"kind": "assert", "asserts": ["assert f(1) == 1"], "setup": None}
    assert lock["stages"]["collect"]["removed_by_reason"]["malformed_json"] == 1


def test_text_normalization_nfkc_and_whitespace(tmp_path):
    write_jsonl(
        tmp_path / "a.jsonl", [{"problem": "  Ｆｉｎｄ\u00a0 x  if\t x² = 4 \r\n\r\n\r\n\r\nok ", "answer": "2"}]
    )
    store, _ = _run(tmp_path, [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}])
    assert store.read("collect", "queries").column("problem").to_pylist() == ["Find x if x2 = 4\n\nok"]


def test_ids_are_stable_across_runs(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", math_rows(20))
    s1, _ = _run(tmp_path, [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}])
    ids1 = s1.read("collect", "queries").column("query_id").to_pylist()
    other = tmp_path / "again"
    other.mkdir()
    write_jsonl(other / "a.jsonl", math_rows(20))
    s2, _ = _run(other, [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}])
    assert ids1 == s2.read("collect", "queries").column("query_id").to_pylist()
    assert len(set(ids1)) == 20


def test_bad_hf_source_is_a_user_error_naming_the_source(tmp_path):
    from curation.errors import UserError

    with pytest.raises(UserError, match="source 'broken'"):
        _run(tmp_path, [{"name": "broken", "kind": "hf", "hf": {"path": "json", "data_files": ["missing.jsonl"]}}])


def test_large_file_streams_in_batches(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", math_rows(2500))
    store, _ = _run(tmp_path, [{"name": "a", "kind": "jsonl", "path": "a.jsonl"}], collect={"batch_size": 1000})
    parts = RunStore(tmp_path / "run").parts("collect", "queries")
    assert len(parts) == 3 and store.count("collect", "queries") == 2500
