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


def _location(source: str, source_id: str | None) -> str:
    return f"{source}:{source_id}" if source_id else source


PART_ROWS = 100_000  # rows per keyed output part: memory while writing, and the unit of resume


def _columns(ctx: StageContext, columns: list[str]) -> pl.DataFrame:
    """Only the columns the duplicate search needs, read from the parquet parts (not the whole table)."""
    if ctx.producer("queries") is None:
        return pl.from_arrow(records.QUERIES.empty_table().select(columns))  # type: ignore[return-value]
    return ctx.scan("queries").select(columns).collect()


def run(ctx: StageContext) -> None:
    """The duplicate search needs every row's text at once; the rows themselves are streamed: each PART_ROWS
    input slice becomes keyed parts of `queries` and `removed`, so a killed stage redoes the (deterministic) search
    and skips the parts already written."""
    cfg: DedupConfig = ctx.config
    q = _columns(ctx, ["query_id", "problem", "domain", "source", "source_id", "reference_answer", "tests"])
    n = q.height
    order = np.arange(n, dtype=np.int64)
    if cfg.keep == "first" or n == 0:
        rank = order
    else:
        has = (q["reference_answer"].is_not_null() | q["tests"].is_not_null()).to_numpy()
        rank = np.where(has, 0, n) + order
    res = find_duplicates(
        q["problem"],
        rank,
        exact=cfg.exact,
        near=cfg.near,
        semantic=cfg.semantic,
        cache_dir=ctx.cache_dir,
        log=ctx.log,
        domains=q["domain"].to_list(),
    )
    ids, sources, source_ids = q["query_id"], q["source"], q["source_id"]
    del q
    kept = res.kept
    removed_idx = np.flatnonzero(~kept)
    roots = res.root[removed_idx]
    # members of each kept representative (input order), for its metadata.dedup
    by_root = np.argsort(roots, kind="stable")
    rep_of, starts = np.unique(roots[by_root], return_index=True)
    sizes = np.diff(np.r_[starts, len(by_root)])
    kept_ids = set(ids.gather(np.flatnonzero(kept)).to_list()) if len(removed_idx) else set()
    written = removed_total = 0
    with ctx.progress("writing parts", total=n) as advance:
        for b, chunk in enumerate(ctx.iter_batches("queries", PART_ROWS, records.QUERIES)):
            key = f"{b:06d}"
            lo, hi = b * PART_ROWS, b * PART_ROWS + chunk.num_rows
            if ctx.has_part("queries", key) and ctx.has_part("removed", key):
                written += ctx.store.count_part(ctx.name, "queries", key)
                removed_total += ctx.store.count_part(ctx.name, "removed", key)
                advance(chunk.num_rows)
                continue
            removed = _removed_rows(res, chunk, lo, removed_idx, ids, sources, source_ids, kept_ids)
            meta = chunk.column("metadata").to_pylist()
            ks = range(np.searchsorted(rep_of, lo), np.searchsorted(rep_of, hi))
            shown = [removed_idx[by_root[starts[k] : starts[k] + min(sizes[k], 50)]] for k in ks]
            member_ids = iter(ids.gather(np.concatenate(shown)).to_list() if shown else [])  # one lookup
            for k, ms in zip(ks, shown):
                r = int(rep_of[k])
                meta[r - lo] = records.merge_metadata(
                    meta[r - lo],
                    {"dedup": {"cluster_size": int(sizes[k]) + 1, "members": [next(member_ids) for _ in ms]}},
                )
            out = chunk.set_column(chunk.schema.get_field_index("metadata"), "metadata", pa.array(meta, pa.string()))
            out = out.filter(pa.array(kept[lo:hi]))
            # queries first, removed last: the pair of keyed parts marks the slice done.
            ctx.write("queries", records.conform(out, records.QUERIES), key=key)
            ctx.remove(removed, key=key)
            written += out.num_rows
            removed_total += len(removed)
            advance(chunk.num_rows)
    if n == 0:  # an empty table is still this stage's output (not the upstream one)
        ctx.write("queries", records.QUERIES.empty_table())
    assert written + removed_total == n, "dedup must account for every input row"
    ctx.stats.update(res.stats)


def _removed_rows(
    res,
    chunk: pa.Table,
    lo: int,
    removed_idx: np.ndarray,
    ids: pl.Series,
    sources: pl.Series,
    source_ids: pl.Series,
    kept_ids: set,
) -> list[dict]:
    """`removed` rows for the removed rows of the input slice starting at `lo` (evidence: the kept row)."""
    sel = removed_idx[np.searchsorted(removed_idx, lo) : np.searchsorted(removed_idx, lo + chunk.num_rows)]
    if not len(sel):
        return []
    roots = res.root[sel]
    root_ids, root_src, root_sid = (c.gather(roots).to_list() for c in (ids, sources, source_ids))
    local = pa.array(sel - lo)
    my_ids, my_src, my_sid, my_problem = (
        chunk.column(c).take(local).to_pylist() for c in ("query_id", "source", "source_id", "problem")
    )
    numbers = res.numbers.gather(sel).to_list()
    via = res.parent[sel]
    via_ids = dict(zip(via.tolist(), ids.gather(via).to_list()))  # fetched once, not one Series lookup a row
    out = []
    for k, i in enumerate(sel.tolist()):
        ev = res.evidence(i)
        if "via" in ev:
            ev["via"] = via_ids[ev["via"]]
        ev.update(
            {
                "kept": root_ids[k],
                "kept_source": root_src[k],
                "kept_source_id": root_sid[k],
                "kept_location": _location(root_src[k], root_sid[k]),
                "numbers": numbers[k],
            }
        )
        # an exact copy has the kept row's content hash: that id is still in the run, so it is not this row's
        out.append(
            {
                "query_id": None if my_ids[k] in kept_ids else my_ids[k],
                "reason": res.reason[i],
                "source": my_src[k],
                "location": _location(my_src[k], my_sid[k]),
                "evidence": records.canonical_json(ev),
                "problem": my_problem[k],
            }
        )
    return out
