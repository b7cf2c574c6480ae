"""distill: ask every teacher for n samples per query (or replay a dataset's traces) into one `traces` table.

Resume works at two levels. Every answer is appended to the request cache (`cache/distill/requests-*.jsonl`) the
moment it arrives, keyed by model identity + rendered prompt + params + sample indices, so a killed run re-sends
only what is missing or failed. Traces are written in keyed parts of `distill.batch_size` requests; a part is
written once all its requests are answered, so a resumed stage skips finished parts without even building a
backend. Failed requests are counted by kind in `report/distill_failures.json`; by default the stage then fails
(re-running retries only those), with `allow_failures: true` they stay as traces with `error` set.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from typing import Any

import pyarrow as pa

from .. import records
from ..config.distill import TeacherConfig
from ..errors import UserError
from ..manifest import Manifest
from ..stage import StageContext
from ..store import atomic_write_json
from ..teachers import make_backend
from ..teachers.base import Request, Result
from ..teachers.cache import RequestCache
from ..teachers.parsing import split_reasoning
from ..teachers.replay import ReplayRow, iter_replay
from ..teachers.requests import build_requests, resolve_local_paths
from ..teachers.tokens import token_counter
from ..text.basic import normalize_text

EXAMPLES = 5


def enabled(manifest: Manifest) -> bool:
    return manifest.distill is not None and manifest.distill.enabled


def selected_teachers(manifest: Manifest) -> list[TeacherConfig]:
    cfg = manifest.distill
    if not manifest.teachers:
        raise UserError(
            "distill: the manifest has a `distill:` section but no `teachers:`; add at least one teacher "
            "(backend: vllm | openai | transformers | replay)"
        )
    if cfg is None or cfg.teachers is None:
        return list(manifest.teachers)
    by_name = {t.name: t for t in manifest.teachers}
    missing = [n for n in cfg.teachers if n not in by_name]
    if missing:
        raise UserError(f"distill.teachers: unknown teacher(s) {missing}; defined teachers: {sorted(by_name)}")
    return [by_name[n] for n in cfg.teachers]


def fingerprint_config(manifest: Manifest) -> Any:
    from ..store import file_fingerprint

    teachers = []
    for t in selected_teachers(manifest) if manifest.teachers else []:
        d = t.model_dump(mode="json")
        if t.replay is not None and t.replay.path is not None:
            p = manifest.resolve(t.replay.path)
            d["replay_file"] = file_fingerprint(p) if p.exists() else {"missing": str(p)}
        teachers.append(d)
    return {"teachers": teachers, "distill": manifest.distill.model_dump(mode="json") if manifest.distill else None}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


class Failures:
    """Every failed request, counted by kind and teacher, with a few examples (the failure report)."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self.by_teacher: dict[str, Counter[str]] = defaultdict(Counter)
        self.examples: list[dict[str, Any]] = []

    def add(self, teacher: str, query_id: str, res: Result) -> None:
        kind = res.error_kind or "unknown"
        self.by_kind[kind] += 1
        self.by_teacher[teacher][kind] += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(
                {
                    "teacher": teacher,
                    "query_id": query_id,
                    "kind": kind,
                    "error": (res.error or "")[:500],
                    "attempts": res.attempts,
                }
            )

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_kind": dict(self.by_kind),
            "by_teacher": {t: dict(c) for t, c in self.by_teacher.items()},
            "examples": self.examples,
        }


def _trace(
    teacher: str,
    model: str | None,
    backend: str,
    query_id: str,
    sample_index: int,
    sampling: Any,
    messages: list[dict[str, str]],
    completion: str | None,
    server_reasoning: str | None,
    finish_reason: str | None,
    tags: tuple[str, str] | None,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    latency_s: float | None,
    error: str | None = None,
    reasoning: str | None = None,
    answer: str | None = None,
    mean_logprob: float | None = None,
) -> dict[str, Any]:
    if error is not None:
        r, a, status = None, None, "failed"
    elif reasoning is not None or answer is not None:  # the data already split it (AM think/answer_content)
        parsed = split_reasoning(completion or "", tags, finish_reason)
        r = reasoning if reasoning is not None else parsed.reasoning
        a = answer if answer is not None else parsed.answer
        status = "truncated" if finish_reason == "length" else "ok"
    else:
        parsed = split_reasoning(completion or "", tags, finish_reason, server_reasoning)
        r, a, status = parsed.reasoning, parsed.answer, parsed.status
    sampling_s = records.canonical_json(sampling if sampling is not None else {})
    return {
        "trace_id": records.trace_id(query_id, teacher, sample_index, sampling_s),
        "query_id": query_id,
        "teacher": teacher,
        "model": model,
        "backend": backend,
        "sample_index": sample_index,
        "sampling": sampling_s,
        "messages": records.canonical_json(messages),
        "completion": completion,
        "reasoning": r,
        "answer": a,
        "finish_reason": finish_reason,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "latency_s": latency_s,
        "mean_logprob": mean_logprob,
        "error": error,
        "status": status,
    }


def _write(ctx: StageContext, rows: list[dict[str, Any]], key: str) -> None:
    ctx.write("traces", pa.Table.from_pylist(rows, schema=records.TRACES), key=key)


def _account(acc: dict[str, Any], row: dict[str, Any]) -> None:
    acc["traces"] += 1
    acc["prompt_tokens"] += row["prompt_tokens"] or 0
    acc["completion_tokens"] += row["completion_tokens"] or 0
    if row["status"] in ("truncated", "malformed", "failed"):
        acc[row["status"]] += 1
    if row["mean_logprob"] is not None:
        acc["with_mean_logprob"] += 1


def _new_acc(t: TeacherConfig, model: str | None) -> dict[str, Any]:
    return {
        "backend": t.backend,
        "model": model,
        "traces": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "truncated": 0,
        "malformed": 0,
        "failed": 0,
        "with_mean_logprob": 0,
    }


def _cost(acc: dict[str, Any], t: TeacherConfig) -> None:
    if t.prices is not None:
        acc["cost_usd"] = round(
            acc["prompt_tokens"] / 1e6 * t.prices.input_per_mtok
            + acc["completion_tokens"] / 1e6 * t.prices.output_per_mtok,
            6,
        )


# --- replay ----------------------------------------------------------------------------------------------------
def run_replay(
    ctx: StageContext,
    ti: int,
    t: TeacherConfig,
    by_problem: dict[str, str],
    by_source_id: dict[str, str],
    stats: dict[str, Any],
) -> None:
    r = t.replay
    assert r is not None
    counter = token_counter(t.tokenizer, t.revision) if t.tokenizer else None
    tags = ("<think>", "</think>")
    summary = {
        "rows": 0,
        "matched": 0,
        "unmatched": 0,
        "unreadable": 0,
        "unmatched_examples": [],
        "unreadable_examples": [],
    }
    accs: dict[str, dict[str, Any]] = {}
    seen: Counter[tuple[str, str]] = Counter()
    buf: list[dict[str, Any]] = []
    part = 0

    def flush() -> None:
        nonlocal part, buf
        key = f"{ti:02d}-replay-{part:06d}"
        if buf and not ctx.has_part("traces", key):
            _write(ctx, buf, key)
        part += 1
        buf = []

    with ctx.progress(f"replaying {t.name}") as advance:
        for item in iter_replay(t, ctx.manifest.base_dir):
            advance(1)
            if isinstance(item, tuple):
                summary["unreadable"] += 1
                if len(summary["unreadable_examples"]) < EXAMPLES:
                    summary["unreadable_examples"].append({"location": item[0], "detail": item[1]})
                continue
            row: ReplayRow = item
            summary["rows"] += 1
            if r.join == "source_id":
                qid = by_source_id.get(row.source_id or "")
            else:
                qid = by_problem.get(normalize_text(row.problem or "")) if row.problem else None
            if qid is None:
                summary["unmatched"] += 1
                if len(summary["unmatched_examples"]) < EXAMPLES:
                    summary["unmatched_examples"].append(
                        {
                            "location": row.location,
                            "teacher": row.teacher,
                            "source_id": row.source_id,
                            "problem": (row.problem or "")[:200],
                        }
                    )
                continue
            summary["matched"] += 1
            sample_index = seen[(row.teacher, qid)]
            seen[(row.teacher, qid)] += 1
            ctok = row.completion_tokens
            if ctok is None and counter is not None:
                ctok = counter(row.completion)
            sampling = {"replay": t.name, "source": row.sampling} if row.sampling is not None else {"replay": t.name}
            tr = _trace(
                row.teacher,
                row.teacher,
                "replay",
                qid,
                sample_index,
                sampling,
                [{"role": "user", "content": row.problem or ""}],
                row.completion,
                None,
                row.finish_reason,
                tags,
                None,
                ctok,
                None,
                reasoning=row.reasoning,
                answer=row.answer,
                mean_logprob=row.mean_logprob,
            )
            acc = accs.setdefault(row.teacher, _new_acc(t, row.teacher))
            _account(acc, tr)
            buf.append(tr)
            if len(buf) >= ctx.config.batch_size:
                flush()
        flush()
    if summary["unmatched"]:
        ctx.log(
            f"[yellow]replay {t.name!r}: {summary['unmatched']} of {summary['rows']} rows have no matching "
            f"query (join by {r.join}); see lock.json stages.distill.stats.replay[{t.name!r}][/]"
        )
    for name, acc in accs.items():
        _cost(acc, t)
        stats["teachers"][name] = acc
    stats["replay"][t.name] = summary


# --- live backends (requests, teacher identity: `teachers.requests`) ---------------------------------------
def _rows_for(t: TeacherConfig, req: Request, res: Result, counter: Any) -> list[dict[str, Any]]:
    gen = t.generation
    assert gen is not None
    if not res.ok:
        return [
            _trace(
                t.name,
                t.model,
                t.backend,
                req.query_id,
                i,
                req.sampling,
                req.messages,
                None,
                None,
                None,
                gen.think_tags,
                None,
                None,
                res.latency_s,
                error=f"{res.error_kind}: {res.error}",
            )
            for i in req.sample_indices
        ]
    prompt_tokens = res.prompt_tokens
    if prompt_tokens is None and counter is not None:
        prompt_tokens = counter(req.prompt or "\n".join(m["content"] for m in req.messages))
    rows = []
    by_index = {c.sample_index: c for c in res.choices}
    for i in req.sample_indices:
        c = by_index.get(i)
        if c is None:
            rows.append(
                _trace(
                    t.name,
                    t.model,
                    t.backend,
                    req.query_id,
                    i,
                    req.sampling,
                    req.messages,
                    None,
                    None,
                    None,
                    gen.think_tags,
                    prompt_tokens,
                    None,
                    res.latency_s,
                    error="missing_choice: the server returned fewer choices than asked",
                )
            )
            continue
        sampling = req.sampling if c.seed is None else dict(req.sampling, n=1, seed=c.seed)
        ctok = c.completion_tokens
        if ctok is None and counter is not None:
            ctok = counter((c.reasoning or "") + c.completion)
        rows.append(
            _trace(
                t.name,
                t.model,
                t.backend,
                req.query_id,
                i,
                sampling,
                req.messages,
                c.completion,
                c.reasoning,
                c.finish_reason,
                gen.think_tags,
                prompt_tokens,
                ctok,
                res.latency_s,
                mean_logprob=c.mean_logprob,
            )
        )
    return rows


def run_live(
    ctx: StageContext,
    ti: int,
    t: TeacherConfig,
    queries: list[dict[str, Any]],
    cache: RequestCache,
    failures: Failures,
    stats: dict[str, Any],
) -> None:
    cfg = ctx.config
    t = resolve_local_paths(t, ctx.manifest.base_dir)
    fail_fast = bool(ctx.options.get("fail_fast"))
    qs = [q for q in queries if t.sources is None or q["source"] in t.sources]
    if t.max_queries is not None:
        qs = qs[: t.max_queries]
    requests = build_requests(t, qs)
    chunks = [requests[i : i + cfg.batch_size] for i in range(0, len(requests), cfg.batch_size)]
    keys = [f"{ti:02d}-live-{c:06d}" for c in range(len(chunks))]
    todo_chunks = [c for c in range(len(chunks)) if not ctx.has_part("traces", keys[c])]
    pending = [r for c in todo_chunks for r in chunks[c]]
    to_send = [r for r in pending if r.key not in cache]
    run = {
        "queries": len(qs),
        "requests": len(requests),
        "parts_done_before": len(chunks) - len(todo_chunks),
        "cache_hits": len(pending) - len(to_send),
        "sent": len(to_send),
        "failed": 0,
    }
    counter = token_counter(t.tokenizer or t.model, t.revision) if t.backend != "openai" or t.tokenizer else None

    answers: dict[str, Result] = {}
    chunk_of = {r.key: c for c in todo_chunks for r in chunks[c]}
    remaining = {c: sum(1 for r in chunks[c] if r.key not in cache) for c in todo_chunks}
    acc = _new_acc(t, t.model)

    def emit(c: int) -> None:
        rows: list[dict[str, Any]] = []
        complete = True
        for r in chunks[c]:
            res = answers.get(r.key) or cache.get(r.key)
            if res is None:
                return
            if not res.ok and not cfg.allow_failures:
                complete = False
            rows.extend(_rows_for(t, r, res, counter))
        if complete:
            _write(ctx, rows, keys[c])

    for c in todo_chunks:
        if remaining[c] == 0:
            emit(c)
    if to_send:
        ctx.log(f"teacher {t.name!r} ({t.backend}): {len(to_send)} requests to send, {run['cache_hits']} cached")
        backend = make_backend(t)
        t0 = time.perf_counter()
        try:
            with ctx.progress(f"{t.name}", total=len(to_send)) as advance:
                by_key = {r.key: r for r in to_send}
                for res in backend.generate(to_send):
                    cache.put(res)
                    answers[res.key] = res
                    advance(1)
                    req = by_key[res.key]
                    if not res.ok:
                        run["failed"] += 1
                        failures.add(t.name, req.query_id, res)
                        if fail_fast:
                            raise UserError(
                                f"--fail-fast: teacher {t.name!r} request for query {req.query_id} "
                                f"failed ({res.error_kind}): {res.error}"
                            )
                    c = chunk_of[res.key]
                    remaining[c] -= 1
                    if remaining[c] == 0:
                        emit(c)
        finally:
            backend.close()
            cache.sync()
        run["seconds"] = round(time.perf_counter() - t0, 3)
        if hasattr(backend, "stats"):
            run.update(backend.stats)
    # Token accounting over every trace of this teacher (cached answers included).
    for c in range(len(chunks)):
        for r in chunks[c]:
            res = answers.get(r.key) or cache.get(r.key)
            if res is not None and (res.ok or cfg.allow_failures):
                for row in _rows_for(t, r, res, None):
                    _account(acc, dict(row, prompt_tokens=0, completion_tokens=0))
                # usage as the server/engine reported it (per request: prompt once, all choices)
                acc["prompt_tokens"] += res.prompt_tokens or 0
                acc["completion_tokens"] += res.completion_tokens or sum(
                    ch.completion_tokens or 0 for ch in res.choices
                )
    _cost(acc, t)
    acc["run"] = run
    stats["teachers"][t.name] = acc
    if t.logprobs and acc["traces"] - acc["failed"] > 0 and acc["with_mean_logprob"] == 0:
        ctx.log(
            f"[yellow]teacher {t.name!r}: `logprobs: true`, but no answer carried token logprobs (does the "
            "server support them?); traces.mean_logprob stays null[/]"
        )


# --- the stage -------------------------------------------------------------------------------------------------
def _show_failures(ctx: StageContext, failures: Failures) -> None:
    from rich.table import Table

    table = Table(title=f"distill: {failures.total} failed requests", title_justify="left")
    table.add_column("teacher")
    table.add_column("error kind")
    table.add_column("count", justify="right")
    for teacher, kinds in failures.by_teacher.items():
        for kind, n in kinds.most_common():
            table.add_row(teacher, kind, str(n))
    ctx.console.print(table)
    for ex in failures.examples[:3]:
        ctx.console.print(f"  e.g. {ex['teacher']} / {ex['query_id']}: {ex['kind']}: {ex['error'][:200]}")


def run(ctx: StageContext) -> None:
    manifest = ctx.manifest
    teachers = selected_teachers(manifest)
    qt = ctx.read("queries")
    queries = sorted(qt.select(["query_id", "problem", "source", "source_id"]).to_pylist(), key=lambda q: q["query_id"])
    by_problem = {normalize_text(q["problem"]): q["query_id"] for q in queries}
    by_source_id = {q["source_id"]: q["query_id"] for q in queries if q["source_id"]}
    stats: dict[str, Any] = {"teachers": {}, "replay": {}}
    ctx.stats.update(stats)
    failures = Failures()
    report_path = ctx.run_dir / "report" / "distill_failures.json"
    with RequestCache(ctx.cache_dir / "requests") as cache:
        if cache.corrupt_lines:
            ctx.log(f"request cache: skipped {cache.corrupt_lines} partial line(s) left by an interrupted run")
        stats["cache_entries_at_start"] = len(cache)
        try:
            for ti, t in enumerate(teachers):
                if t.backend == "replay":
                    run_replay(ctx, ti, t, by_problem, by_source_id, stats)
                else:
                    run_live(ctx, ti, t, queries, cache, failures, stats)
        finally:
            stats["failures"] = failures.to_dict()
            atomic_write_json(report_path, failures.to_dict())
            ctx.stats.update(stats)
            if failures.total:
                _show_failures(ctx, failures)
    if failures.total and not ctx.config.allow_failures:
        raise UserError(
            f"distill: {failures.total} requests failed ({dict(failures.by_kind)}); report: "
            f"{report_path}. Answers so far are cached: re-run to retry only the failed ones, or set "
            "distill.allow_failures: true to keep them as traces with `error` set"
        )
