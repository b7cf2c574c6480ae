"""The openai backend against a real local HTTP server with injected faults (429, 500, hang, cut body, empty)."""

from __future__ import annotations

import pytest

from curation.config.distill import TeacherConfig
from curation.teachers.openai import OpenAIBackend
from curation.teachers.requests import build_requests


def teacher(base_url: str, **openai_kw) -> TeacherConfig:
    opts = {
        "base_url": base_url,
        "concurrency": 4,
        "timeout_s": 1.0,
        "max_retries": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.05,
    }
    opts.update(openai_kw)
    return TeacherConfig.model_validate(
        {
            "name": "fake",
            "backend": "openai",
            "model": "fake-model",
            "generation": {
                "n": 3,
                "max_tokens": 64,
                "temperature": 0.7,
                "top_p": 0.9,
                "top_k": 20,
                "seed": 11,
                "system_prompt": "be brief",
                "chat_template_kwargs": {"enable_thinking": True},
            },
            "openai": opts,
        }
    )


def queries(n: int) -> list[dict]:
    return [
        {"query_id": f"q{i}", "problem": f"Problem number {i}: what is {i}+{i}?", "source": "s", "source_id": str(i)}
        for i in range(n)
    ]


def test_faults_are_retried_and_params_reach_the_server(openai_server):
    srv = openai_server(
        script={
            "number 1:": ["429", "500", "ok"],
            "number 2:": ["hang", "ok"],
            "number 3:": ["close", "ok"],
            "number 4:": ["empty", "nochoices", "ok"],
            "number 5:": ["500"],  # permanent: exhausts the retry budget
        }
    )
    t = teacher(srv.base_url)
    reqs = build_requests(t, queries(8))
    assert len(reqs) == 8 and all(r.sample_indices == [0, 1, 2] for r in reqs)
    backend = OpenAIBackend(t)
    results = {r.key: r for r in backend.generate(reqs)}
    assert len(results) == 8
    by_q = {r.query_id: results[r.key] for r in reqs}
    ok = [q for q, r in by_q.items() if r.ok]
    assert sorted(ok) == ["q0", "q1", "q2", "q3", "q4", "q6", "q7"]
    assert by_q["q5"].error_kind == "server_error" and by_q["q5"].attempts == 4  # 1 + max_retries
    assert by_q["q1"].attempts == 3 and by_q["q2"].attempts == 2 and by_q["q3"].attempts == 2
    assert by_q["q4"].attempts == 3
    # exactly what the server saw: 8 first tries + 2 + 1 + 1 + 2 + 3 retries
    assert len(srv.log) == 8 + 2 + 1 + 1 + 2 + 3
    assert backend.stats["retries"] == 2 + 1 + 1 + 2 + 3
    # n choices, and every sampling knob in the body (non-standard ones as extra keys)
    for r in by_q.values():
        if r.ok:
            assert [c.sample_index for c in r.choices] == [0, 1, 2]
            assert r.prompt_tokens and r.completion_tokens
    body = srv.log[0]["body"]
    assert body["n"] == 3 and body["max_tokens"] == 64 and body["temperature"] == 0.7 and body["top_p"] == 0.9
    assert body["top_k"] == 20 and body["seed"] == 11 and body["chat_template_kwargs"] == {"enable_thinking": True}
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert body["model"] == "fake-model"


def test_reasoning_field_and_servers_that_ignore_n(openai_server):
    srv = openai_server(split_reasoning=True, max_choices=1)  # like llama.cpp: one choice whatever n says
    t = teacher(srv.base_url)
    reqs = build_requests(t, queries(2))
    results = list(OpenAIBackend(t).generate(reqs))
    assert all(r.ok for r in results)
    for r in results:
        assert [c.sample_index for c in r.choices] == [0, 1, 2]
        assert all(c.reasoning and c.reasoning.startswith("Thinking about") for c in r.choices)
        assert all("</think>" not in c.completion for c in r.choices)
        assert [c.seed for c in r.choices[1:]] == [12, 13]  # follow-ups carry their own seeds
    # 2 prompts × (1 request with n=3 + 2 follow-ups with n=1)
    assert sorted(e["body"]["n"] for e in srv.log) == [1, 1, 1, 1, 3, 3]


def test_one_request_per_sample_and_completions_endpoint(openai_server, tmp_path):
    srv = openai_server()
    t = teacher(srv.base_url, samples_per_request="one")
    reqs = build_requests(t, queries(2))
    assert len(reqs) == 6 and sorted(r.sampling["seed"] for r in reqs) == [11, 11, 12, 12, 13, 13]
    assert all(r.ok for r in OpenAIBackend(t).generate(reqs))
    assert {e["body"]["n"] for e in srv.log} == {1}


# --- teacher confidence: per-token logprobs -----------------------------------------------------------------
def _words(text: str, max_tokens: int) -> list[str]:
    return text.split(" ")[:max_tokens]  # the fake server's tokens: one per word


def test_logprobs_are_asked_only_when_opted_in_and_averaged_per_choice(openai_server):
    from fake_openai_server import default_answer, default_logprob

    srv = openai_server()
    plain, asked = teacher(srv.base_url), teacher(srv.base_url).model_copy(update={"logprobs": True})
    r_plain, r_asked = build_requests(plain, queries(1))[0], build_requests(asked, queries(1))[0]
    assert r_plain.key != r_asked.key  # a different request, so a different cache entry
    (res_plain,) = OpenAIBackend(plain).generate([r_plain])
    (res,) = OpenAIBackend(asked).generate([r_asked])
    assert "logprobs" not in srv.log[0]["body"] and srv.log[1]["body"]["logprobs"] is True
    assert all(c.mean_logprob is None for c in res_plain.choices)
    prompt = srv.log[1]["prompt"]
    for c in res.choices:
        n = len(_words(default_answer(prompt, c.sample_index), 64))
        assert c.mean_logprob == pytest.approx(sum(default_logprob(prompt, c.sample_index, k) for k in range(n)) / n)
    assert len({round(c.mean_logprob, 6) for c in res.choices}) == 3  # one value per sample, not per request


def test_completions_endpoint_reads_token_logprobs(openai_server):
    from fake_openai_server import default_answer, default_logprob

    from curation.teachers.base import Request

    srv = openai_server()
    t = teacher(srv.base_url, endpoint="completions").model_copy(update={"logprobs": True})
    req = Request(
        key="k",
        query_id="q",
        messages=[{"role": "user", "content": "2+2?"}],
        sample_indices=[0, 1],
        sampling={"n": 2, "max_tokens": 5, "logprobs": True},
        prompt="User: 2+2?\nAssistant:",
    )
    (res,) = OpenAIBackend(t).generate([req])
    assert srv.log[0]["body"]["logprobs"] == 1 and "messages" not in srv.log[0]["body"]
    for c in res.choices:  # max_tokens 5 cuts the answer: only the tokens sent count
        assert c.finish_reason == "length"
        expected = [default_logprob(req.prompt, c.sample_index, k) for k in range(5)]
        assert c.mean_logprob == pytest.approx(sum(expected) / 5)
        assert len(_words(default_answer(req.prompt, c.sample_index), 99)) > 5


PIPELINE_QUERIES = [("Problem A: what is 3+4?", "7"), ("Problem B: what is 5+6?", "11")]
# per query: sample 0 is right, samples 1-3 are wrong; the teacher's confidence (mean logprob) by sample
CONFIDENCE = {"Problem A": [-0.2, -0.9, -0.3, -0.6], "Problem B": [-0.4, -0.5, -1.2, -0.35]}


def _pipeline_answer(prompt: str, i: int) -> str:
    gold = next(a for q, a in PIPELINE_QUERIES if q.split(":")[0] in prompt)  # the query's name or full text
    words = " ".join(["step"] * (3 + 5 * i))  # later samples are longer: `longest` would pick sample 3
    return f"<think>{words}</think>The answer is \\boxed{{{gold if i == 0 else 100 + i}}}."


def _pipeline_logprob(prompt: str, i: int, k: int) -> float:
    base = next(v for p, v in CONFIDENCE.items() if p in prompt)[i]
    return base - 0.02 * (k % 2)  # varies per token: the stored value is a real mean


def _pipeline_yaml(tmp_path, base_url: str, logprobs: bool, rejected: str = "most_confident") -> str:
    import json as _json

    (tmp_path / "q.jsonl").write_text(
        "".join(_json.dumps({"id": i, "problem": p, "answer": a}) + "\n" for i, (p, a) in enumerate(PIPELINE_QUERIES))
    )
    return f"""
name: conf
sources: [{{name: q, kind: jsonl, path: q.jsonl}}]
teachers:
  - name: fake
    backend: openai
    model: fake-model
    logprobs: {str(logprobs).lower()}
    generation: {{n: 4, max_tokens: 64, temperature: 0.7, seed: 1}}
    openai: {{base_url: "{base_url}", concurrency: 2}}
distill: {{}}
verify: {{workers: 1}}
select: {{pairs: {{rejected: {rejected}}}}}
"""


def _run(tmp_path, text: str):
    from curation import manifest as manifest_mod
    from curation.runner import Runner

    m = manifest_mod.loads(text, path=tmp_path / "m.yaml", base_dir=tmp_path)
    return Runner(m, tmp_path / "run", options={"quiet": True}).run()


def _table(tmp_path, stage: str, table: str) -> list[dict]:
    import pyarrow.parquet as pq

    return [
        r
        for p in sorted((tmp_path / "run/stages" / stage / table).glob("part-*.parquet"))
        for r in pq.read_table(p).to_pylist()
    ]


def test_distill_records_confidence_and_select_pairs_the_most_confident_negative(tmp_path, openai_server):
    srv = openai_server(answer=_pipeline_answer, logprob=_pipeline_logprob)
    lock = _run(tmp_path, _pipeline_yaml(tmp_path, srv.base_url, logprobs=True))
    traces = _table(tmp_path, "select", "traces")
    assert len(traces) == 8
    by = {(next(p for p in CONFIDENCE if p in r["messages"]), r["sample_index"]): r for r in traces}
    for (p, i), r in by.items():
        n = len(_words(_pipeline_answer(p, i), 64))
        assert r["mean_logprob"] == pytest.approx(sum(_pipeline_logprob(p, i, k) for k in range(n)) / n)
        assert r["label"] == ("positive" if i == 0 else "negative")
    assert lock["stages"]["distill"]["stats"]["teachers"]["fake"]["with_mean_logprob"] == 8
    problem_of = {by[(p, 0)]["query_id"]: p for p in CONFIDENCE}
    pairs = {problem_of[x["query_id"]]: x for x in _table(tmp_path, "select", "pairs")}
    assert set(pairs) == set(CONFIDENCE)
    # the wrong sample the teacher was surest of: A -> sample 2 (-0.3), B -> sample 3 (-0.35); never `first` (1)
    assert pairs["Problem A"]["rejected_trace_id"] == by[("Problem A", 2)]["trace_id"]
    assert pairs["Problem B"]["rejected_trace_id"] == by[("Problem B", 3)]["trace_id"]
    assert all(x["chosen_trace_id"] == by[(p, 0)]["trace_id"] for p, x in pairs.items())
    assert lock["stages"]["select"]["stats"]["confidence"]["teacher_queries"] == 2

    # the request cache keeps the confidence: a select-only change re-uses every answer and the same values
    n_sent = len(srv.log)
    _run(
        tmp_path,
        _pipeline_yaml(tmp_path, srv.base_url, logprobs=True).replace("distill: {}", "distill: {part_size: 1}"),
    )
    assert len(srv.log) == n_sent
    assert {r["trace_id"]: r["mean_logprob"] for r in _table(tmp_path, "distill", "traces")} == {
        r["trace_id"]: r["mean_logprob"] for r in traces
    }


def test_most_confident_without_any_logprob_says_what_to_set(tmp_path, openai_server):
    from curation.errors import UserError

    srv = openai_server(answer=_pipeline_answer, logprob=_pipeline_logprob)
    with pytest.raises(UserError, match=r"logprobs: true.*confidence_model"):
        _run(tmp_path, _pipeline_yaml(tmp_path, srv.base_url, logprobs=False))
    assert all("logprobs" not in e["body"] for e in srv.log)
