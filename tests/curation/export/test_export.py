"""Every export format loads in its consumer's loader (datasets, pandas/pyarrow, LLaMA-Factory's rules) and holds
exactly the rows the filters say, counted independently from the fixture's source rows."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import defaultdict
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("rundir_factory", Path(__file__).parents[1] / "rundir_factory.py")
rundir_factory = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("rundir_factory", rundir_factory)
_spec.loader.exec_module(rundir_factory)

LEAK = "hf_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"


def _truth():
    """(problem_id, teacher) → verdict, from the JSONL rows."""
    out = {}
    for r in rundir_factory.load_rows():
        truncated = "\\boxed" not in r["response"]
        v = "truncated" if truncated else ("correct" if r["is_correct_math_verify"] else "incorrect")
        out[(r["problem"], rundir_factory.short_name(r["teacher"]))] = v
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    extra = {
        "description": f"test run; a pasted token {LEAK} must not reach the card",
        "sources": [
            {
                "name": "math500_sample",
                "kind": "hf",
                "domain": "math",
                "license": "MIT",
                "hf": {"path": "HuggingFaceH4/MATH-500", "split": "test", "token": "${HF_TOKEN}"},
            }
        ],
    }
    return rundir_factory.build_run(root / "run", extra_manifest=extra)


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    from curation.export import FORMATS, export_run

    out = tmp_path_factory.mktemp("out")
    results = export_run(run.root, list(FORMATS), out)
    return out, results


def _load(path, name=None, **kw):
    from datasets import load_dataset

    return load_dataset(str(path), name, split="train", **kw)


def test_hf_folder_loads_every_config(exported):
    from datasets import load_dataset

    out, _ = exported
    truth = _truth()
    n_pos = sum(v == "correct" for v in truth.values())
    sft = _load(out / "hf")  # default config
    assert sft.num_rows == n_pos
    assert sft.features["messages"].feature["role"].dtype == "string"
    assert sft.features["export_tokens"].dtype == "int32"
    for row in sft:
        user, asst = row["messages"]
        assert user["role"] == "user" and asst["role"] == "assistant"
        assert truth[(user["content"], row["teacher"])] == "correct"
    all_ = load_dataset(str(out / "hf"), "all", split="train")
    assert all_.num_rows == len(truth)
    for row in all_:
        assert row["verdict"] == truth[(row["problem"], row["teacher"])]
    assert all_.features["sampling"]["temperature"].dtype == "float64"
    pref = _load(out / "hf", "preference")
    rl = _load(out / "hf", "rl")
    assert rl.num_rows == len({p for p, _ in truth}) and all(r["solution"] for r in rl)
    by_q = defaultdict(set)
    for (p, _), v in truth.items():
        by_q[p].add(v)
    assert pref.num_rows == sum({"correct", "incorrect"} <= vs for vs in by_q.values())


def test_hf_card_metadata_and_sections(exported):
    from huggingface_hub import DatasetCard

    out, _ = exported
    card = DatasetCard.load(out / "hf" / "README.md")
    meta = card.data.to_dict()
    assert meta["license"] == "mit" and meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"] == ["text-generation", "question-answering"]
    assert {"reasoning", "distillation", "math"} <= set(meta["tags"])
    assert meta["source_datasets"] == ["HuggingFaceH4/MATH-500"]
    configs = {c["config_name"]: c for c in meta["configs"]}
    assert set(configs) == {"sft", "preference", "rl", "all"} and configs["sft"].get("default") is True
    text = card.text
    for section in (
        "## Teachers",
        "## Sources",
        "## Deduplication and decontamination",
        "## Verification",
        "## Statistics",
        "## Schema",
        "## Provenance",
    ):
        assert section in text
    assert "| amc23 | 3 |" in text and "| aime24 | 1 |" in text and "| math500 | 0 |" in text
    assert "`google/gemma-2-27b-it`" in text and '"temperature":0.0' in text
    # secrets: references survive, literal tokens do not (card and lock copy)
    assert "${HF_TOKEN}" in text
    for f in ("README.md", "cotforge_lock.json"):
        assert LEAK not in (out / "hf" / f).read_text()


def test_trl_formats(exported, run):
    from trl.data_utils import is_conversational

    out, _ = exported
    truth = _truth()
    sft = _load(out / "trl-sft")
    assert all(is_conversational(r) for r in sft)
    asst = [r["messages"][-1]["content"] for r in sft]
    assert sum(a.startswith("<think>\n") and "\n</think>\n\n" in a for a in asst) >= len(asst) - 3
    pref = _load(out / "trl-preference")
    assert pref.num_rows > 0 and all(is_conversational(r) for r in pref)
    import polars as pl

    traces = pl.read_parquet(run.parts("select", "traces")[0])
    verdict = dict(zip(traces["trace_id"], traces["verdict"]))
    for r in pref:
        assert verdict[r["chosen_trace_id"]] == "correct" and verdict[r["rejected_trace_id"]] == "incorrect"
        assert r["chosen"][0]["role"] == "assistant" and r["prompt"][0]["role"] == "user"
    prompts = _load(out / "trl-prompt")
    ref = {r["problem"]: r["reference_answer"] for r in rundir_factory.load_rows()}
    for r in prompts:
        assert r["solution"] == ref[r["prompt"][0]["content"]]
    assert {p for p, _ in truth} == {r["prompt"][0]["content"] for r in prompts}


def test_verl_schema(exported):
    import pandas as pd
    import pyarrow.parquet as pq

    out, _ = exported
    schema = pq.read_schema(out / "verl" / "train.parquet")
    assert schema.names == ["data_source", "prompt", "ability", "reward_model", "extra_info"]
    df = pd.read_parquet(out / "verl" / "train.parquet")
    assert len(df) == 14
    row = df.iloc[0]
    assert row["data_source"] == "math500_sample" and row["ability"] == "math"
    assert row["reward_model"]["style"] == "rule" and isinstance(row["reward_model"]["ground_truth"], str)
    assert list(row["prompt"][0].keys()) == ["role", "content"] and row["prompt"][0]["role"] == "user"
    assert set(row["extra_info"]) >= {"split", "index", "query_id", "domain"}
    assert sorted(df["extra_info"].map(lambda x: x["index"])) == list(range(len(df)))
    readme = (out / "verl" / "README.md").read_text()
    assert "custom_reward_function.name=compute_score" in readme and "math500_sample" in readme
    # the shipped reward, loaded the way verl loads custom_reward_function.path, scores the exported rows
    spec = importlib.util.spec_from_file_location("custom_module", out / "verl" / "cotforge_reward.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for _, r in df.head(3).iterrows():
        truth, info = r["reward_model"]["ground_truth"], dict(r["extra_info"])
        assert mod.compute_score(r["data_source"], f"So the answer is $\\boxed{{{truth}}}$.", truth, info) == 1.0
        assert mod.compute_score(r["data_source"], "So the answer is $\\boxed{-123456}$.", truth, info) == 0.0


# LLaMA-Factory's dataset_info keys (src/llamafactory/data/parser.py, DatasetAttr) and the sharegpt converter's
# rules (converter.py): user/assistant alternate, SFT has an even number of turns, ranking an odd number with
# chosen/rejected single assistant messages.
LF_TOP = {
    "file_name",
    "hf_hub_url",
    "ms_hub_url",
    "script_url",
    "formatting",
    "ranking",
    "subset",
    "split",
    "folder",
    "num_samples",
    "columns",
    "tags",
}
LF_COLUMNS = {"system", "tools", "images", "videos", "audios", "chosen", "rejected", "kto_tag", "messages"}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag", "system_tag"}


def _lf_check(entry: dict, rows: list[dict]) -> None:
    assert set(entry) <= LF_TOP and entry["formatting"] == "sharegpt"
    assert set(entry["columns"]) <= LF_COLUMNS and set(entry["tags"]) <= LF_TAGS
    tags = entry["tags"]
    odd, even = (tags["user_tag"],), (tags["assistant_tag"],)
    for row in rows:
        msgs = row[entry["columns"]["messages"]]
        if msgs and msgs[0][tags["role_tag"]] == tags["system_tag"]:
            msgs = msgs[1:]
        for i, m in enumerate(msgs):
            assert m[tags["role_tag"]] in (odd, even)[i % 2]
            assert isinstance(m[tags["content_tag"]], str)
        if entry.get("ranking"):
            assert len(msgs) % 2 == 1
            for k in ("chosen", "rejected"):
                assert row[entry["columns"][k]][tags["role_tag"]] in even
        else:
            assert len(msgs) % 2 == 0


def test_llamafactory_dataset_info(exported):
    out, res = exported
    info = json.loads((out / "llamafactory" / "dataset_info.json").read_text())
    assert set(info) == {"fixture_sft", "fixture_preference"}
    for entry in info.values():
        rows = [json.loads(x) for x in (out / "llamafactory" / entry["file_name"]).read_text().splitlines()]
        assert rows
        _lf_check(entry, rows)
        ds = _load(out / "llamafactory", data_files=str(out / "llamafactory" / entry["file_name"]))
        assert ds.num_rows == len(rows)
    assert info["fixture_preference"]["ranking"] is True
    assert res["llamafactory"]["rows"] == sum(v == "correct" for v in _truth().values())


def test_openrlhf_files(exported):
    out, _ = exported
    d = out / "openrlhf"
    # one folder per kind: `--dataset json@FOLDER` loads every JSON file in FOLDER
    assert sorted(p.relative_to(d).as_posix() for p in d.rglob("*.jsonl")) == [
        "preference/train.jsonl",
        "rl/train.jsonl",
        "sft/train.jsonl",
    ]
    sft = [json.loads(x) for x in (d / "sft" / "train.jsonl").read_text().splitlines()]
    pref = [json.loads(x) for x in (d / "preference" / "train.jsonl").read_text().splitlines()]
    rl = [json.loads(x) for x in (d / "rl" / "train.jsonl").read_text().splitlines()]
    assert sft and {"input", "output"} <= set(sft[0]) and isinstance(sft[0]["output"], str)
    assert pref and {"prompt", "chosen", "rejected"} <= set(pref[0])
    assert rl and {"input", "label"} <= set(rl[0])
    readme = (d / "README.md").read_text()
    for flag in (
        "--input_key input",
        "--output_key output",
        "--chosen_key chosen",
        "--rejected_key rejected",
        "--label_key label",
        "--apply_chat_template",
        f"json@{d}/sft ",
        f"json@{d}/preference ",
        f"json@{d}/rl ",
    ):
        assert flag in readme
    for kind, rows in (("sft", sft), ("preference", pref), ("rl", rl)):  # what OpenRLHF's loader reads per folder
        assert _load(d / kind).num_rows == len(rows)


def test_filters(run, tmp_path):
    import polars as pl

    from curation.config.export import ExportFilters
    from curation.errors import UserError
    from curation.export import export_format
    from curation.rundata import load_run

    r = load_run(run.root)
    traces = pl.read_parquet(run.parts("select", "traces")[0])

    res = export_format(r, "trl-sft", tmp_path / "a", ExportFilters(teachers=["gemma-2-27b-it"]))
    assert (
        res["rows"] == traces.filter((pl.col("teacher") == "gemma-2-27b-it") & (pl.col("verdict") == "correct")).height
    )
    res = export_format(
        r, "trl-sft", tmp_path / "b", ExportFilters(positives_only=False, min_tokens=200, max_tokens=600)
    )
    ds = _load(tmp_path / "b")
    assert ds.num_rows == traces.filter(pl.col("reasoning_tokens").is_between(200, 600)).height
    assert all(200 <= x <= 600 for x in ds["export_tokens"])
    res = export_format(r, "trl-prompt", tmp_path / "c", ExportFilters(min_difficulty=0.01, max_difficulty=0.99))
    want = (
        traces.group_by("query_id")
        .agg(pl.col("difficulty").first())
        .filter(pl.col("difficulty").is_between(0.01, 0.99))
        .height
    )
    assert res["rows"] == want and 0 < want < 14
    res = export_format(r, "trl-sft", tmp_path / "d", ExportFilters(reasoning="simplified"))
    ds = _load(tmp_path / "d")
    simp = dict(zip(traces["trace_id"], traces["simplified_reasoning"]))
    for row in ds:
        body = row["messages"][-1]["content"]
        if simp[row["trace_id"]]:
            assert body.startswith("<think>\n" + simp[row["trace_id"]] + "\n</think>")
    with pytest.raises(UserError, match="no such teacher"):
        export_format(r, "trl-sft", tmp_path / "e", ExportFilters(teachers=["nobody"]))
    with pytest.raises(ValueError):
        ExportFilters(min_tokens=10, max_tokens=5)


def test_export_without_segments_or_pairs(tmp_path):
    from curation.config.export import ExportFilters
    from curation.errors import UserError
    from curation.export import export_format
    from curation.rundata import load_run

    store = rundir_factory.build_run(tmp_path / "run", segments=False, select=False)
    r = load_run(store.root)
    res = export_format(r, "hf", tmp_path / "hf", ExportFilters(reasoning="simplified"))
    assert res["filter_stats"]["simplified_fallback_to_raw"] == 70
    assert res["configs"]["preference"]["rows"] == 0 and "sft" in res["configs"]
    assert not (tmp_path / "hf" / "data" / "preference").exists()
    assert _load(tmp_path / "hf").num_rows == sum(v == "correct" for v in _truth().values())
    with pytest.raises(UserError, match="pairs"):
        export_format(r, "trl-preference", tmp_path / "p", ExportFilters())


def test_export_stage_writes_manifest_formats(run, tmp_path):
    from curation import manifest as manifest_mod
    from curation.stage import StageContext
    from curation.stages import export as export_stage

    m = manifest_mod.loads(
        "name: fixture\nsources: [{name: s, kind: jsonl, path: x.jsonl}]\n"
        "export: {formats: [hf, verl], filters: {teachers: [gemma-2-27b-it]}}\n",
        check_files=False,
    )
    assert export_stage.enabled(m)
    ctx = StageContext(name="export", manifest=m, config=m.export, store=run, upstream=[], options={"quiet": True})
    export_stage.run(ctx)
    assert (run.root / "export" / "hf" / "README.md").exists()
    assert (run.root / "export" / "verl" / "train.parquet").exists()
    assert ctx.stats["formats"]["hf"]["rows"]["sft"] == 11  # gemma: 11 of 14 correct
    assert ctx.stats["filters"] == {"teachers": ["gemma-2-27b-it"]}
    bad = "name: f\nsources: [{name: s, kind: jsonl, path: x.jsonl}]\nexport: {formats: [parquet]}\n"
    from curation.errors import ManifestError

    with pytest.raises(ManifestError, match="export.formats"):
        manifest_mod.loads(bad, check_files=False)


def test_export_cli(run, tmp_path):
    from typer.testing import CliRunner

    from curation.cli import app
    from curation.errors import UserError

    r = CliRunner().invoke(
        app,
        [
            "export",
            str(run.root),
            "--format",
            "hf,verl",
            "--out",
            str(tmp_path / "o"),
            "--teacher",
            "Qwen2.5-Math-7B",
            "--max-tokens",
            "100000",
        ],
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "hf" / "data" / "sft").is_dir() and (tmp_path / "o" / "verl" / "train.parquet").exists()
    r = CliRunner().invoke(app, ["export", str(run.root), "--format", "csv", "--out", str(tmp_path / "x")])
    assert isinstance(r.exception, UserError) and "formats are" in str(r.exception)
    r = CliRunner().invoke(
        app,
        [
            "export",
            str(run.root),
            "--format",
            "hf",
            "--out",
            str(tmp_path / "x"),
            "--min-tokens",
            "9",
            "--max-tokens",
            "3",
        ],
    )
    assert isinstance(r.exception, UserError) and "min_tokens" in str(r.exception)


def test_verl_reward_code_and_math():
    from curation.export.verl_reward import compute_score

    tests = json.dumps({"kind": "assert", "asserts": ["assert add(2, 3) == 5"]})
    good = "Here:\n```python\ndef add(a, b):\n    return a + b\n```"
    bad = "Here:\n```python\ndef add(a, b):\n    return a - b\n```"
    assert compute_score("mbpp", good, tests, {"domain": "code"}) == 1.0
    assert compute_score("mbpp", bad, tests, {"domain": "code"}) == 0.0
    assert compute_score("mbpp", good, tests) == 1.0  # domain from the ground truth's shape
    assert compute_score("x", "<think>maybe 3</think>\nThe answer is \\boxed{\\frac{1}{2}}", "0.5") == 1.0


def test_card_of_a_replay_run_is_true_of_its_data(tmp_path):
    """A real run over the bundled SkyThought replay (two models, MATH-500 problems kept on purpose): the card lists
    the outputs' Apache-2.0 licence, shows `skythought` as the dataset it is, warns that MATH-500 problems are in
    the data, and states the assistant-turn format with counts that match the exported rows."""
    import polars as pl
    from huggingface_hub import DatasetCard

    from curation import manifest
    from curation.runner import Runner
    from curation.teachers.parsing import MARKER_TOKENS

    data = Path(__file__).resolve().parents[3] / "manifests" / "data" / "traces"
    (tmp_path / "m.yaml").write_text(f"""
name: replay-card
sources:
  - {{name: math500_replay, kind: jsonl, path: {data / "math500_40_problems.jsonl"}, domain: math, license: MIT,
     fields: {{problem: problem, reference_answer: answer, source_id: id}}}}
decontaminate: {{benchmarks: [amc23], detectors: {{embedding: {{enabled: false}}}}}}
teachers:
  - name: skythought
    backend: replay
    license: Apache-2.0
    replay: {{path: {data / "skythought_math500_40.jsonl.gz"}, format: flat, teacher: teacher, completion: response,
             models: [Sky-T1-math-correct-5K-27B, Qwen/Qwen2.5-14B-Instruct]}}
distill: {{part_size: 64}}
verify: {{workers: 1}}
export: {{formats: [hf]}}
""")
    Runner(manifest.load(tmp_path / "m.yaml"), tmp_path / "run", options={"quiet": True}).run()
    card = DatasetCard.load(tmp_path / "run" / "export" / "hf" / "README.md")
    assert set(card.data.to_dict()["license"]) == {"apache-2.0", "mit"}
    text = card.text
    assert "### `skythought`: replayed dataset" in text and "model: `None`" not in text
    assert "### Sky-T1-math-correct-5K-27B" in text and "- replayed from `skythought`" in text
    assert "Benchmark contamination warning" in text and "40 from `math500`" in text
    sft = pl.read_parquet(tmp_path / "run" / "export" / "hf" / "data" / "sft" / "*.parquet")
    content = [m[-1]["content"] for m in sft["messages"].to_list()]
    think = sum(c.startswith("<think>\n") and "\n</think>\n\n" in c for c in content)
    assert think > 0 and not any(t in c for c in content for t in MARKER_TOKENS if t not in ("<think>", "</think>"))
    assert f"| with `<think>` reasoning | {think} |" in text
    assert f"| answer only (no separate reasoning) | {len(content) - think} |" in text
    teachers = dict(zip(sft["trace_id"], sft["teacher"]))
    assert all(
        teachers[t] == "Sky-T1-math-correct-5K-27B" for t, c in zip(sft["trace_id"], content) if c.startswith("<think>")
    )
