"""The stage contract: one registry drives the runner, and `map_batches` owns slicing, keys and skip-if-done."""

from __future__ import annotations

import pyarrow as pa
import pytest

from curation import runner, stages
from curation.errors import UserError
from curation.stage import StageContext
from curation.stages import REGISTRY, Resources, Stage
from curation.store import RunStore


def test_registry_is_the_runners_stage_list():
    assert runner.STAGES == list(REGISTRY) == stages.NAMES
    assert stages.NAMES[0] == "collect" and stages.NAMES[-1] == "export"
    for name, stage in REGISTRY.items():
        assert isinstance(stage, Stage), name
        assert stage.name == name
        assert callable(stage.module.run), name  # the module exists and runs
        assert isinstance(stage.resources(_manifest()), Resources)


def test_unknown_stage_is_a_user_error():
    with pytest.raises(UserError, match="unknown stage 'segmnt'.*segment"):
        stages.get("segmnt")


def test_declared_batch_size_and_resources_follow_the_config():
    m = _manifest(verify={"batch_size": 7, "workers": 3})
    assert REGISTRY["verify"].batch_size(m) == 7
    assert REGISTRY["verify"].resources(m) == Resources(cpus=3)
    assert REGISTRY["verify"].enabled(m)
    assert REGISTRY["segment"].batch_size(m) is None and not REGISTRY["segment"].enabled(m)
    assert REGISTRY["dedup"].batch_size(m) is None  # stages that do not batch declare none


def _manifest(**sections):
    from curation.manifest import Manifest

    return Manifest.model_validate(
        {"name": "t", "sources": [{"name": "s", "kind": "jsonl", "path": "x.jsonl"}], **sections}
    )


# --- map_batches --------------------------------------------------------------------------------------------------


def _store_with_parts(tmp_path) -> RunStore:
    """An upstream table in uneven parts, one of them lacking a column and one with it all null."""
    store = RunStore(tmp_path)
    store.write_part("up", "rows", pa.table({"i": [0, 1], "s": ["a", "b"]}), key="000000")
    store.write_part("up", "rows", pa.table({"i": [2, 3, 4, 5, 6]}), key="000001")
    store.write_part("up", "rows", pa.table({"i": [7], "s": pa.nulls(1)}), key="000002")
    store.write_part("up", "rows", pa.table({"i": [8, 9], "s": ["c", None]}), key="000003")
    return store


def _ctx(store: RunStore) -> StageContext:
    return StageContext(name="me", manifest=None, config=None, store=store, upstream=["up"], options={"quiet": True})


def test_iter_batches_streams_the_rows_read_would_give(tmp_path):
    ctx = _ctx(_store_with_parts(tmp_path))
    whole = ctx.read("rows")
    batches = list(ctx.iter_batches("rows", 3))
    assert [b.num_rows for b in batches] == [3, 3, 3, 1]
    assert pa.concat_tables(batches).to_pylist() == whole.to_pylist()
    assert all(b.schema == batches[0].schema for b in batches)
    assert batches[0].schema.field("s").type == pa.string()


def test_map_batches_writes_keyed_parts_and_skips_done_ones(tmp_path):
    store = _store_with_parts(tmp_path)
    ctx = _ctx(store)
    seen: list[list[int]] = []

    def double(chunk: pa.Table) -> pa.Table | None:
        seen.append(chunk.column("i").to_pylist())
        if chunk.column("i")[0].as_py() == 3:
            return None  # e.g. a judge that did not answer: not written, redone next time
        return chunk.set_column(0, "i", pa.array([2 * x for x in chunk.column("i").to_pylist()]))

    counts = ctx.map_batches("rows", double, 3)
    assert counts == {"batches": 4, "skipped": 0, "written": 3, "not_written": 1, "not_written_rows": 3}
    assert [p.name for p in store.parts("me", "rows")] == [
        "part-k-000000.parquet",
        "part-k-000002.parquet",
        "part-k-000003.parquet",
    ]
    seen.clear()
    counts = ctx.map_batches("rows", double, 3)  # resumed: only the unwritten batch runs again
    assert seen == [[3, 4, 5]]
    assert counts == {"batches": 4, "skipped": 3, "written": 0, "not_written": 1, "not_written_rows": 3}
    out = [x for part in ctx.iter_output("rows", ["i"]) for x in part.column("i").to_pylist()]
    assert out == [0, 2, 4, 12, 14, 16, 18]


def test_map_batches_without_an_upstream_table(tmp_path):
    ctx = _ctx(RunStore(tmp_path))
    with pytest.raises(FileNotFoundError, match="needs table 'rows'"):
        ctx.map_batches("rows", lambda t: t, 3)
    assert ctx.map_batches("rows", lambda t: t, 3, schema=pa.schema([("i", pa.int64())]))["batches"] == 0


# --- dependency direction -----------------------------------------------------------------------------------------


def _imports_of(path) -> set[str]:
    """Project modules a file imports (module level and inside functions), relative imports resolved."""
    from curation.codeversion import ROOT, _info

    return {m for m in _info(path, ROOT)[1] if m.startswith("curation.")}


@pytest.mark.parametrize("folder", ["stages", "teachers", "export", "sources", "text", "cot"])
def test_lower_layers_do_not_import_upward(folder):
    """Stages, teachers, exporters and helpers never reach the runner, the audit or another stage's module."""
    from curation.codeversion import ROOT

    files = sorted((ROOT / "curation" / folder).glob("*.py")) + (
        [ROOT / "curation" / "llm.py"] if folder == "teachers" else []
    )
    assert files
    for path in files:
        for mod in _imports_of(path):
            assert not mod.startswith(("curation.audit", "curation.runner", "curation.api", "curation.commands")), (
                f"{path.name} imports {mod}"
            )
            stage = mod.split(".")[2] if mod.startswith("curation.stages.") and mod.count(".") == 2 else None
            if stage in stages.REGISTRY:
                assert path.parent.name == "stages" and path.stem in (stage, "__init__"), (
                    f"{path.name} imports the stage module {mod}"
                )
