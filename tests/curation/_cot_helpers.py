"""Shared helpers for the verify/segment/select tests: real traces and a StageContext over a temp RunStore."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import yaml

from curation import manifest as manifest_mod
from curation import records
from curation.stage import StageContext
from curation.store import RunStore

LABELLED = Path(__file__).resolve().parents[1] / "data" / "segmentation" / "skythought_labelled.jsonl"
# Real traces bundled with the repo (5 models x 40 MATH-500 problems, SkyThought outputs, Apache-2.0).
DEMO = Path(__file__).resolve().parents[2] / "manifests" / "data" / "traces" / "skythought_math500_40.jsonl.gz"
LONG_COT_TEACHER = "Sky-T1-math-correct-5K-27B"

MANIFEST = """
name: t
sources: [{name: s, kind: jsonl, path: q.jsonl}]
verify: {workers: 1}
segment: {tokenizer: regex}
select: {}
"""


def labelled() -> list[dict]:
    return [json.loads(line) for line in LABELLED.open()]


def demo_rows() -> list[dict]:
    with gzip.open(DEMO, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def make_ctx(tmp: Path, name: str, upstream: list[str], extra_yaml: str = "", **sections) -> StageContext:
    """`sections` replace whole top-level manifest sections (e.g. verify={...}, teachers=[...])."""
    data = {**yaml.safe_load(MANIFEST + extra_yaml), **sections}
    m = manifest_mod.loads(yaml.safe_dump(data), check_files=False)
    return StageContext(
        name=name,
        manifest=m,
        config=getattr(m, name, None),
        store=RunStore(tmp),
        upstream=upstream,
        options={"quiet": True},
    )


def openai_teacher(base_url: str, name: str = "judge") -> dict:
    """A `teachers:` entry for a fake OpenAI server: no client-side retries, so scripted faults show at once."""
    return {
        "name": name,
        "backend": "openai",
        "model": f"{name}-model",
        "generation": {"max_tokens": 64},
        "openai": {"base_url": base_url, "max_retries": 0, "backoff_initial_s": 0},
    }


def seed_store(tmp: Path, queries: list[dict], traces: list[dict]) -> RunStore:
    """Write `queries` (as collect) and `traces` (as distill) parts, the tables the verify stage reads."""
    store = RunStore(tmp)
    store.write_part("collect", "queries", records.conform(pa.Table.from_pylist(queries), records.QUERIES))
    store.write_part("distill", "traces", records.conform(pa.Table.from_pylist(traces), records.TRACES))
    return store


def trace_row(
    qid: str,
    teacher: str,
    i: int,
    completion: str | None,
    reasoning: str | None = None,
    answer: str | None = None,
    finish: str = "stop",
    error: str | None = None,
) -> dict:
    return {
        "trace_id": records.trace_id(qid, teacher, i, {}),
        "query_id": qid,
        "teacher": teacher,
        "sample_index": i,
        "sampling": "{}",
        "completion": completion,
        "reasoning": reasoning,
        "answer": answer,
        "finish_reason": finish,
        "error": error,
        "completion_tokens": len((completion or "").split()),
    }


def queries_and_traces_from_demo(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The shared demo traces as pipeline rows: one query per problem, one trace per (problem, teacher)."""
    queries, traces, seen = [], [], {}
    for r in rows:
        qid = records.query_id(r["problem"])
        if qid not in seen:
            seen[qid] = True
            queries.append(
                {
                    "query_id": qid,
                    "problem": r["problem"],
                    "domain": "math",
                    "source": "demo",
                    "reference_answer": r["reference_answer"],
                }
            )
        text = r["response"]
        for close in ("</think>", "<|end_of_thought|>"):
            if close in text:
                reasoning, answer = text.split(close, 1)
                break
        else:
            reasoning, answer = "", text
        traces.append(trace_row(qid, r["teacher"], 0, text, reasoning or None, answer))
    return queries, traces
