"""The openai backend against a real local HTTP server with injected faults (429, 500, hang, cut body, empty)."""

from __future__ import annotations

from curation.config.distill import TeacherConfig
from curation.stages.distill import build_requests
from curation.teachers.openai import OpenAIBackend


def teacher(base_url: str, **openai_kw) -> TeacherConfig:
    opts = {"base_url": base_url, "concurrency": 4, "timeout_s": 1.0, "max_retries": 3, "backoff_initial_s": 0.01,
            "backoff_max_s": 0.05}
    opts.update(openai_kw)
    return TeacherConfig.model_validate({
        "name": "fake", "backend": "openai", "model": "fake-model",
        "generation": {"n": 3, "max_tokens": 64, "temperature": 0.7, "top_p": 0.9, "top_k": 20, "seed": 11,
                       "system_prompt": "be brief", "chat_template_kwargs": {"enable_thinking": True}},
        "openai": opts,
    })


def queries(n: int) -> list[dict]:
    return [{"query_id": f"q{i}", "problem": f"Problem number {i}: what is {i}+{i}?", "source": "s",
             "source_id": str(i)} for i in range(n)]


def test_faults_are_retried_and_params_reach_the_server(openai_server):
    srv = openai_server(script={
        "number 1:": ["429", "500", "ok"],
        "number 2:": ["hang", "ok"],
        "number 3:": ["close", "ok"],
        "number 4:": ["empty", "nochoices", "ok"],
        "number 5:": ["500"],  # permanent: exhausts the retry budget
    })
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
