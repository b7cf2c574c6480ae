"""The transformers backend on a real tiny model (SmolLM2-135M-Instruct, CPU) through the distill stage.

The model's answers are mostly wrong: these tests check plumbing (n samples, max_tokens, token counts, cache)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from transformers import AutoTokenizer

from curation import manifest as manifest_mod
from curation.runner import Runner

pytestmark = pytest.mark.slow


def manifest(tmp: Path, model: Path, part_size: int) -> str:
    return f"""
name: t
sources: [{{name: q, kind: jsonl, path: q.jsonl}}]
teachers:
  - name: smol
    backend: transformers
    model: "{model}"
    max_queries: 2
    generation: {{n: 2, max_tokens: 12, temperature: 0.8, top_p: 0.95, seed: 5,
                  system_prompt: "Put the final answer in \\\\boxed{{}}."}}
    transformers: {{batch_size: 2, device: cpu}}
distill: {{part_size: {part_size}}}
"""


def run(tmp: Path, text: str):
    m = manifest_mod.loads(text, path=tmp / "m.yaml", base_dir=tmp)
    return Runner(m, tmp / "run", options={"quiet": True}).run()


def rows(tmp: Path) -> list[dict]:
    parts = sorted((tmp / "run/stages/distill/traces").glob("part-*.parquet"))
    return sorted(
        (r for p in parts for r in pq.read_table(p).to_pylist()), key=lambda r: (r["query_id"], r["sample_index"])
    )


def test_transformers_backend_samples_counts_and_cache(tmp_path, smollm2_dir):
    (tmp_path / "q.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "problem": p, "answer": a}) + "\n"
            for i, (p, a) in enumerate([("What is 2+3?", "5"), ("What is 12 times 7?", "84"), ("What is 10-4?", "6")])
        )
    )
    lock = run(tmp_path, manifest(tmp_path, smollm2_dir, part_size=1))
    first = rows(tmp_path)
    assert len(first) == 4  # max_queries 2 × n 2
    assert sorted(r["sample_index"] for r in first) == [0, 0, 1, 1]
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    for r in first:
        assert r["backend"] == "transformers" and r["error"] is None
        assert 0 < r["completion_tokens"] <= 12
        assert r["finish_reason"] in ("stop", "length")
        assert r["status"] == ("truncated" if r["finish_reason"] == "length" else "ok")
        if r["finish_reason"] == "length":
            assert len(tok(r["completion"], add_special_tokens=False)["input_ids"]) in range(10, 15)
        msgs = json.loads(r["messages"])
        assert msgs[0]["role"] == "system" and msgs[1]["role"] == "user"
        rendered = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        assert r["prompt_tokens"] == len(tok(rendered, add_special_tokens=False)["input_ids"])
        s = json.loads(r["sampling"])
        assert s == {"n": 2, "max_tokens": 12, "temperature": 0.8, "top_p": 0.95, "seed": 5}
    acc = lock["stages"]["distill"]["stats"]["teachers"]["smol"]
    assert acc["run"]["sent"] == 2 and acc["traces"] == 4
    assert acc["completion_tokens"] == sum(r["completion_tokens"] for r in first)

    # A config change that does not touch the requests re-runs the stage: every answer comes from the cache.
    lock = run(tmp_path, manifest(tmp_path, smollm2_dir, part_size=3))
    run_stats = lock["stages"]["distill"]["stats"]["teachers"]["smol"]["run"]
    assert run_stats["sent"] == 0 and run_stats["cache_hits"] == 2
    assert [(r["trace_id"], r["completion"]) for r in rows(tmp_path)] == [
        (r["trace_id"], r["completion"]) for r in first
    ]


def test_greedy_is_deterministic_and_n_choices_per_prompt(smollm2_dir):
    from curation.config.distill import TeacherConfig
    from curation.teachers.requests import build_requests
    from curation.teachers.transformers import TransformersBackend

    t = TeacherConfig.model_validate(
        {
            "name": "g",
            "backend": "transformers",
            "model": str(smollm2_dir),
            "generation": {"n": 2, "max_tokens": 8, "temperature": 0.0},
            "transformers": {"device": "cpu", "batch_size": 4},
        }
    )
    qs = [{"query_id": "a", "problem": "What is 2+3?"}, {"query_id": "b", "problem": "Name a color."}]
    be = TransformersBackend(t)
    res = list(be.generate(build_requests(t, qs)))
    assert len(res) == 2 and all(len(r.choices) == 2 for r in res)
    for r in res:  # greedy: both samples of a prompt are the same text
        assert r.choices[0].completion == r.choices[1].completion and r.choices[0].completion
    again = list(be.generate(build_requests(t, qs)))
    assert [c.completion for r in again for c in r.choices] == [c.completion for r in res for c in r.choices]


def test_logprobs_match_a_teacher_forced_pass_and_the_confidence_scorer(smollm2_dir):
    """The backend's mean_logprob (generate + compute_transition_scores) against two independent computations on
    the same model: a plain forward pass over prompt + generated ids, and text.lm_scoring's completion scorer (the
    `select.pairs.confidence_model` fallback) on the decoded text."""
    import torch
    from transformers import AutoModelForCausalLM

    from curation.config.distill import TeacherConfig
    from curation.teachers.requests import build_requests
    from curation.teachers.transformers import TransformersBackend
    from curation.text.lm_scoring import completion_logprobs

    t = TeacherConfig.model_validate(
        {
            "name": "g",
            "backend": "transformers",
            "model": str(smollm2_dir),
            "logprobs": True,
            "generation": {"n": 2, "max_tokens": 10, "temperature": 0.9, "seed": 3},
            "transformers": {"device": "cpu", "batch_size": 2, "dtype": "float32"},
        }
    )
    qs = [{"query_id": "a", "problem": "What is 2+3?"}, {"query_id": "b", "problem": "Name a color."}]
    reqs = build_requests(t, qs)
    assert all(r.sampling["logprobs"] is True for r in reqs)
    be = TransformersBackend(t)
    res = {r.key: r for r in be.generate(reqs)}
    tok = be.tokenizer
    model = AutoModelForCausalLM.from_pretrained(smollm2_dir, dtype=torch.float32).eval()
    values, prompts, texts, cut = [], [], [], []
    for req in reqs:
        prompt_ids = tok(be.render(req.messages, None), add_special_tokens=False)["input_ids"]
        for c in res[req.key].choices:
            assert c.mean_logprob is not None and c.mean_logprob < 0
            gen_ids = tok(c.completion, add_special_tokens=False)["input_ids"]
            if c.finish_reason == "stop":
                gen_ids = gen_ids + [tok.eos_token_id]  # the end token was generated, and counted
            assert len(gen_ids) == c.completion_tokens  # re-tokenizing the text gives the generated ids back
            ids = torch.tensor([prompt_ids + gen_ids])
            with torch.inference_mode():
                lp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
            n_p = len(prompt_ids)
            forced = lp[n_p - 1 :, :].gather(1, ids[0, n_p:, None]).mean().item()
            assert c.mean_logprob == pytest.approx(forced, abs=2e-3)
            values.append(c.mean_logprob)
            if c.finish_reason == "length":  # no end token: the scorer sees exactly what the teacher wrote
                prompts.append(req.messages)
                texts.append(c.completion)
                cut.append(c.mean_logprob)
    assert len(values) == 4
    assert cut, "every sample stopped before max_tokens; the scorer comparison needs one cut at the limit"
    scored = completion_logprobs(prompts, texts, str(smollm2_dir), batch_size=2)
    # same model (bf16 as saved, vs float32 above): the same numbers up to rounding
    np.testing.assert_allclose(scored, cut, atol=0.05)


def test_logprobs_off_by_default(smollm2_dir):
    from curation.config.distill import TeacherConfig
    from curation.teachers.requests import build_requests
    from curation.teachers.transformers import TransformersBackend

    t = TeacherConfig.model_validate(
        {
            "name": "g",
            "backend": "transformers",
            "model": str(smollm2_dir),
            "generation": {"n": 1, "max_tokens": 4, "temperature": 0.0},
            "transformers": {"device": "cpu"},
        }
    )
    (req,) = build_requests(t, [{"query_id": "a", "problem": "What is 2+3?"}])
    assert "logprobs" not in req.sampling
    (res,) = TransformersBackend(t).generate([req])
    assert res.choices[0].mean_logprob is None and res.choices[0].completion
