"""dedup: exact → near (MinHash/LSH, number-guarded) → semantic (embeddings, number-guarded).

Reads `queries`, writes the kept `queries` (kept representatives with duplicates get `metadata.dedup`:
cluster size and member ids) and one `removed` row per dropped query (reason exact_duplicate / near_duplicate /
semantic_duplicate; evidence: kept representative's id and location, similarity, method). kept + removed = input.
A removed exact copy has the same content hash as the row kept in its place, so its `query_id` is null (the kept
id is `evidence.kept`); `removed_id` (source + location) identifies it.
Representative rule (`keep`): rows with a reference answer (math) or tests (code) first, then input order.
"""

from __future__ import annotations


import numpy as np
import polars as pl
import pyarrow as pa

from .. import records
from ..config.dedup import DedupConfig
from ..stage import StageContext
from ..text.dedup import find_duplicates



def fingerprint_config(manifest):
    cfg = manifest.dedup
    return None if cfg is None else cfg.model_dump(mode="json")


def representative_rank(table: pa.Table, keep: str) -> np.ndarray:
    """Lower is better: (no answer and no tests) then input position."""
    n = table.num_rows
    order = np.arange(n, dtype=np.int64)
    if keep == "first" or n == 0:
        return order
    has = np.zeros(n, dtype=bool)
    for col in ("reference_answer", "tests"):
        if col in table.column_names:
            has |= table.column(col).is_valid().to_numpy(zero_copy_only=False)
    return np.where(has, 0, n) + order


def _location(source: str, source_id: str | None) -> str:
    return f"{source}:{source_id}" if source_id else source


def run(ctx: StageContext) -> None:
    cfg: DedupConfig = ctx.config
    q = ctx.read("queries", records.QUERIES)
    n = q.num_rows
    rank = representative_rank(q, cfg.keep)
    res = find_duplicates(
        pl.from_arrow(q.column("problem")), rank, exact=cfg.exact, near=cfg.near, semantic=cfg.semantic,
        cache_dir=ctx.cache_dir, log=ctx.log, domains=q.column("domain").to_pylist(),
    )
    ids = q.column("query_id").to_pylist()
    sources = q.column("source").to_pylist()
    source_ids = q.column("source_id").to_pylist()
    problems = q.column("problem").to_pylist()
    kept = res.kept
    kept_ids = {ids[i] for i in np.flatnonzero(kept)}
    removed = []
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(~kept):
        r = int(res.root[i])
        members.setdefault(r, []).append(int(i))
        ev = res.evidence(int(i))
        if "via" in ev:
            ev["via"] = ids[ev["via"]]
        ev.update({"kept": ids[r], "kept_source": sources[r], "kept_source_id": source_ids[r],
                   "kept_location": _location(sources[r], source_ids[r]), "numbers": res.numbers[int(i)]})
        # an exact copy has the kept row's content hash: that id is still in the run, so it is not this row's
        removed.append({"query_id": None if ids[i] in kept_ids else ids[i], "reason": res.reason[i],
                        "source": sources[i], "location": _location(sources[i], source_ids[i]),
                        "evidence": records.canonical_json(ev), "problem": problems[i]})
    meta = q.column("metadata").to_pylist()
    for r, ms in members.items():
        meta[r] = records.merge_metadata(meta[r], {"dedup": {"cluster_size": len(ms) + 1,
                                                      "members": [ids[m] for m in ms[:50]]}})
    keep_idx = np.flatnonzero(kept)
    out = q.set_column(q.schema.get_field_index("metadata"), "metadata", pa.array(meta, pa.string()))
    out = out.take(pa.array(keep_idx))
    ctx.write("queries", records.conform(out, records.QUERIES))
    ctx.remove(removed)
    assert out.num_rows + len(removed) == n, "dedup must account for every input row"
    ctx.stats.update(res.stats)
