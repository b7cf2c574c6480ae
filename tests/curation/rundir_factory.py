"""Builds realistic run directories for the audit/export/push tests, without the upstream stages.

The distill/verify/segment/select stages are built by other people; these tests must not depend on them. So we
write the tables those stages produce (records.SELECTED_TRACES columns), from real model outputs
(tests/data/audit_export, SkyThought Apache-2.0 rows), with RunStore.write_part + write_lock + refresh_catalog.
Tokens are counted with a word/punctuation regex (a stand-in for a tokenizer, stated here so nobody reads the
counts as model tokens).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import pyarrow as pa

from curation import records
from curation.runner import STAGES
from curation.store import RunStore

DATA = Path(__file__).resolve().parents[1] / "data" / "audit_export" / "math500_5teachers.jsonl"
_TOK = re.compile(r"\w+|[^\w\s]")
SAMPLING = {"max_new_tokens": 4096, "n": 1, "seed": 0, "temperature": 0.0, "top_p": 1.0}


def ntok(text: str | None) -> int:
    return len(_TOK.findall(text or ""))


def short_name(model: str) -> str:
    return model.split("/")[-1]


def load_rows() -> list[dict]:
    return [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]


def _split(response: str) -> tuple[str, str]:
    """Reasoning = everything before the last paragraph, answer = the last paragraph (no think tags here)."""
    paras = [p for p in response.strip().split("\n\n") if p.strip()]
    if len(paras) < 2:
        return "", response.strip()
    return "\n\n".join(paras[:-1]), paras[-1]


def _segments(reasoning: str, correct: bool) -> tuple[list[dict], str]:
    """Heuristic DLCoT-style segmentation (first paragraph = understanding, cue phrases open approaches or checks)."""
    segs, pos, approach = [], 0, 0
    kept = []
    for i, para in enumerate(reasoning.split("\n\n")):
        start = reasoning.find(para, pos)
        end = start + len(para)
        pos = end
        low = para.lower()
        if i == 0:
            kind, app = "understanding", None
        elif re.match(r"(alternatively|another (way|approach)|let me try)", low):
            approach += 1
            kind, app = "approach", approach
        elif re.search(r"\b(verify|check|double-check|wait)\b", low):
            kind, app = "verification", max(approach, 1)
        else:
            if approach == 0:
                approach = 1
            kind, app = "approach", approach
        segs.append({"kind": kind, "start": start, "end": end, "approach": app, "verdict": None})
        if kind != "verification":
            kept.append(para)
    last = max((s["approach"] or 0) for s in segs) if segs else 0
    for s in segs:
        if s["kind"] == "approach":
            s["verdict"] = ("correct" if correct else "incorrect") if s["approach"] == last else "incomplete"
    return segs, "\n\n".join(kept)


def build_run(
    root: Path,
    *,
    segments: bool = True,
    select: bool = True,
    teachers: list[str] | None = None,
    extra_manifest: dict | None = None,
) -> RunStore:
    """Write a finished run (collect → … → select) into `root` and return its store."""
    rows = load_rows()
    if teachers is not None:
        rows = [r for r in rows if short_name(r["teacher"]) in teachers]
    store = RunStore(root)
    root.mkdir(parents=True, exist_ok=True)

    queries: dict[str, dict] = {}
    for r in rows:
        qid = records.query_id(r["problem"])
        queries.setdefault(
            qid,
            {
                "query_id": qid,
                "problem": r["problem"],
                "domain": "math",
                "source": "math500_sample",
                "source_id": r["problem_id"],
                "reference_answer": r["reference_answer"],
                "tests": None,
                "metadata": records.canonical_json({"license": "MIT", "subject": "algebra"}),
            },
        )
    q_table = pa.Table.from_pylist(list(queries.values()), schema=records.QUERIES)
    store.write_part("collect", "queries", q_table)
    store.write_part(
        "collect",
        "removed",
        records.conform(
            pa.Table.from_pylist(
                [
                    {
                        "stage": "collect",
                        "reason": "empty_problem",
                        "source": "math500_sample",
                        "location": "x.jsonl:7",
                        "evidence": records.canonical_json({"detail": "field 'problem' is missing or empty"}),
                    },
                ]
            ),
            records.REMOVED,
        ),
    )
    qids = list(queries)
    store.write_part("dedup", "queries", q_table)
    store.write_part(
        "dedup",
        "removed",
        records.conform(
            pa.Table.from_pylist(
                [
                    {
                        "query_id": "dup0000000000001",
                        "stage": "dedup",
                        "reason": "near_duplicate",
                        "source": "math500_sample",
                        "evidence": records.canonical_json({"kept": qids[0], "similarity": 0.93}),
                        "problem": "near copy",
                    },
                    {
                        "query_id": "dup0000000000002",
                        "stage": "dedup",
                        "reason": "exact_duplicate",
                        "source": "math500_sample",
                        "evidence": records.canonical_json({"kept": qids[1]}),
                        "problem": "exact copy",
                    },
                ]
            ),
            records.REMOVED,
        ),
    )
    store.write_part("decontaminate", "queries", q_table)
    store.write_part(
        "decontaminate",
        "removed",
        records.conform(
            pa.Table.from_pylist(
                [
                    {
                        "query_id": f"cont00000000000{i}",
                        "stage": "decontaminate",
                        "reason": "contaminated",
                        "source": "math500_sample",
                        "problem": f"benchmark item {i}",
                        "evidence": records.canonical_json(
                            {"benchmark": b, "benchmark_id": f"{b}-{i}", "method": "ngram", "similarity": 1.0}
                        ),
                    }
                    for i, b in enumerate(["amc23", "amc23", "amc23", "aime24"])
                ]
            ),
            records.REMOVED,
        ),
    )

    traces = []
    for r in rows:
        qid = records.query_id(r["problem"])
        teacher = short_name(r["teacher"])
        reasoning, answer = _split(r["response"])
        truncated = "\\boxed" not in r["response"]
        traces.append(
            {
                "trace_id": records.trace_id(qid, teacher, 0, SAMPLING),
                "query_id": qid,
                "teacher": teacher,
                "model": r["teacher"],
                "backend": "replay",
                "sample_index": 0,
                "sampling": records.canonical_json(SAMPLING),
                "messages": json.dumps([{"role": "user", "content": r["problem"]}]),
                "completion": r["response"],
                "reasoning": reasoning,
                "answer": answer,
                "finish_reason": "length" if truncated else "stop",
                "prompt_tokens": ntok(r["problem"]),
                "completion_tokens": ntok(r["response"]),
                "latency_s": 0.0,
                "error": None,
                "verdict": "truncated" if truncated else ("correct" if r["is_correct_math_verify"] else "incorrect"),
                "extracted_answer": r["pred_answer_source"],
                "verifier": "math",
                "score": 1.0 if r["is_correct_math_verify"] else 0.0,
                "verify_details": "{}",
            }
        )
    store.write_part(
        "distill",
        "traces",
        records.conform(
            pa.Table.from_pylist([{k: v for k, v in t.items() if k in records.TRACES.names} for t in traces]),
            records.TRACES,
        ),
    )
    store.write_part("verify", "traces", records.conform(pa.Table.from_pylist(traces), records.VERIFIED_TRACES))
    done = ["collect", "dedup", "decontaminate", "distill", "verify"]

    if segments:
        for t in traces:
            segs, simplified = _segments(t["reasoning"], t["verdict"] == "correct")
            t.update(
                {
                    "segments": segs,
                    "simplified_reasoning": simplified,
                    "reasoning_tokens": ntok(t["reasoning"]),
                    "simplified_tokens": ntok(simplified),
                    "segment_details": "{}",
                }
            )
        store.write_part("segment", "traces", records.conform(pa.Table.from_pylist(traces), records.SEGMENTED_TRACES))
        done.append("segment")

    if select:
        by_q: dict[str, list[dict]] = defaultdict(list)
        for t in traces:
            by_q[t["query_id"]].append(t)
        pairs = []
        for qid, ts in by_q.items():
            rate = sum(t["verdict"] == "correct" for t in ts) / len(ts)
            for t in ts:
                t["label"] = {"correct": "positive", "incorrect": "negative"}.get(t["verdict"], t["verdict"])
                t["pass_rate"], t["difficulty"] = rate, 1.0 - rate
            pos = [t for t in ts if t["label"] == "positive"]
            neg = [t for t in ts if t["label"] == "negative"]
            if pos and neg:
                pairs.append(
                    {
                        "query_id": qid,
                        "chosen_trace_id": pos[0]["trace_id"],
                        "rejected_trace_id": neg[0]["trace_id"],
                        "strategy": "first",
                        "chosen_teacher": pos[0]["teacher"],
                        "rejected_teacher": neg[0]["teacher"],
                    }
                )
        schema = (
            records.SELECTED_TRACES if segments else records.extend(records.VERIFIED_TRACES, records.SELECT_COLUMNS)
        )
        store.write_part("select", "traces", records.conform(pa.Table.from_pylist(traces), schema))
        store.write_part("select", "pairs", pa.Table.from_pylist(pairs, schema=records.PAIRS))
        done.append("select")

    teacher_models = sorted({(short_name(r["teacher"]), r["teacher"]) for r in rows})
    manifest = {
        "name": "fixture",
        "description": "audit/export test run (SkyThought MATH-500 outputs)",
        "sources": [
            {
                "name": "math500_sample",
                "kind": "jsonl",
                "path": "data/math500_sample.jsonl",
                "domain": "math",
                "license": "MIT",
            }
        ],
        "teachers": [{"name": n, "backend": "replay", "model": m} for n, m in teacher_models],
        "decontaminate": {"enabled": True, "benchmarks": ["amc23", "aime24", "math500"]},
        "dedup": {"enabled": True, "exact": True, "near": True, "semantic": False},
        "export": {"formats": ["hf"]},
        **(extra_manifest or {}),
    }
    lock = {
        "cotforge_version": "0.1.0",
        "manifest": manifest,
        "versions": {"cotforge": "0.1.0"},
        "stages": {s: {"status": "done" if s in done else "disabled", "fingerprint": "x"} for s in STAGES},
        "finished": "2025-01-01T00:00:00+00:00",
    }
    for s in done:
        lock["stages"][s]["rows"] = {t: store.count(s, t) for t in store.tables(s)}
    store.write_lock(lock)
    store.refresh_catalog(done)
    return store
