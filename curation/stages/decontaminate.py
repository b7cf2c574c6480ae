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


def run(ctx: StageContext) -> None:
    cfg: DecontaminateConfig = ctx.config
    q = ctx.read("queries", records.QUERIES)
    items = load_all(cfg.benchmarks, ctx.manifest.base_dir)
    ctx.log(f"{len(items)} benchmark items from {len(cfg.benchmarks)} benchmarks")
    index = BenchmarkIndex(items, cfg.detectors, cfg.policy)
    stats: dict = {"benchmark_items": len(items)}
    with TeacherPool(ctx.manifest, ctx.cache_dir) as pool:
        tests = q.column("tests").to_pylist() if "tests" in q.column_names else None
        hits = index.detect(q.column("problem").to_pylist(), q.column("domain").to_pylist(), ctx.cache_dir,
                            make_judge(pool, cfg), stats, tests=tests)
        if pool.llms:
            stats["judge_requests"] = pool.stats()
    ids = q.column("query_id").to_pylist()
    sources = q.column("source").to_pylist()
    source_ids = q.column("source_id").to_pylist()
    problems = q.column("problem").to_pylist()
    dirty = np.array([bool(h) for h in hits], dtype=bool)
    per_benchmark: dict[str, int] = {}
    for hs in hits:
        for b in {h.benchmark for h in hs}:
            per_benchmark[b] = per_benchmark.get(b, 0) + 1
    stats["per_benchmark"] = per_benchmark
    if cfg.policy.action == "flag":
        meta = q.column("metadata").to_pylist()
        for i in np.flatnonzero(dirty):
            meta[i] = records.merge_metadata(meta[i], {"contamination": [h.to_dict() for h in hits[i]]})
        out = q.set_column(q.schema.get_field_index("metadata"), "metadata", pa.array(meta, pa.string()))
        ctx.write("queries", records.conform(out, records.QUERIES))
        ctx.remove([])
    else:
        removed = []
        for i in np.flatnonzero(dirty):
            hs = [h.to_dict() for h in hits[i]]
            ev = {**hs[0], "hits": hs}
            removed.append({"query_id": ids[i], "reason": "contaminated", "source": sources[i],
                            "location": f"{sources[i]}:{source_ids[i]}" if source_ids[i] else sources[i],
                            "evidence": records.canonical_json(ev), "problem": problems[i]})
        out = q.filter(pa.array(~dirty))
        ctx.write("queries", records.conform(out, records.QUERIES))
        ctx.remove(removed)
        assert out.num_rows + len(removed) == q.num_rows
    ctx.stats.update(stats)
