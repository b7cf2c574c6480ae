"""The distill stage through the real runner: replay joins, live teachers on a local server, failure report,
--fail-fast, allow_failures, cache reuse and per-teacher accounting in lock.json."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation import manifest as manifest_mod
from curation.errors import UserError
from curation.runner import Runner

ROOT = Path(__file__).resolve().parents[3]
TRACES = ROOT / "manifests/data/traces/skythought_math500_40.jsonl.gz"
PROBLEMS = ROOT / "manifests/data/traces/math500_40_problems.jsonl"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(tmp: Path, yaml_text: str, **options):
    m = manifest_mod.loads(yaml_text, path=tmp / "m.yaml", base_dir=tmp)
    runner = Runner(m, tmp / "run", options={"quiet": True, **options})
    return runner.run(), runner


def traces(tmp: Path) -> list[dict]:
    parts = sorted((tmp / "run/stages/distill/traces").glob("part-*.parquet"))
    return [r for p in parts for r in pq.read_table(p).to_pylist()]


def simple_queries(tmp: Path, n: int) -> Path:
    return write_jsonl(
        tmp / "q.jsonl",
        [{"id": f"id{i}", "problem": f"Problem number {i}: add {i} and {i}.", "answer": str(2 * i)} for i in range(n)],
    )


def live_yaml(base_url: str, extra_openai: str = "", distill: str = "{}", gen: str = "") -> str:
    return f"""
name: t
sources: [{{name: q, kind: jsonl, path: q.jsonl}}]
teachers:
  - name: fake
    backend: openai
    model: fake-model
    generation: {{n: 2, max_tokens: 32, temperature: 0.5, seed: 3 {gen}}}
    openai: {{base_url: "{base_url}", concurrency: 4, timeout_s: 1.0, max_retries: 2, backoff_initial_s: 0.01,
              backoff_max_s: 0.02 {extra_openai}}}
    prices: {{input_per_mtok: 1.0, output_per_mtok: 2.0}}
distill: {distill}
"""


def test_replay_joins_by_problem_and_reports_unmatched_rows(tmp_path):
    problems = [json.loads(line) for line in PROBLEMS.read_text().splitlines()]
    write_jsonl(tmp_path / "q.jsonl", problems[:30])  # 10 problems of the traces are not in the queries
    lock, _ = run(
        tmp_path,
        f"""
name: t
sources: [{{name: math500, kind: jsonl, path: q.jsonl}}]
teachers:
  - name: sky
    backend: replay
    replay: {{path: "{TRACES}", teacher: teacher, completion: response, sampling: decoding,
              models: [Qwen/Qwen2.5-14B-Instruct, google/gemma-2-27b-it, Sky-T1-math-correct-5K-27B]}}
distill: {{part_size: 16}}
""",
    )
    st = lock["stages"]["distill"]
    assert st["status"] == "done"
    rows = traces(tmp_path)
    assert len(rows) == 3 * 30 and st["rows"]["traces"] == 90
    assert {r["teacher"] for r in rows} == {
        "Qwen/Qwen2.5-14B-Instruct",
        "google/gemma-2-27b-it",
        "Sky-T1-math-correct-5K-27B",
    }
    assert len({r["trace_id"] for r in rows}) == 90 and {r["backend"] for r in rows} == {"replay"}
    rep = st["stats"]["replay"]["sky"]
    assert rep["rows"] == 120 and rep["matched"] == 90 and rep["unmatched"] == 30
    assert rep["unmatched_examples"] and rep["unmatched_examples"][0]["problem"]
    assert {t: a["traces"] for t, a in st["stats"]["teachers"].items()} == {
        "Qwen/Qwen2.5-14B-Instruct": 30,
        "google/gemma-2-27b-it": 30,
        "Sky-T1-math-correct-5K-27B": 30,
    }


def test_replay_am_and_openr1_formats_join_by_source_id(tmp_path):
    write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": "a", "problem": "What is 1+1?", "answer": "2"}, {"id": "b", "problem": "What is 2+2?", "answer": "4"}],
    )
    write_jsonl(
        tmp_path / "am.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": "What is 1+1?", "info": {}},
                    {
                        "role": "assistant",
                        "content": "<think>one plus one</think><answer>2</answer>",
                        "info": {"think_content": "one plus one", "answer_content": "2", "model_name": "r1"},
                    },
                ]
            },
            {
                "messages": [
                    {"role": "user", "content": "Not a query"},
                    {"role": "assistant", "content": "x", "info": {"model_name": "r1"}},
                ]
            },
            {"messages": [{"role": "user", "content": "What is 2+2?"}]},  # no assistant turn: unreadable, reported
        ],
    )
    with gzip.open(tmp_path / "openr1.jsonl.gz", "wt") as f:
        f.write(
            json.dumps(
                {
                    "uuid": "b",
                    "problem": "What is 2+2?",
                    "generations": ["<think>2+2</think>4", "<think>hmm, 2+2 is", None],
                    "finish_reasons": ["stop", "length", None],
                }
            )
            + "\n"
        )
        f.write(json.dumps({"uuid": "zzz", "problem": "?", "generations": ["x"], "finish_reasons": ["stop"]}) + "\n")
    lock, _ = run(
        tmp_path,
        """
name: t
sources: [{name: q, kind: jsonl, path: q.jsonl}]
teachers:
  - {name: am, backend: replay, replay: {path: am.jsonl, format: am}}
  - {name: deepseek-r1, backend: replay, replay: {path: openr1.jsonl.gz, format: openr1, join: source_id,
                                                   source_id: uuid}}
distill: {}
""",
    )
    rows = {(r["teacher"], r["sample_index"]): r for r in traces(tmp_path)}
    assert set(rows) == {("r1", 0), ("deepseek-r1", 0), ("deepseek-r1", 1)}
    assert rows[("r1", 0)]["reasoning"] == "one plus one" and rows[("r1", 0)]["answer"] == "2"
    assert rows[("deepseek-r1", 0)]["answer"] == "4" and rows[("deepseek-r1", 0)]["status"] == "ok"
    assert rows[("deepseek-r1", 1)]["status"] == "truncated" and rows[("deepseek-r1", 1)]["finish_reason"] == "length"
    rep = lock["stages"]["distill"]["stats"]["replay"]
    assert (rep["am"]["matched"], rep["am"]["unmatched"], rep["am"]["unreadable"]) == (1, 1, 1)
    assert (rep["deepseek-r1"]["matched"], rep["deepseek-r1"]["unmatched"]) == (2, 1)


def test_failure_report_counts_injected_faults_and_rerun_retries_only_failed(tmp_path, openai_server):
    simple_queries(tmp_path, 10)
    srv = openai_server(
        script={
            "number 1:": ["429", "ok"],
            "number 2:": ["500"],
            "number 3:": ["hang"],
            "number 4:": ["close"],
            "number 5:": ["empty"],
        }
    )
    with pytest.raises(UserError, match="4 requests failed"):
        run(tmp_path, live_yaml(srv.base_url, distill="{part_size: 3}"))
    report = json.loads((tmp_path / "run/report/distill_failures.json").read_text())
    assert report["total"] == 4
    assert report["by_kind"] == {"server_error": 1, "timeout": 1, "connection": 1, "empty_body": 1}
    assert report["by_teacher"] == {"fake": report["by_kind"]}
    assert len(srv.log) == 10 + 1 + 2 * 4  # the 429 retried once; each permanent fault tried 3 times
    answered_first = {e["prompt"] for e in srv.log if e["action"] == "ok"}
    assert len(answered_first) == 6

    # The server heals; the re-run asks only the 4 failed prompts, each once.
    srv.script.clear()
    n_before = len(srv.log)
    lock, _ = run(tmp_path, live_yaml(srv.base_url, distill="{part_size: 3}"))
    second = [e["prompt"] for e in srv.log[n_before:]]
    assert len(second) == 4 and not set(second) & answered_first
    rows = traces(tmp_path)
    assert len(rows) == 20 and len({r["trace_id"] for r in rows}) == 20
    assert all(r["error"] is None and r["status"] == "ok" for r in rows)
    acc = lock["stages"]["distill"]["stats"]["teachers"]["fake"]
    assert acc["run"]["cache_hits"] == 6 and acc["run"]["sent"] == 4
    assert acc["traces"] == 20 and acc["completion_tokens"] > 0 and acc["prompt_tokens"] > 0
    assert acc["cost_usd"] == pytest.approx(acc["prompt_tokens"] / 1e6 + 2 * acc["completion_tokens"] / 1e6)
    r0 = rows[0]
    assert json.loads(r0["sampling"]) == {"n": 2, "max_tokens": 32, "temperature": 0.5, "top_p": 1.0, "seed": 3}
    assert r0["reasoning"].startswith("Thinking about") and r0["answer"].startswith("The answer is")


def test_allow_failures_keeps_error_rows_and_truncation_is_flagged(tmp_path, openai_server):
    simple_queries(tmp_path, 4)
    srv = openai_server(script={"number 2:": ["500"]})
    lock, _ = run(tmp_path, live_yaml(srv.base_url, distill="{allow_failures: true}", gen=", max_tokens: 4"))
    rows = traces(tmp_path)
    assert len(rows) == 8
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 2 and all(r["error"].startswith("server_error") for r in failed)
    ok = [r for r in rows if r["status"] != "failed"]
    # 4 words max: the think block is cut, the trace is kept and marked truncated (never dropped)
    assert all(r["finish_reason"] == "length" and r["status"] == "truncated" for r in ok)
    assert lock["stages"]["distill"]["stats"]["failures"]["by_kind"] == {"server_error": 1}


def test_fail_fast_stops_at_first_hard_error(tmp_path, openai_server):
    simple_queries(tmp_path, 30)
    srv = openai_server(default_action="500")  # every request fails
    with pytest.raises(UserError, match="--fail-fast"):
        run(tmp_path, live_yaml(srv.base_url, extra_openai=", concurrency: 1"), fail_fast=True)
    # the first request's 3 attempts, plus at most the one request already in flight when the stage stopped
    # (its retries stop as soon as the stop flag is seen); nothing else of the 30 queries is asked
    assert 3 <= len(srv.log) <= 6 and len(set(srv.prompts())) <= 2
    assert json.loads((tmp_path / "run/report/distill_failures.json").read_text())["total"] == 1


def test_unknown_teacher_and_missing_env_key_are_clear_errors(tmp_path, openai_server):
    simple_queries(tmp_path, 1)
    with pytest.raises(UserError, match="unknown teacher"):
        run(tmp_path, live_yaml("http://127.0.0.1:9/v1", distill="{teachers: [nope]}"))
    with pytest.raises(Exception, match="environment-variable reference"):
        manifest_mod.loads(
            live_yaml("http://x/v1", extra_openai=", api_key: sk-123"), path=tmp_path / "m.yaml", base_dir=tmp_path
        )
    with pytest.raises(UserError, match="COTFORGE_TEST_UNSET_KEY"):
        run(tmp_path, live_yaml("http://127.0.0.1:9/v1", extra_openai=", api_key: '${COTFORGE_TEST_UNSET_KEY}'"))


def test_missing_local_model_folder_is_a_user_error_that_says_how_to_build_it(tmp_path):
    import pytest

    from curation import manifest as manifest_mod
    from curation.errors import UserError
    from curation.runner import Runner

    (tmp_path / "q.jsonl").write_text('{"problem": "What is 1+1?", "answer": "2"}\n')
    m = manifest_mod.loads(
        "name: t\nsources: [{name: s, kind: jsonl, path: q.jsonl}]\n"
        "teachers: [{name: tiny, backend: transformers, model: ../models/nope, generation: {max_tokens: 8}}]\n"
        "distill: {}\n",
        path=tmp_path / "m.yaml",
    )
    with pytest.raises(UserError, match=r"model folder .*models/nope does not exist.*tiny_model"):
        Runner(m, tmp_path / "run", options={"quiet": True}).run()


def test_replay_reads_the_teacher_confidence_field_and_rejects_values_that_are_not_logprobs(tmp_path):
    write_jsonl(
        tmp_path / "q.jsonl",
        [{"id": "a", "problem": "What is 1+1?", "answer": "2"}, {"id": "b", "problem": "What is 2+2?", "answer": "4"}],
    )
    write_jsonl(
        tmp_path / "flat.jsonl",
        [
            {"problem": "What is 1+1?", "response": "<think>1+1</think>2", "stats": {"mean_lp": -0.25}},
            {"problem": "What is 2+2?", "response": "<think>2+2</think>4"},  # no value: null, not an error
            {"problem": "What is 2+2?", "response": "<think>hm</think>5", "stats": {"mean_lp": 3.1}},  # a perplexity?
        ],
    )
    write_jsonl(
        tmp_path / "openr1.jsonl",
        [
            {
                "uuid": "b",
                "problem": "What is 2+2?",
                "generations": ["<think>2+2</think>4", "<think>2+2</think>5"],
                "finish_reasons": ["stop", "stop"],
                "lps": [-0.1, -1.5],
            }
        ],
    )
    write_jsonl(
        tmp_path / "am.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": "What is 1+1?"},
                    {"role": "assistant", "content": "<think>x</think>2", "info": {"model_name": "r1", "lp": -0.4}},
                ]
            }
        ],
    )
    lock, _ = run(
        tmp_path,
        """
name: t
sources: [{name: q, kind: jsonl, path: q.jsonl}]
teachers:
  - {name: flat, backend: replay, replay: {path: flat.jsonl, mean_logprob: stats.mean_lp}}
  - {name: o1, backend: replay, replay: {path: openr1.jsonl, format: openr1, join: source_id, source_id: uuid,
                                          mean_logprob: lps}}
  - {name: am, backend: replay, replay: {path: am.jsonl, format: am, mean_logprob: lp}}
distill: {}
""",
    )
    got = sorted((r["teacher"], r["answer"], r["mean_logprob"]) for r in traces(tmp_path))
    # (the am row's teacher is its model_name, r1)
    assert got == [("flat", "2", -0.25), ("flat", "4", None), ("o1", "4", -0.1), ("o1", "5", -1.5), ("r1", "2", -0.4)]
    rep = lock["stages"]["distill"]["stats"]["replay"]["flat"]
    assert rep["unreadable"] == 1 and "≤ 0" in rep["unreadable_examples"][0]["detail"]
    assert lock["stages"]["distill"]["stats"]["teachers"]["flat"]["with_mean_logprob"] == 1
    with pytest.raises(Exception, match="replay.mean_logprob"):
        manifest_mod.loads(
            "name: t\nsources: [{name: q, kind: jsonl, path: q.jsonl}]\nteachers: [{name: x, "
            "backend: replay, logprobs: true, replay: {path: flat.jsonl}}]\n",
            check_files=False,
        )
