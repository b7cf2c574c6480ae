"""verify stage over a temp RunStore: math via verifiers.math, code via sandboxes, the rest unverifiable."""

from __future__ import annotations

import importlib.util
import json

import pytest

from curation import records
from curation.stages import verify as verify_stage
from curation.stages.verify import extract_code, verify_rows

from .._cot_helpers import make_ctx, openai_teacher, seed_store, trace_row

needs_math = pytest.mark.skipif(
    importlib.util.find_spec("verifiers.math") is None, reason="verifiers.math not built yet"
)


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
    traces = [
        trace_row("qc", "A", 0, good, "", good),
        trace_row("qc", "A", 1, half, "", half),
        trace_row("qc", "A", 2, "I cannot write code", "", "I cannot write code"),
    ]
    seed_store(tmp_path, [q], traces)
    ctx = make_ctx(tmp_path, "verify", ["collect", "distill"])
    verify_stage.run(ctx)
    got = {r["sample_index"]: r for r in ctx.store.read("verify", "traces").to_pylist()}
    if got[0]["verdict"] == "error":
        pytest.skip(f"sandbox cannot run here: {got[0]['verify_details'][:200]}")
    assert got[0]["verdict"] == "correct" and got[0]["score"] == 1.0
    assert got[1]["verdict"] == "incorrect" and got[1]["score"] == 0.5
    assert got[2]["verdict"] == "incorrect" and json.loads(got[2]["verify_details"])["status"] == "no_code"


# --- the LLM judge (verify.judge_teacher) over a real local OpenAI-compatible server ---------------------------
JUDGE_QUERIES = [
    {
        "query_id": "qp",
        "problem": "What is the capital of France?",
        "domain": "general",
        "source": "s",
        "reference_answer": "Paris",
    },
    {
        "query_id": "qs",
        "problem": "What is the chemical formula of water?",
        "domain": "science",
        "source": "s",
        "reference_answer": "H2O",
    },
    {"query_id": "qn", "problem": "Write a poem", "domain": "general", "source": "s", "reference_answer": None},
    {"query_id": "qm", "problem": "What is 2+3?", "domain": "math", "source": "s", "reference_answer": "5"},
]


def _final(prompt: str) -> str:
    return prompt.split("Final answer of the response:\n<<<\n", 1)[1].split("\n>>>", 1)[0]


def judge_reply(prompt: str, i: int) -> str:
    """The scripted judge: replies in the shapes real models use (fences, prose, thinking), some malformed."""
    final, retry = _final(prompt), "could not be used" in prompt
    if "Paris" in final:
        return 'Looks right to me.\n```json\n{"verdict": "correct", "reason": "same city"}\n```'
    if "Lyon" in final:
        return '{"verdict": "incorrect", "reason": "Lyon is not Paris"}'
    if "Marseille" in final:  # unreadable once, fine when asked again
        return 'Sure: {"verdict": "Incorrect.", "reason": "not Paris"}' if retry else "I believe it is wrong."
    if "Nice" in final:  # never a usable verdict
        return '{"verdict": "maybe", "reason": "hard to say"}'
    if "H2O" in final:
        return '<think>{"verdict": "incorrect"} no wait</think>{"verdict": "correct", "reason": "H2O is water"}'
    return '{"verdict": "incorrect", "reason": "other"}'


def _judge_traces() -> list[dict]:
    return [
        trace_row("qp", "A", 0, "<think>France</think>The capital is Paris.", "France", "The capital is Paris."),
        trace_row("qp", "B", 0, "<think>hm</think>The capital is Paris.", "hm", "The capital is Paris."),
        trace_row("qp", "A", 1, "<think>x</think>Lyon.", "x", "Lyon."),
        trace_row("qp", "A", 2, "<think>x</think>Marseille", "x", "Marseille"),
        trace_row("qp", "A", 3, "<think>x</think>Nice", "x", "Nice"),
        trace_row(
            "qs",
            "A",
            0,
            "<think>water is H2O so the answer is H2O",
            "water is H2O so the answer is H2O",
            None,
            finish="length",
        ),
        trace_row("qn", "A", 0, "<think>x</think>Roses are red", "x", "Roses are red"),
        trace_row("qm", "A", 0, "<think>2+3=5</think>\\boxed{5}", "2+3=5", "\\boxed{5}"),
    ]


def _judge_ctx(tmp_path, srv, **verify):
    return make_ctx(
        tmp_path,
        "verify",
        ["collect", "distill"],
        teachers=[openai_teacher(srv.base_url)],
        verify={"workers": 1, "judge_teacher": "judge", **verify},
    )


@needs_math
def test_llm_judge_labels_traces_no_other_verifier_can(tmp_path, openai_server):
    srv = openai_server(answer=judge_reply)
    seed_store(tmp_path, JUDGE_QUERIES, _judge_traces())
    ctx = _judge_ctx(tmp_path, srv)
    verify_stage.run(ctx)
    got = {(r["query_id"], r["teacher"], r["sample_index"]): r for r in ctx.store.read("verify", "traces").to_pylist()}
    details = {k: json.loads(r["verify_details"]) for k, r in got.items()}
    for k in (("qp", "A", 0), ("qp", "B", 0)):
        assert got[k]["verdict"] == "correct" and got[k]["score"] == 1.0
        assert got[k]["verifier"] == "llm_judge:judge" and details[k]["reason"] == "same city"
        assert got[k]["extracted_answer"] == "The capital is Paris."
    assert got[("qp", "A", 1)]["verdict"] == "incorrect" and got[("qp", "A", 1)]["score"] == 0.0
    assert details[("qp", "A", 1)] == {
        "status": "judged",
        "reason": "Lyon is not Paris",
        "attempts": 1,
        "answer_clipped": False,
    }
    retried = details[("qp", "A", 2)]
    assert got[("qp", "A", 2)]["verdict"] == "incorrect" and retried["attempts"] == 2
    assert retried["rejected"] == ["there is no JSON object in the reply"]
    bad = details[("qp", "A", 3)]  # three unusable replies: an error with the raw reply, never a guess
    assert got[("qp", "A", 3)]["verdict"] == "error" and got[("qp", "A", 3)]["score"] is None
    assert bad["status"] == "judge_unparseable" and bad["attempts"] == 3 and len(bad["rejected"]) == 3
    assert "maybe" in bad["raw_reply"] and "maybe" in bad["detail"]
    trunc = got[("qs", "A", 0)]  # truncated inside the thinking: judged on what is visible, labelled truncated
    assert trunc["verdict"] == "truncated" and details[("qs", "A", 0)]["underlying"] == "correct"
    assert trunc["verifier"] == "llm_judge:judge"
    assert got[("qn", "A", 0)]["verdict"] == "unverifiable" and "no reference" in details[("qn", "A", 0)]["detail"]
    assert got[("qm", "A", 0)]["verdict"] == "correct" and got[("qm", "A", 0)]["verifier"].startswith("verifiers.math")
    prompts = srv.prompts()
    # identical questions are asked once; retries are new prompts; math and reference-less traces never go out
    assert len(prompts) == 1 + 1 + 2 + 3 + 1
    assert all("2+3" not in p and "Write a poem" not in p for p in prompts)
    assert sum("capital of France" in p for p in prompts) == 7 and all("<<<" in p for p in prompts)
    assert ctx.stats["judge_requests"]["judge"]["sent"] == 8
    assert ctx.stats["judge_requests"]["judge"]["generate_calls"] == 3  # one batch: first asks, then two retry rounds
    assert {e["body"]["temperature"] for e in srv.log} == {0.0}

    # A re-run (stage reset, cache kept) sends nothing and gives the same labels.
    ctx.store.reset_stage("verify", keep_cache=True)
    ctx2 = _judge_ctx(tmp_path, srv)
    verify_stage.run(ctx2)
    assert len(srv.prompts()) == 8 and ctx2.stats["judge_requests"]["judge"]["sent"] == 0
    again = {
        (r["query_id"], r["teacher"], r["sample_index"]): r for r in ctx2.store.read("verify", "traces").to_pylist()
    }
    judged = [k for k, r in got.items() if r["verifier"] == "llm_judge:judge"]
    assert len(judged) == 6
    assert [(again[k]["verdict"], again[k]["verify_details"]) for k in judged] == [
        (got[k]["verdict"], got[k]["verify_details"]) for k in judged
    ]


def test_llm_judge_request_failures_hold_back_the_batch_until_a_rerun(tmp_path, openai_server):
    from curation.errors import UserError

    srv = openai_server(answer=judge_reply, script={"H2O": ["500"]})  # the judge server fails for this prompt
    every = _judge_traces()
    traces = [every[0], every[2], every[5], every[6]]  # batch 0: Paris, Lyon; batch 1: H2O (fails), no reference
    seed_store(tmp_path, JUDGE_QUERIES, traces)
    with pytest.raises(UserError, match="no reply from the judge"):
        verify_stage.run(_judge_ctx(tmp_path, srv, batch_size=2))
    assert ctx_has_parts(tmp_path) == ["part-k-000000.parquet"]  # the failed batch is not written
    assert srv.prompts(action="500") and len(srv.prompts(action="500")) == 3  # asked, then re-asked twice
    sent_before = len(srv.prompts())
    srv.script = {}
    ctx = _judge_ctx(tmp_path, srv, batch_size=2)
    verify_stage.run(ctx)
    assert len(srv.prompts()) == sent_before + 1  # only the failed question goes out again
    out = {(r["query_id"], r["sample_index"]): r["verdict"] for r in ctx.store.read("verify", "traces").to_pylist()}
    assert out == {("qp", 0): "correct", ("qp", 1): "incorrect", ("qs", 0): "truncated", ("qn", 0): "unverifiable"}


def ctx_has_parts(tmp_path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "stages" / "verify" / "traces").glob("part-*.parquet"))


def test_llm_judge_teacher_must_be_a_live_teachers_entry(tmp_path):
    from curation.errors import UserError

    seed_store(tmp_path, JUDGE_QUERIES, _judge_traces())
    ctx = make_ctx(tmp_path, "verify", ["collect", "distill"], verify={"judge_teacher": "nobody"})
    with pytest.raises(UserError, match=r"verify.judge_teacher: teacher 'nobody' is not in `teachers:`"):
        verify_stage.run(ctx)
    replay = {"name": "old", "backend": "replay", "replay": {"path": "t.jsonl"}}
    ctx = make_ctx(tmp_path, "verify", ["collect", "distill"], teachers=[replay], verify={"judge_teacher": "old"})
    with pytest.raises(UserError, match="cannot answer new prompts"):
        verify_stage.run(ctx)


def _math_row(completion, finish=None, problem="What is 2+3?", reference="5"):
    return {
        "completion": completion,
        "reasoning": None,
        "answer": completion,
        "finish_reason": finish,
        "error": None,
        "_domain": "math",
        "_reference": reference,
        "_tests": None,
        "_problem": problem,
    }


@needs_math
def test_cut_off_text_is_truncated_only_when_the_source_gives_no_finish_reason():
    from curation.config.verify import VerifyConfig

    cut = "2 + 3 = 5, so the answer is 5. But wait, let me reconsider the case where the"
    res = verify_rows(
        [_math_row(cut), _math_row(cut, finish="stop"), _math_row("So the answer is 5.")], VerifyConfig(workers=1)
    )
    assert [r["verdict"] for r in res] == ["truncated", "correct", "correct"]
    details = json.loads(res[0]["verify_details"])
    assert details["underlying"] == "correct" and details["cutoff"] == "ends mid-sentence"
    off = verify_rows([_math_row(cut)], VerifyConfig(workers=1, detect_cutoff=False))
    assert off[0]["verdict"] == "correct"


@needs_math
def test_restated_question_and_demanded_form_are_not_correct_nor_confident_negatives():
    from curation.config.verify import VerifyConfig
    from curation.stages.select import confident_negative

    simplify = "Simplify $\\frac{\\sqrt{160}}{\\sqrt{252}}$."
    plane = "Find the plane. Enter it as $Ax + By + Cz + D = 0$ with $\\gcd(|A|,|B|,|C|,|D|) = 1.$"
    rows = [
        _math_row("\\boxed{\\frac{\\sqrt{160}}{\\sqrt{252}}}", problem=simplify, reference="\\frac{2\\sqrt{70}}{21}"),
        _math_row("\\boxed{\\frac{2\\sqrt{70}}{21}}", problem=simplify, reference="\\frac{2\\sqrt{70}}{21}"),
        _math_row("\\boxed{4x + 8y - 12z + 16 = 0}", problem=plane, reference="x + 2y - 3z + 4 = 0"),
        _math_row("\\boxed{\\frac{\\sqrt{3}}{2}}", problem=simplify, reference="\\frac{2\\sqrt{70}}{21}"),
    ]
    res = verify_rows(rows, VerifyConfig(workers=1))
    assert [r["verdict"] for r in res] == ["incorrect", "correct", "incorrect", "incorrect"]
    assert [json.loads(r["verify_details"])["method"] for r in (res[0], res[2])] == ["restated_question", "wrong_form"]
    assert [confident_negative(r) for r in res] == [False, False, False, True]


@needs_math
def test_math_verify_second_check_is_recorded():
    pytest.importorskip("math_verify")
    from curation.config.verify import VerifyConfig

    res = verify_rows(
        [_math_row("The answer is \\boxed{5}."), _math_row("The answer is \\boxed{6}.")],
        VerifyConfig(workers=1, second_check="math_verify"),
    )
    second = [json.loads(r["verify_details"])["second_check"] for r in res]
    assert [s["equivalent"] for s in second] == [True, False] and second[0]["verifier"] == "math_verify"
