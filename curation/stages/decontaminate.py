"""decontaminate: drop (or flag) queries that overlap named benchmarks.

Reads `queries`; writes the clean `queries` and one `removed` row per contaminated query (reason `contaminated`,
evidence: every hit as {benchmark, item_id, detector, score}, best first). With `policy.action: flag` nothing is
removed and the hits go to `metadata.contamination`. Embeddings are cached under the stage's cache dir.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .. import records
from ..benchmarks import load_all
from ..config.decontaminate import DecontaminateConfig
from ..llm import TeacherPool
from ..stage import StageContext
from ..text.contamination import BenchmarkIndex

JUDGE_PROMPT = (
    "Are these two problems the same problem (same question and same given values, possibly reworded)? "
    "Answer only YES or NO.\n\nProblem A:\n{a}\n\nProblem B:\n{b}"
)


def fingerprint_config(manifest):
    cfg = manifest.decontaminate
    return None if cfg is None else cfg.model_dump(mode="json")


def make_judge(pool: TeacherPool, cfg: DecontaminateConfig):
    """LLM judge over a `teachers:` entry (any live backend), asked only for the top embedding candidates; its
    answers are cached with the stage, so a re-run asks nothing twice. None = no clear YES/NO (not a hit)."""
    jcfg = cfg.detectors.judge
    if not jcfg.enabled:
        return None
    llm = pool.llm(jcfg.teacher, "decontaminate.detectors.judge.teacher", {"temperature": 0.0, "max_tokens": 8})

    def judge(pairs: list[tuple[str, str]]) -> list[bool | None]:
        out: list[bool | None] = []
        for text in llm([JUDGE_PROMPT.format(a=a, b=b) for a, b in pairs]):
            t = text.strip().upper()
            out.append(True if t.startswith("YES") else False if t.startswith("NO") else None)
        return out

    return judge


PART_ROWS = 100_000  # queries per detector call and per keyed output part (memory, and the unit of resume)


def _add_stats(total: dict, part: dict) -> None:
    """Sum one slice's detector counts into the stage's (nested dicts key by key)."""
    for k, v in part.items():
        if isinstance(v, dict):
            _add_stats(total.setdefault(k, {}), v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            total[k] = total.get(k, 0) + v
        else:
            total[k] = v


def run(ctx: StageContext) -> None:
    """Queries are streamed in PART_ROWS slices: each slice is detected on its own (every detector decides per
    query) and written as keyed parts of `queries` and `removed`, so a killed stage skips the slices it wrote.
    The optional judge ranks its candidates across the whole table (`max_candidates`), so with the judge on the
    table is one slice."""
    cfg: DecontaminateConfig = ctx.config
    items = load_all(cfg.benchmarks, ctx.manifest.base_dir)
    ctx.log(f"{len(items)} benchmark items from {len(cfg.benchmarks)} benchmarks")
    index = BenchmarkIndex(items, cfg.detectors, cfg.policy)
    stats: dict = {"benchmark_items": len(items)}
    detect_stats: dict = {}
    per_benchmark: dict[str, int] = {}
    producer = ctx.producer("queries")
    total = ctx.store.count(producer, "queries") if producer is not None else 0
    part_rows = max(total, 1) if cfg.detectors.judge.enabled else PART_ROWS
    kept_total = removed_total = skipped = 0
    with TeacherPool(ctx.manifest, ctx.cache_dir) as pool:
        judge = make_judge(pool, cfg)
        for b, q in enumerate(ctx.iter_batches("queries", part_rows, records.QUERIES)):
            key = f"{b:06d}"
            if ctx.has_part("queries", key) and ctx.has_part("removed", key):
                kept_total += ctx.store.count_part(ctx.name, "queries", key)
                removed_total += ctx.store.count_part(ctx.name, "removed", key)
                skipped += 1
                continue
            part_stats: dict = {}
            hits = index.detect(
                q.column("problem").to_pylist(),
                q.column("domain").to_pylist(),
                ctx.cache_dir,
                judge,
                part_stats,
                tests=q.column("tests").to_pylist() if "tests" in q.column_names else None,
            )
            _add_stats(detect_stats, part_stats)
            for hs in hits:
                for bench in {h.benchmark for h in hs}:
                    per_benchmark[bench] = per_benchmark.get(bench, 0) + 1
            out, removed = _apply(q, hits, cfg.policy.action)
            # queries first, removed last: the pair of keyed parts marks the slice done.
            ctx.write("queries", records.conform(out, records.QUERIES), key=key)
            ctx.remove(removed, key=key)
            kept_total += out.num_rows
            removed_total += len(removed)
        if pool.llms:
            stats["judge_requests"] = pool.stats()
    if total == 0:  # an empty table is still this stage's output (not the upstream one)
        ctx.write("queries", records.QUERIES.empty_table())
    assert kept_total + removed_total == total, "decontaminate must account for every input row"
    stats.update(detect_stats)
    stats["per_benchmark"] = per_benchmark
    if skipped:
        stats["resumed_parts"] = skipped  # their detector counts are not in these stats
    ctx.stats.update(stats)


def _apply(q: pa.Table, hits: list, action: str) -> tuple[pa.Table, list[dict]]:
    """(queries to write, removed rows) of one slice: flag writes the hits into metadata, remove drops the rows."""
    dirty = np.array([bool(h) for h in hits], dtype=bool)
    if action == "flag":
        meta = q.column("metadata").to_pylist()
        for i in np.flatnonzero(dirty):
            meta[i] = records.merge_metadata(meta[i], {"contamination": [h.to_dict() for h in hits[i]]})
        return q.set_column(q.schema.get_field_index("metadata"), "metadata", pa.array(meta, pa.string())), []
    sel = pa.array(np.flatnonzero(dirty))
    ids, sources, source_ids, problems = (
        q.column(c).take(sel).to_pylist() for c in ("query_id", "source", "source_id", "problem")
    )
    removed = []
    for k, i in enumerate(np.flatnonzero(dirty)):
        hs = [h.to_dict() for h in hits[i]]
        ev = {**hs[0], "hits": hs}
        removed.append(
            {
                "query_id": ids[k],
                "reason": "contaminated",
                "source": sources[k],
                "location": f"{sources[k]}:{source_ids[k]}" if source_ids[k] else sources[k],
                "evidence": records.canonical_json(ev),
                "problem": problems[k],
            }
        )
    return q.filter(pa.array(~dirty)), removed
