"""verify → segment → select on real traces of six teachers, through the stage functions; and `cotforge segment`."""

from __future__ import annotations

import importlib.util
import json
import shutil
import zlib

import pyarrow.parquet as pq
import pytest

from curation.stages import segment as segment_stage
from curation.stages import select as select_stage
from curation.stages import verify as verify_stage

from .._cot_helpers import LONG_COT_TEACHER, demo_rows, make_ctx, queries_and_traces_from_demo, seed_store

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("verifiers.math") is None, reason="verifiers.math not built yet"),
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    rows = demo_rows()
    problems = sorted({r["problem"] for r in rows})[:20]  # 20 x 5 teachers; 2 of the long-CoT traces simplify
    queries, traces = queries_and_traces_from_demo([r for r in rows if r["problem"] in problems])
    tmp = tmp_path_factory.mktemp("run")
    seed_store(tmp, queries, traces)
    for name, up in (
        ("verify", ["collect", "distill"]),
        ("segment", ["collect", "distill", "verify"]),
        ("select", ["collect", "distill", "verify", "segment"]),
    ):
        ctx = make_ctx(tmp, name, up)
        {"verify": verify_stage, "segment": segment_stage, "select": select_stage}[name].run(ctx)
        (tmp / f"{name}.stats.json").write_text(json.dumps(ctx.stats))
    return tmp


def test_segment_stage_writes_structure_and_simplifications(run_dir):
    t = pq.read_table(run_dir / "stages" / "segment" / "traces").to_pylist()
    assert len(t) == 100 and len({r["teacher"] for r in t}) == 5
    simplified = 0
    for r in t:
        text = r["reasoning"] or r["completion"]
        assert "".join(text[s["start"] : s["end"]] for s in r["segments"]) == text  # verbatim tiling
        d = json.loads(r["segment_details"])
        assert r["simplified_tokens"] <= r["reasoning_tokens"]
        if d.get("simplified"):
            simplified += 1
            assert r["verdict"] == "correct" and r["simplified_tokens"] < r["reasoning_tokens"]
            assert all(x["rule"] for x in d["removed"])
            assert d["simplified_verifies"] is True
        else:
            assert r["simplified_reasoning"] == text
    assert simplified > 0
    stats = json.loads((run_dir / "segment.stats.json").read_text())
    long_cot = stats["per_teacher"][LONG_COT_TEACHER]
    assert long_cot["approaches_per_trace"] > 1 and long_cot["verification_char_share"] > 0
    assert stats["tokenizer"]


def test_simplified_traces_still_verify_independently(run_dir):
    from verifiers.math import verify_batch

    t = pq.read_table(run_dir / "stages" / "segment" / "traces").to_pylist()
    q = {r["query_id"]: r for r in pq.read_table(run_dir / "stages" / "collect" / "queries").to_pylist()}
    changed = [r for r in t if r["simplified_reasoning"] != (r["reasoning"] or r["completion"])]
    assert changed
    pairs = [
        (
            q[r["query_id"]]["reference_answer"],
            r["simplified_reasoning"] + ("\n\n" + r["answer"] if r["reasoning"] else ""),
        )
        for r in changed
    ]
    assert all(v.equivalent for v in verify_batch(pairs, workers=1))


def test_select_after_segment_writes_pairs_and_keeps_negatives(run_dir):
    sel = pq.read_table(run_dir / "stages" / "select" / "traces").to_pylist()
    assert len(sel) == 100  # no filter enabled: nothing removed
    labels = {r["label"] for r in sel}
    assert {"positive", "negative"} <= labels
    pairs = pq.read_table(run_dir / "stages" / "select" / "pairs").to_pylist()
    ids = {r["trace_id"]: r for r in sel}
    assert pairs
    for p in pairs:
        assert ids[p["chosen_trace_id"]]["label"] == "positive" and ids[p["rejected_trace_id"]]["label"] == "negative"
        assert ids[p["chosen_trace_id"]]["query_id"] == p["query_id"] == ids[p["rejected_trace_id"]]["query_id"]


def test_cli_segment_on_any_jsonl(tmp_path):
    from typer.testing import CliRunner

    from curation.cli import app

    src = tmp_path / "in.jsonl"
    rows = [r for r in demo_rows() if r["teacher"] in (LONG_COT_TEACHER, "google/gemma-2-27b-it")][:6]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.parquet"
    res = CliRunner().invoke(
        app, ["segment", str(src), "--out", str(out), "--reasoning-field", "response", "--tokenizer", "regex"]
    )
    assert res.exit_code == 0, res.output
    t = pq.read_table(out).to_pylist()
    assert len(t) == 6 and t[0]["trace_id"] == rows[0]["trace_id"]
    for r in t:
        assert r["segments"] and r["simplified_reasoning"] is not None and r["reasoning_tokens"] > 0
    bad = CliRunner().invoke(app, ["segment", str(src), "--out", str(out), "--reasoning-field", "nope"])
    assert bad.exit_code != 0 and "nope" in str(bad.exception or bad.output)
    rules = tmp_path / "rules.parquet"
    res = CliRunner().invoke(
        app,
        [
            "segment",
            str(src),
            "--out",
            str(rules),
            "--reasoning-field",
            "response",
            "--tokenizer",
            "regex",
            "--segmenter",
            "heuristic",
        ],
    )
    assert res.exit_code == 0, res.output
    details = [json.loads(r["segment_details"]) for r in pq.read_table(rules).to_pylist()]
    assert {d["segmenter"] for d in details} == {"heuristic"}
    assert {json.loads(r["segment_details"])["segmenter"] for r in t} == {"crf"}
    wrong = CliRunner().invoke(app, ["segment", str(src), "--out", str(rules), "--segmenter", "magic"])
    assert wrong.exit_code != 0 and "segmenter" in str(wrong.exception or wrong.output)


# --- DLCoT label2: the calculation-error judge (segment.error_judge_teacher) over a real local server ----------
NOT_IN_ANY_TRACE = "Therefore 17 * 3 = 52, which settles it."


def _attempt(prompt: str) -> str:
    return prompt.split("Attempt:\n<<<\n", 1)[1].split("\n>>>\n\nReply with one JSON object", 1)[0]


def _quotable(attempt: str) -> str | None:
    """A line of the attempt, not all of it, that occurs once in it and states no boxed answer (a harmless cut)."""
    for line in attempt.splitlines():
        line = line.strip()
        if 30 <= len(line) < len(attempt) and "boxed" not in line and attempt.count(line) == 1:
            return line
    return None


def _mode(attempt: str) -> int:
    """0 no error; 1 a valid quote; 2 a quote not in the approach, then a valid one; 3 never a valid quote."""
    return 0 if _quotable(attempt) is None else zlib.crc32(attempt.encode()) % 4


def error_judge_reply(prompt: str, i: int) -> str:
    attempt = _attempt(prompt)
    mode, line = _mode(attempt), _quotable(attempt)
    if mode == 0:
        return '```json\n{"error": false, "quote": null, "reason": "all steps hold"}\n```'
    if mode == 1 or (mode == 2 and "could not be used" in prompt):
        spaced = "  ".join(line.split())  # whitespace differs from the original: still the same passage
        return f'Found one.\n{{"error": true, "quote": {json.dumps(spaced)}, "reason": "slip"}}'
    return json.dumps({"error": True, "quote": NOT_IN_ANY_TRACE, "reason": "invented"})


def test_error_judge_quotes_become_cut_spans_and_resume_asks_nothing(run_dir, tmp_path, openai_server):
    from .._cot_helpers import openai_teacher

    for stage in ("collect", "distill", "verify"):  # the fixture's verified traces, segmented again with a judge
        shutil.copytree(run_dir / "stages" / stage, tmp_path / "stages" / stage)
    srv = openai_server(answer=error_judge_reply)
    seg = {"tokenizer": "regex", "cluster": "none", "error_judge_teacher": "judge", "llm_retries": 1}

    def run():
        ctx = make_ctx(
            tmp_path, "segment", ["collect", "distill", "verify"], teachers=[openai_teacher(srv.base_url)], segment=seg
        )
        segment_stage.run(ctx)
        return ctx, pq.read_table(tmp_path / "stages" / "segment" / "traces").to_pylist()

    ctx, rows = run()
    expected_prompts, labelled, cut = set(), 0, 0
    for r in rows:
        text, d = r["reasoning"] or r["completion"], json.loads(r["segment_details"])
        summary = d["error_judge"]
        if r["verdict"] != "correct":
            assert summary == {"skipped": "trace_not_eligible"}
            assert all("calc_error" not in a for a in d["approaches"])
            continue
        if "skipped" in summary:
            assert summary["skipped"] == "no_correct_approach"
            continue
        assert summary["asked"] == len(d["approaches"])
        item_of = {it["approach"]: it["item"] for it in d["items"] if it["kind"] == "approach"}
        for a in d["approaches"]:
            spans = [
                (s["start"], s["end"])
                for s in r["segments"]
                if s["kind"] == "approach" and s["approach"] == a["approach"]
            ]
            attempt = "".join(text[x:y] for x, y in spans).strip()
            mode = _mode(attempt)
            expected_prompts.add((r["query_id"], attempt))
            if mode == 2:
                expected_prompts.add((r["query_id"], attempt, "retry"))
            if mode == 3:
                expected_prompts.add((r["query_id"], attempt, "retry"))
                assert a["calc_error"] is None and "does not occur in the attempt" in a["error_judge_dropped"]
                dropped = [x for x in summary["dropped"] if x["approach"] == a["approach"]]
                assert dropped and dropped[0]["attempts"] == 2 and len(dropped[0]["reasons"]) == 2
                continue
            labelled += 1
            if mode == 0:
                assert a["calc_error"] is False and a["error_span"] is None
                continue
            x, y = a["error_span"]
            assert a["calc_error"] is True and text[x:y] == a["error_quote"] == _quotable(attempt)
            assert any(s <= x and y <= e for s, e in spans)  # offsets inside this approach, mapped exactly
            whole = [m for m in d["removed"] if m["item"] == item_of[a["approach"]] and m["rule"] != "error_span"]
            if not whole:  # a surviving approach loses only the quoted span
                assert {"start": x, "end": y, "rule": "error_span", "item": item_of[a["approach"]]} in d["removed"]
                if d["simplified"]:
                    assert len(r["simplified_reasoning"]) <= len(text) - (y - x)
                    cut += 1
    assert labelled and cut, "the fixture traces should give quoted errors that get cut"
    assert len(srv.prompts()) == len(expected_prompts)  # one request per distinct question and retry
    assert ctx.stats["llm_requests"]["judge"]["sent"] == len(expected_prompts)
    assert ctx.stats["llm_requests"]["judge"]["generate_calls"] == 2  # one batch of traces: first asks + one retry

    before = {r["trace_id"]: (r["segment_details"], r["simplified_reasoning"]) for r in rows}
    ctx.store.reset_stage("segment", keep_cache=True)
    ctx, rows = run()
    assert len(srv.prompts()) == len(expected_prompts) and ctx.stats["llm_requests"]["judge"]["sent"] == 0
    assert {r["trace_id"]: (r["segment_details"], r["simplified_reasoning"]) for r in rows} == before


def test_error_judge_teacher_must_be_in_teachers(tmp_path):
    from curation.errors import UserError

    ctx = make_ctx(tmp_path, "segment", ["collect", "distill", "verify"], segment={"error_judge_teacher": "nobody"})
    with pytest.raises(UserError, match=r"segment.error_judge_teacher: teacher 'nobody' is not in `teachers:`"):
        segment_stage.run(ctx)
