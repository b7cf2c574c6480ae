"""segment: DLCoT structure of every trace's reasoning, approach verdicts, clusters, simplified reasoning.

Adds records.SEGMENT_COLUMNS to `traces` (nothing is removed): `segments` (verbatim spans that tile
`reasoning`), `simplified_reasoning` (= `reasoning` when nothing was simplified), token counts before/after, and
`segment_details` (approach answers/verdicts and, with `error_judge_teacher`, calculation-error labels with
their quoted spans; clusters, which rule removed which span, fallbacks, tokenizer). Per-teacher structure stats
go to the lock file (approaches per trace, verification share, reduction). The LLM steps share one request
cache under the stage's cache dir, so a re-run re-asks nothing already answered.
"""

from __future__ import annotations

import json
from collections import defaultdict
from statistics import mean
from typing import Any

import pyarrow as pa

from .. import records
from ..config.segment import SegmentConfig
from ..cot.pipeline import DLCoT, Generators, TraceIn
from ..cot.tokens import get_counter
from ..stage import StageContext

SAMPLING = {"temperature": 0.1, "max_tokens": 2048}


def _teacher_keys(cfg: SegmentConfig) -> dict[str, str]:
    """Manifest key → teacher name, for every LLM step that is on."""
    keys = {
        "segment.segmenter_teacher": cfg.segmenter_teacher if cfg.segmenter == "llm" else None,
        "segment.cluster_teacher": cfg.cluster_teacher if cfg.cluster == "llm" else None,
        "segment.simplify.rewrite_teacher": cfg.simplify.rewrite_teacher if cfg.simplify.rewrite == "llm" else None,
        "segment.error_judge_teacher": cfg.error_judge_teacher,
        "segment.chunking.teacher": cfg.chunking.teacher if cfg.chunking.enabled else None,
    }
    return {k: v for k, v in keys.items() if v is not None}


def fingerprint_config(manifest) -> Any:
    """The section, plus the entries of the teachers it asks: another model means other segments."""
    cfg = manifest.segment
    if cfg is None:
        return None
    used = set(_teacher_keys(cfg).values())
    d = cfg.model_dump(mode="json")
    return {**d, "teachers": [t.model_dump(mode="json") for t in manifest.teachers if t.name in used]} if used else d


def _generators(llms: dict) -> Generators:
    judge = llms.get("segment.error_judge_teacher")
    return Generators(
        segment=llms.get("segment.segmenter_teacher"),
        cluster=llms.get("segment.cluster_teacher"),
        rewrite=llms.get("segment.simplify.rewrite_teacher"),
        error_judge=None if judge is None else judge.replies,
    )


def to_inputs(rows: list[dict], qinfo: dict[str, dict]) -> list[TraceIn]:
    out = []
    for r in rows:
        q = qinfo.get(r["query_id"], {})
        text = r.get("reasoning")
        if not text:
            text = r.get("completion")
        verdict = r.get("verdict")
        correct = None if verdict is None else verdict == "correct"
        ref = q.get("reference_answer") if q.get("domain") == "math" else None
        out.append(TraceIn(text, q.get("problem"), ref, correct, r.get("answer") if r.get("reasoning") else None))
    return out


def batch_size(manifest) -> int | None:
    cfg = manifest.segment
    return None if cfg is None else cfg.batch_size


def resources(manifest):
    from . import Resources

    cfg = manifest.segment
    return Resources(cpus=1 if cfg is None else cfg.workers)


class SegmentBatches:
    """segment's batch function (see `curation.executors`): small and picklable until `setup` loads the
    segmenter, the token counter and any LLM teachers in whichever process runs the batches. A Long⊗Short chunk
    budget is spent in row order, so with one the batches run in order."""

    def __init__(self, cfg: SegmentConfig, qinfo: dict[str, dict], manifest: Any, cache_dir: Any):
        self.cfg, self.qinfo, self.cache_dir = cfg, qinfo, cache_dir
        self.keys = _teacher_keys(cfg)
        self.manifest = manifest if self.keys else None
        self.ordered = cfg.chunking.enabled and cfg.chunking.max_traces is not None
        self.pool: Any = None
        self.proc: Any = None
        self.chunked = self.reported = 0

    def setup(self) -> None:
        from ..llm import TeacherPool

        if self.proc is not None:
            return
        self.pool = TeacherPool(self.manifest, self.cache_dir)
        llms = {k: self.pool.llm(name, k, SAMPLING) for k, name in self.keys.items()}  # bad names fail first
        self.counter = get_counter(self.cfg.tokenizer, str(self.cache_dir))
        self.proc = DLCoT(self.cfg, _generators(llms), counter=self.counter)
        self.rollouts = llms.get("segment.chunking.teacher")

    def __call__(self, chunk: pa.Table) -> pa.Table:
        limit = self.cfg.chunking.max_traces
        out, n = segment_chunk(
            chunk,
            self.qinfo,
            self.cfg,
            self.proc,
            self.counter,
            self.rollouts,
            budget=None if limit is None else limit - self.chunked,
        )
        self.chunked += n
        return out

    def take_stats(self) -> dict[str, int]:
        n, self.reported = self.chunked - self.reported, self.chunked
        return {"chunked": n}

    def close(self) -> dict[str, Any]:
        """Closes the pool; its request stats (empty when the batches ran elsewhere)."""
        if self.pool is None:
            return {}
        stats = self.pool.stats() if any(llm.stats["prompts"] for llm in self.pool.llms) else {}
        self.pool.close()
        self.pool = None
        return stats

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "pool": None, "proc": None, "counter": None, "rollouts": None}


def run(ctx: StageContext) -> None:
    cfg: SegmentConfig = ctx.config
    queries = ctx.read("queries", records.QUERIES)
    qinfo = {
        q["query_id"]: q for q in queries.select(["query_id", "domain", "reference_answer", "problem"]).to_pylist()
    }
    fn = SegmentBatches(cfg, qinfo, ctx.manifest, ctx.cache_dir)
    fn.setup()  # bad teacher names and tokenizers fail here, before any batch
    try:
        ctx.map_batches("traces", fn, cfg.batch_size, schema=records.VERIFIED_TRACES, description="segmenting")
    finally:
        llm_stats = fn.close()
    if llm_stats:
        ctx.stats["llm_requests"] = llm_stats
    cols = ["teacher", "segments", "segment_details", "reasoning_tokens", "simplified_tokens"]
    ctx.stats.update(structure_stats([r for part in ctx.iter_output("traces", cols) for r in part.to_pylist()]))
    ctx.stats["tokenizer"] = fn.counter.name


def segment_chunk(
    chunk: pa.Table, qinfo: dict[str, dict], cfg: SegmentConfig, proc: DLCoT, counter, rollouts, budget: int | None
) -> tuple[pa.Table, int]:
    """One batch of traces with records.SEGMENT_COLUMNS set, and how many traces got Long⊗Short chunks (at most
    `budget`, when given)."""
    inputs = to_inputs(chunk.to_pylist(), qinfo)
    outs = proc.process(inputs)
    chunked = _chunk(cfg, rollouts, inputs, outs, counter, budget) if cfg.chunking.enabled else 0
    cols = {
        "segments": pa.array([o.segments for o in outs], records.SEGMENT_COLUMNS[0].type),
        "simplified_reasoning": pa.array([o.simplified for o in outs], pa.string()),
        "reasoning_tokens": pa.array([o.reasoning_tokens for o in outs], pa.int32()),
        "simplified_tokens": pa.array([o.simplified_tokens for o in outs], pa.int32()),
        "segment_details": pa.array([records.canonical_json(o.details) for o in outs], pa.string()),
    }
    return records.replace_columns(chunk, records.SEGMENT_COLUMNS, cols, records.SEGMENTED_TRACES), chunked


def _chunk(cfg: SegmentConfig, gen, inputs: list[TraceIn], outs, counter, budget: int | None) -> int:
    """Long⊗Short chunks + MC importance for correct math traces, stored in segment_details['chunks']."""
    from ..cot.chunk import chunk_spans, importance
    from ..cot.segment import Segment
    from ..cot.verify import check_pairs

    done = 0
    for t, o in zip(inputs, outs):
        if budget is not None and done >= budget:
            break
        if not (t.correct and t.reference and t.text):
            continue
        spans = chunk_spans([Segment(**s) for s in o.segments], cfg.chunking.max_chunks)
        sizes = counter.count([t.text[a:b] for a, b in spans])
        ref = t.reference
        o.details["chunks"] = importance(
            t.problem or "",
            t.text,
            spans,
            gen,
            lambda texts: check_pairs([(ref, x) for x in texts], cfg.workers, cfg.timeout_ms),
            k=cfg.chunking.rollouts,
            token_counts=sizes,
        )
        done += 1
    return done


def structure_stats(rows: list[dict]) -> dict[str, Any]:
    """Per-teacher DLCoT structure (methods.md §1 'what to measure')."""
    by: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by[r["teacher"]].append(r)
    per = {}
    for teacher, rs in sorted(by.items()):
        napp, nver, vshare, first_ok, red, verifies, simplified = [], [], [], [], [], [], 0
        for r in rs:
            segs = r.get("segments") or []
            d = json.loads(r["segment_details"]) if r.get("segment_details") else {}
            approaches = d.get("approaches", [])
            napp.append(len({s["approach"] for s in segs if s["kind"] == "approach"}))
            nver.append(sum(s["kind"] == "verification" for s in segs))
            total = sum(s["end"] - s["start"] for s in segs)
            if total:
                vshare.append(sum(s["end"] - s["start"] for s in segs if s["kind"] == "verification") / total)
            if approaches and approaches[0]["verdict"] in ("correct", "incorrect", "incomplete"):
                first_ok.append(approaches[0]["verdict"] == "correct")
            if d.get("trace_correct") and r.get("reasoning_tokens"):
                red.append(1 - r["simplified_tokens"] / r["reasoning_tokens"])
                if d.get("simplified"):
                    simplified += 1
            if "simplified_verifies" in d and d["simplified_verifies"] is not None:
                verifies.append(bool(d["simplified_verifies"]))
        per[teacher] = {
            "traces": len(rs),
            "approaches_per_trace": round(mean(napp), 3) if napp else None,
            "verification_steps_per_trace": round(mean(nver), 3) if nver else None,
            "verification_char_share": round(mean(vshare), 4) if vshare else None,
            "first_approach_correct": round(mean(first_ok), 4) if first_ok else None,
            "correct_traces": len(red),
            "simplified_traces": simplified,
            "mean_token_reduction_correct": round(mean(red), 4) if red else None,
            "simplification_attempts_verifying": round(mean(verifies), 4) if verifies else None,
            "note": "simplified_reasoning always verifies: an attempt that fails keeps the original",
        }
    return {"per_teacher": per}
