"""verify stage over a temp RunStore: math via verifiers.math, code via sandboxes, the rest unverifiable."""

from __future__ import annotations

import importlib.util
import json

import pytest

from curation import records
from curation.stages import verify as verify_stage
from curation.stages.verify import extract_code

from ._cot_helpers import make_ctx, seed_store, trace_row

needs_math = pytest.mark.skipif(importlib.util.find_spec("verifiers.math") is None, reason="verifiers.math not built yet")


def test_extract_code_takes_the_last_python_block():
    text = "try\n```python\nx = 1\n```\nbetter:\n```python\ndef f():\n    return 2\n```\n```text\nout\n```"
    assert extract_code(text) == "def f():\n    return 2\n"
    assert extract_code("no code") is None


@needs_math
def test_verify_stage_labels_every_trace(tmp_path):
    q_math = {"query_id": "qm", "problem": "What is 2+3?", "domain": "math", "source": "s", "reference_answer": "5"}
    q_noref = {"query_id": "qn", "problem": "Estimate pi", "domain": "math", "source": "s", "reference_answer": None}
    q_gen = {"query_id": "qg", "problem": "Write a poem", "domain": "general", "source": "s"}
    traces = [
        trace_row("qm", "A", 0, "<think>2+3=5</think>The answer is \\boxed{5}.", "2+3=5", "The answer is \\boxed{5}."),
        trace_row("qm", "A", 1, "<think>hmm</think>\\boxed{6}", "hmm", "\\boxed{6}"),
        trace_row("qm", "B", 0, "<think>2+3 is 5, so \\boxed{5}", "2+3 is 5, so \\boxed{5}", None, finish="length"),
        trace_row("qm", "B", 1, None, error="server_error: 500"),
        trace_row("qn", "A", 0, "<think>x</think>\\boxed{3.14}", "x", "\\boxed{3.14}"),
        trace_row("qg", "A", 0, "<think>x</think>Roses are red", "x", "Roses are red"),
    ]
    seed_store(tmp_path, [q_math, q_noref, q_gen], traces)
    ctx = make_ctx(tmp_path, "verify", ["collect", "distill"])
    verify_stage.run(ctx)
    out = ctx.store.read("verify", "traces")
    assert out.schema.get_field_index("verdict") >= 0
    got = {(r["query_id"], r["teacher"], r["sample_index"]): r for r in out.to_pylist()}
    assert got[("qm", "A", 0)]["verdict"] == "correct" and got[("qm", "A", 0)]["score"] == 1.0
    assert got[("qm", "A", 0)]["extracted_answer"] == "5"
    assert got[("qm", "A", 1)]["verdict"] == "incorrect"
    trunc = got[("qm", "B", 0)]
    assert trunc["verdict"] == "truncated" and json.loads(trunc["verify_details"])["underlying"] == "correct"
    assert got[("qm", "B", 1)]["verdict"] == "error"
    assert got[("qn", "A", 0)]["verdict"] == "unverifiable"
    assert got[("qg", "A", 0)]["verdict"] == "unverifiable"
    assert out.num_rows == 6
    assert ctx.stats["per_teacher"]["A"]["pass_rate"] == 0.5


@pytest.mark.skipif(importlib.util.find_spec("sandboxes") is None, reason="sandboxes not built yet")
def test_verify_stage_runs_code_in_the_sandbox(tmp_path):
    try:
        from sandboxes import run_tests  # noqa: F401
    except ImportError:
        pytest.importorskip("sandboxes.api")
    tests = records.canonical_json({"kind": "assert", "asserts": ["assert add(2, 3) == 5", "assert add(0, 0) == 0"]})
    q = {"query_id": "qc", "problem": "Write add(a, b).", "domain": "code", "source": "s", "tests": tests}
    good = "Here:\n```python\ndef add(a, b):\n    return a + b\n```"
    half = "```python\ndef add(a, b):\n    return 5\n```"
    traces = [trace_row("qc", "A", 0, good, "", good), trace_row("qc", "A", 1, half, "", half),
              trace_row("qc", "A", 2, "I cannot write code", "", "I cannot write code")]
    seed_store(tmp_path, [q], traces)
    ctx = make_ctx(tmp_path, "verify", ["collect", "distill"])
    verify_stage.run(ctx)
    got = {r["sample_index"]: r for r in ctx.store.read("verify", "traces").to_pylist()}
    if got[0]["verdict"] == "error":
        pytest.skip(f"sandbox cannot run here: {got[0]['verify_details'][:200]}")
    assert got[0]["verdict"] == "correct" and got[0]["score"] == 1.0
    assert got[1]["verdict"] == "incorrect" and got[1]["score"] == 0.5
    assert got[2]["verdict"] == "incorrect" and json.loads(got[2]["verify_details"])["status"] == "no_code"
