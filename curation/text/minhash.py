"""Vectorized shingling, MinHash signatures and LSH candidate pairs (numpy + polars, no per-row Python).

datasketch's `MinHash` hashes one document at a time in Python (~0.2–1 ms/doc); here every shingle of a batch is
hashed at once with multiply-shift hashing and reduced per document with `np.minimum.reduceat`. LSH banding
parameters come from datasketch's own optimizer, so the two agree on what a threshold means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: decorrelates the combined token hashes."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def shingles(canonical: pl.Series, n: int = 3, unit: str = "word", bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, shingle hash) for every n-gram; sorted by doc, every doc has ≥ 1 shingle.

    32-bit hashes feed MinHash; 64-bit ones are used for exact n-gram lookups (decontamination), where a random
    collision would be a false hit.

    Documents shorter than n tokens get one shingle of all their tokens."""
    if unit == "word":
        toks = canonical.fill_null("").str.split(" ")
    elif unit == "char":
        toks = canonical.fill_null("").str.split("")
    else:
        raise ValueError(f"shingle unit must be 'word' or 'char', got {unit!r}")
    lens = toks.list.len().to_numpy().astype(np.int64)
    lens = np.maximum(lens, 1)
    flat = toks.list.eval(pl.element()).explode()  # one row per token
    if flat.len() != int(lens.sum()):  # empty lists explode to one null
        flat = toks.list.eval(pl.element()).explode(empty_as_null=True)
    tok_h = flat.fill_null("").hash(seed=7).to_numpy().astype(np.uint64)
    doc = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    pos = np.arange(len(doc), dtype=np.int64) - starts[doc]
    total = len(doc)
    comb = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            shifted = np.zeros(total, dtype=np.uint64)
            shifted[: total - k] = tok_h[k:]
            same = np.zeros(total, dtype=bool)
            same[: total - k] = doc[k:] == doc[: total - k]
            mult = np.uint64((0x9E3779B97F4A7C15 * (2 * k + 1)) & 0xFFFFFFFFFFFFFFFF)
            comb = comb + np.where(same, _mix64(shifted + np.uint64(k)) * mult, np.uint64(0))
    dl = lens[doc]
    valid = (pos + n <= dl) | ((dl < n) & (pos == 0))
    h = _mix64(comb[valid])
    if bits == 32:
        h = (h >> np.uint64(32)).astype(np.uint32)
    return doc[valid], h


@dataclass
class MinHasher:
    num_perm: int = 128
    seed: int = 1

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        self.a = rng.integers(1, 2**63, size=self.num_perm, dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 2**63, size=self.num_perm, dtype=np.uint64)

    def signatures(self, doc: np.ndarray, h: np.ndarray, n_docs: int, chunk: int = 1 << 20) -> np.ndarray:
        """(n_docs, num_perm) uint32 MinHash signatures from sorted (doc, shingle hash) arrays."""
        sig = np.empty((n_docs, self.num_perm), dtype=np.uint32)
        counts = np.bincount(doc, minlength=n_docs)
        if (counts == 0).any():
            raise ValueError("every document needs at least one shingle")
        ends = np.cumsum(counts)
        starts = ends - counts
        d0 = 0
        step = 16
        while d0 < n_docs:
            # documents whose shingles fit in one chunk (at least one document)
            d1 = int(np.searchsorted(ends, starts[d0] + chunk, side="right"))
            d1 = max(d1, d0 + 1)
            lo, hi = int(starts[d0]), int(ends[d1 - 1])
            hh = h[lo:hi].astype(np.uint64)
            offs = starts[d0:d1] - lo
            with np.errstate(over="ignore"):
                for p in range(0, self.num_perm, step):
                    v = (hh[:, None] * self.a[None, p : p + step] + self.b[None, p : p + step]) >> np.uint64(32)
                    sig[d0:d1, p : p + step] = np.minimum.reduceat(v.astype(np.uint32), offs, axis=0)
            d0 = d1
        return sig


def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.2, fn_weight: float = 0.8) -> tuple[int, int]:
    """(bands, rows) minimizing weighted false positive/negative probability (datasketch's optimizer).

    Recall is weighted up by default: every candidate is verified afterwards, so a false candidate costs little."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, fp_weight, fn_weight)


def candidate_pairs(sig: np.ndarray, bands: int, rows: int, block: np.ndarray | None = None,
                    max_bucket: int = 64) -> np.ndarray:
    """Unique (i, j), i < j, sharing an LSH bucket (and the same `block` key, e.g. the number signature).

    Buckets larger than `max_bucket` (one template filled many times) are cut into windows of that size in input
    order, so the pair count stays linear in the bucket size; the other bands usually pair what a cut separates."""
    n = sig.shape[0]
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    blk = np.zeros(n, dtype=np.uint64) if block is None else block.astype(np.uint64)
    frames = []
    idx = np.arange(n, dtype=np.int64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            part = sig[:, b * rows : (b + 1) * rows].astype(np.uint64)
            key = blk * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b + 1)
            for c in range(rows):
                key = _mix64(key ^ part[:, c])
            frames.append(pl.DataFrame({"key": key, "doc": idx}))
    df = pl.concat(frames)
    df = df.filter(pl.len().over("key") > 1)
    if df.height == 0:
        return np.empty((0, 2), dtype=np.int64)
    df = df.sort(["key", "doc"]).with_columns(
        (pl.int_range(pl.len()).over("key") // max_bucket).alias("win")
    )
    pairs = (
        df.join(df, on=["key", "win"], suffix="_b")
        .filter(pl.col("doc") < pl.col("doc_b"))
        .select("doc", "doc_b")
        .unique()
    )
    return pairs.to_numpy().astype(np.int64)


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    out = np.empty(len(pairs), dtype=np.float32)
    for s in range(0, len(pairs), chunk):
        p = pairs[s : s + chunk]
        out[s : s + chunk] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return out
