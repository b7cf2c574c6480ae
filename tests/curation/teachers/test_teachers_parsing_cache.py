"""Think-tag parsing, request keys, the request cache (incl. a line cut by a kill) and the params mapping."""

from __future__ import annotations

import json

import pytest

from curation.config.distill import GenerationConfig
from curation.teachers.base import Choice, Result, request_key
from curation.teachers.cache import RequestCache
from curation.teachers.parsing import split_reasoning
from curation.teachers.sampling import openai_body, sample_seed, sampling_params, vllm_sampling_kwargs


@pytest.mark.parametrize(
    "text, finish, expected",
    [
        ("<think>a\nb</think>\n\nThe answer is 4.", "stop", ("a\nb", "The answer is 4.", "ok")),
        ("reasoning opened by the template</think>final", "stop", ("reasoning opened by the template", "final", "ok")),
        ("<think>never closed because", "stop", ("never closed because", "", "malformed")),
        ("<think>cut by max_tokens", "length", ("cut by max_tokens", "", "truncated")),
        ("no tags at all: 42", "stop", (None, "no tags at all: 42", "ok")),
        ("<think>x</think>y</think>z", "stop", ("x", "y</think>z", "ok")),
    ],
)
def test_split_reasoning(text, finish, expected):
    p = split_reasoning(text, ("<think>", "</think>"), finish)
    assert (p.reasoning, p.answer, p.status) == expected


def test_split_reasoning_custom_tags_and_server_field():
    p = split_reasoning("<reasoning>r</reasoning>ans", ("<reasoning>", "</reasoning>"), "stop")
    assert (p.reasoning, p.answer) == ("r", "ans")
    p = split_reasoning("only the answer", ("<think>", "</think>"), "stop", server_reasoning="server-side thoughts")
    assert (p.reasoning, p.answer, p.status) == ("server-side thoughts", "only the answer", "ok")
    assert split_reasoning("<think>a</think>b", None, "stop").reasoning is None


def test_generation_config_requires_max_tokens():
    with pytest.raises(Exception, match="max_tokens"):
        GenerationConfig()
    with pytest.raises(Exception, match="problem"):
        GenerationConfig(max_tokens=8, prompt_template="no placeholder")


def test_params_map_to_openai_body_and_vllm():
    gen = GenerationConfig(
        n=4,
        max_tokens=100,
        temperature=0.6,
        top_p=0.95,
        top_k=20,
        min_p=0.05,
        seed=7,
        stop=["</answer>"],
        repetition_penalty=1.1,
        chat_template_kwargs={"enable_thinking": True},
        extra_body={"skip_special_tokens": False},
    )
    s = sampling_params(gen, n=1, seed=sample_seed(gen, 3))
    assert s["seed"] == 10 and s["n"] == 1
    body = openai_body("m", s, messages=[{"role": "user", "content": "q"}])
    assert body["top_k"] == 20 and body["min_p"] == 0.05 and body["repetition_penalty"] == 1.1
    assert body["chat_template_kwargs"] == {"enable_thinking": True} and body["skip_special_tokens"] is False
    assert body["max_tokens"] == 100 and body["stop"] == ["</answer>"]
    kw = vllm_sampling_kwargs(s)
    assert "chat_template_kwargs" not in kw and kw["top_k"] == 20 and kw["skip_special_tokens"] is False
    # distinct seeds per sample and per data-parallel replica
    seeds = {sample_seed(gen, i, r) for i in range(4) for r in range(3)}
    assert len(seeds) == 12


def test_request_key_changes_with_every_part():
    ident = {"backend": "openai", "model": "m", "revision": None}
    msgs = [{"role": "user", "content": "q"}]
    base = request_key(ident, msgs, None, {"n": 1, "seed": 0}, [0])
    assert base == request_key(ident, msgs, None, {"seed": 0, "n": 1}, [0])  # key order does not matter
    others = {
        request_key(dict(ident, revision="r1"), msgs, None, {"n": 1, "seed": 0}, [0]),
        request_key(ident, [{"role": "user", "content": "q2"}], None, {"n": 1, "seed": 0}, [0]),
        request_key(ident, msgs, None, {"n": 1, "seed": 1}, [0]),
        request_key(ident, msgs, None, {"n": 1, "seed": 0}, [1]),
    }
    assert base not in others and len(others) == 4


def test_cache_survives_partial_line_and_retries_failures(tmp_path):
    ok = Result(key="a" * 32, choices=[Choice(sample_index=0, completion="hi", finish_reason="stop")], prompt_tokens=3)
    bad = Result(key="b" * 32, error_kind="server_error", error="HTTP 500")
    with RequestCache(tmp_path) as c:
        c.put(ok)
        c.put(bad)
    # A kill in the middle of a write leaves half a line at the end of a shard.
    shard = next(p for p in tmp_path.glob("requests-*.jsonl") if "a" * 32 in p.read_text())
    with open(shard, "a") as f:
        f.write('{"key": "' + "c" * 32 + '", "choi')
    c2 = RequestCache(tmp_path)
    assert c2.corrupt_lines == 1
    assert "a" * 32 in c2 and c2.get("a" * 32).choices[0].completion == "hi"
    assert "b" * 32 not in c2 and c2.previously_failed("b" * 32)
    # a later success for the failed key wins, and the file stays parseable after the cut line
    c2.put(Result(key="b" * 32, choices=[Choice(sample_index=0, completion="ok now")]))
    c2.close()
    c3 = RequestCache(tmp_path)
    assert "b" * 32 in c3 and not c3.previously_failed("b" * 32) and c3.corrupt_lines == 1
    lines = [
        json.loads(line)
        for p in tmp_path.glob("requests-*.jsonl")
        for line in p.read_text().splitlines()
        if line.startswith('{"key"') and line.endswith("}")
    ]
    assert len(lines) == 3


def test_logprobs_opt_in_maps_to_each_backend_and_the_cache_keeps_the_value(tmp_path):
    gen = GenerationConfig(n=2, max_tokens=8, seed=1)
    assert "logprobs" not in sampling_params(gen, 2, 1)  # off by default: default requests are unchanged
    s = sampling_params(gen, 2, 1, logprobs=True)
    assert s["logprobs"] is True
    assert openai_body("m", s, messages=[{"role": "user", "content": "x"}])["logprobs"] is True
    assert openai_body("m", s, prompt="x")["logprobs"] == 1
    assert vllm_sampling_kwargs(s)["logprobs"] == 0 and "logprobs" not in vllm_sampling_kwargs(
        sampling_params(gen, 2, 1)
    )

    with RequestCache(tmp_path) as cache:
        cache.put(Result(key="ab" * 16, choices=[Choice(sample_index=0, completion="x", mean_logprob=-0.375)]))
    # an entry written before the field existed still loads (as null)
    old = {"key": "cd" * 16, "choices": [{"sample_index": 0, "completion": "y"}], "error_kind": None}
    with open(tmp_path / "requests-00.jsonl", "a") as f:
        f.write(json.dumps(old) + "\n")
    cache = RequestCache(tmp_path)
    assert cache.get("ab" * 16).choices[0].mean_logprob == -0.375
    assert cache.get("cd" * 16).choices[0].mean_logprob is None


def test_vllm_mean_logprob_reads_cumulative_or_per_position_values():
    from types import SimpleNamespace as NS

    from curation.teachers.vllm import _mean_logprob

    # vLLM's CompletionOutput shape: token_ids, cumulative_logprob, logprobs = [{token_id: Logprob}] per position
    assert _mean_logprob(NS(token_ids=[5, 6, 7, 2], cumulative_logprob=-2.0, logprobs=None)) == -0.5
    per_pos = [{5: NS(logprob=-0.1), 9: NS(logprob=-3.0)}, {6: NS(logprob=-0.5)}, None]
    assert _mean_logprob(NS(token_ids=[5, 6, 7], cumulative_logprob=None, logprobs=per_pos)) == pytest.approx(-0.3)
    assert _mean_logprob(NS(token_ids=[5], cumulative_logprob=None, logprobs=None)) is None


def test_split_reasoning_skythought_markers_on_the_bundled_traces():
    """Sky-T1's own markers (27B rows of the bundled SkyThought outputs) split like think tags; no marker is left."""
    import gzip
    from pathlib import Path

    from curation.teachers.parsing import MARKER_TOKENS, has_markers

    path = Path(__file__).resolve().parents[3] / "manifests/data/traces/skythought_math500_40.jsonl.gz"
    rows = [json.loads(x) for x in gzip.open(path, "rt")]
    marked = [r["response"] for r in rows if "<|begin_of_thought|>" in r["response"]]
    assert len(marked) == 30
    closed = 0
    for text in marked:
        p = split_reasoning(text, ("<think>", "</think>"), None)
        assert p.reasoning and not has_markers(p.reasoning) and not has_markers(p.answer)
        if "<|end_of_thought|>" in text:
            closed += 1
            if "<|end_of_solution|>" not in text:  # the solution part was cut off
                assert p.status == "malformed" and p.answer
                continue
            assert p.status == "ok" and "\\boxed" in p.answer and "\\boxed" not in p.reasoning[-10:]
            assert p.reasoning == text.split("<|end_of_thought|>")[0].replace("<|begin_of_thought|>", "").strip()
        else:
            assert (p.answer, p.status) == ("", "malformed")
    assert closed == 28 and "<|end_of_solution|>" in MARKER_TOKENS
    # think tags still win where both occur, and a family's close marker alone splits as with `</think>`
    p = split_reasoning("<think>t</think><|begin_of_solution|>a<|end_of_solution|>", ("<think>", "</think>"), "stop")
    assert (p.reasoning, p.answer) == ("t", "<|begin_of_solution|>a<|end_of_solution|>")
    p = split_reasoning(
        "r<|end_of_thought|>\n<|begin_of_solution|>\nx = 2\n<|end_of_solution|>", ("<think>", "</think>"), "stop"
    )
    assert (p.reasoning, p.answer, p.status) == ("r", "x = 2", "ok")


def test_worker_processes_write_their_own_cache_files_and_every_reader_sees_all(tmp_path):
    from curation.teachers import cache as cache_mod

    a = Result(key="a" * 32, choices=[Choice(sample_index=0, completion="from the driver")])
    b = Result(key="a" * 31 + "b", choices=[Choice(sample_index=0, completion="from a worker")])
    with RequestCache(tmp_path) as c:
        c.put(a)
    try:
        cache_mod.set_writer("node1-42")
        with RequestCache(tmp_path) as c:
            assert "a" * 32 in c  # the worker reads the driver's answers
            c.put(b)
    finally:
        cache_mod.set_writer(None)
    names = sorted(p.name for p in tmp_path.glob("requests-*.jsonl"))
    assert len(names) == 2 and any(n.endswith("-node1-42.jsonl") for n in names)  # same shard, separate files
    c = RequestCache(tmp_path)
    assert c.get("a" * 32).choices[0].completion == "from the driver"
    assert c.get("a" * 31 + "b").choices[0].completion == "from a worker"
