"""Vectorized shingling, MinHash signatures and LSH candidate pairs (numpy + polars, no per-row Python).

datasketch's `MinHash` hashes one document at a time in Python (~0.2–1 ms/doc); here every shingle of a batch is
hashed at once with multiply-shift hashing and reduced per document with `np.minimum.reduceat`. LSH banding
parameters come from datasketch's own optimizer, so the two agree on what a threshold means.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


def tokens(canonical: pl.Series, unit: str = "word") -> tuple[np.ndarray, pl.Series]:
    """(doc index, token) for every token of every document, in order; an empty document has one "" token."""
    if unit == "word":
        toks = canonical.fill_null("").str.split(" ")
    elif unit == "char":
        toks = canonical.fill_null("").str.split("")
    else:
        raise ValueError(f"shingle unit must be 'word' or 'char', got {unit!r}")
    lens = np.maximum(toks.list.len().to_numpy().astype(np.int64), 1)
    flat = toks.explode(empty_as_null=True).fill_null("")
    return np.repeat(np.arange(len(lens), dtype=np.int64), lens), flat


def token_hashes(flat: pl.Series, seed: int = 7) -> np.ndarray:
    return flat.hash(seed=seed).to_numpy()


def shingle_hashes(doc: np.ndarray, tok_h: np.ndarray, n: int, bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, shingle hash) for every n-gram of the doc-sorted token hashes; documents shorter than n tokens
    get one shingle of all their tokens. Every hash is splitmix-finalized (MinHasher relies on mixed input)."""
    total = len(doc)
    if total == 0:
        return doc, np.empty(0, dtype=np.uint32 if bits == 32 else np.uint64)
    starts_flag = np.ones(total, dtype=bool)
    starts_flag[1:] = doc[1:] != doc[:-1]
    first = np.flatnonzero(starts_flag)
    lens = np.diff(np.append(first, total))
    pos = np.arange(total, dtype=np.int64) - np.repeat(first, lens)
    dl = np.repeat(lens, lens)
    comb = np.zeros(total, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            shifted = np.zeros(total, dtype=np.uint64)
            if k < total:  # a batch with fewer tokens than n has nothing to shift in
                shifted[: total - k] = tok_h[k:]
            in_doc = pos + k < dl
            mult = np.uint64((0x9E3779B97F4A7C15 * (2 * k + 1)) & 0xFFFFFFFFFFFFFFFF)
            comb += np.where(in_doc, _mix64(shifted + np.uint64(k)) * mult, np.uint64(0))
    valid = (pos + n <= dl) | ((dl < n) & (pos == 0))
    h = _mix64(comb[valid])
    if bits == 32:
        h = (h >> np.uint64(32)).astype(np.uint32)
    return doc[valid], h


def shingles(canonical: pl.Series, n: int = 3, unit: str = "word", bits: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(doc index, shingle hash) for every n-gram; sorted by doc, every doc has ≥ 1 shingle.

    32-bit hashes feed MinHash; 64-bit ones are used for exact n-gram lookups (decontamination), where a random
    collision would be a false hit."""
    doc, flat = tokens(canonical, unit)
    return shingle_hashes(doc, token_hashes(flat), n, bits)


@dataclass
class MinHasher:
    """MinHash with 32-bit affine permutations h*a + b (mod 2^32), one pass per permutation.

    The shingle hashes are already splitmix-mixed, so any fixed bijection keeps P[equal minima] = Jaccard;
    measured: mean estimate 0.600 (binomial std) at J = 0.6, 128 permutations. 7x faster than 64-bit
    multiply-shift on 2M shingles."""

    num_perm: int = 128
    seed: int = 1

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        self.a = (rng.integers(0, 2**32, size=self.num_perm, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
        self.b = rng.integers(0, 2**32, size=self.num_perm, dtype=np.uint64).astype(np.uint32)

    def signatures(self, doc: np.ndarray, h: np.ndarray, n_docs: int) -> np.ndarray:
        """(n_docs, num_perm) uint32 MinHash signatures from doc-sorted (doc, 32-bit shingle hash) arrays."""
        counts = np.bincount(doc, minlength=n_docs)
        if (counts == 0).any():
            raise ValueError("every document needs at least one shingle")
        offs = np.cumsum(counts) - counts
        h = h.astype(np.uint32, copy=False)
        sig = np.empty((self.num_perm, n_docs), dtype=np.uint32)
        v = np.empty_like(h)
        with np.errstate(over="ignore"):
            for p in range(self.num_perm):
                np.multiply(h, self.a[p], out=v)
                v += self.b[p]
                sig[p] = np.minimum.reduceat(v, offs)
        return np.ascontiguousarray(sig.T)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, fp_weight: float = 0.2, fn_weight: float = 0.8) -> tuple[int, int]:
    """(bands, rows) minimizing weighted false positive/negative probability (datasketch's optimizer).

    Recall is weighted up by default: every candidate is verified afterwards, so a false candidate costs little."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, fp_weight, fn_weight)


def candidate_pairs(
    sig: np.ndarray, bands: int, rows: int, block: np.ndarray | None = None, max_bucket: int = 64
) -> np.ndarray:
    """Unique (i, j), i < j, sharing an LSH bucket (and the same `block` key, e.g. the number signature).

    One band at a time (peak memory: one key column, not bands × n). Buckets larger than `max_bucket` (one
    template filled many times) are cut into windows of that size in input order, so the pair count stays
    linear in the bucket size; the other bands usually pair what a cut separates."""
    n = sig.shape[0]
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    blk = np.zeros(n, dtype=np.uint64) if block is None else block.astype(np.uint64)
    idx = np.arange(n, dtype=np.int64)
    found = []
    with np.errstate(over="ignore"):
        for b in range(bands):
            key = _mix64(blk * np.uint64(0x9E3779B97F4A7C15) + np.uint64(b + 1))
            for c in range(b * rows, (b + 1) * rows):
                key = _mix64(key ^ sig[:, c].astype(np.uint64))
            order = np.lexsort((idx, key))
            ks = key[order]
            same_next = ks[1:] == ks[:-1]
            if not same_next.any():
                continue
            # bucket start of each sorted position, rank within bucket, window id
            new_bucket = np.ones(n, dtype=bool)
            new_bucket[1:] = ~same_next
            bstart = np.maximum.accumulate(np.where(new_bucket, np.arange(n), 0))
            rank_in = np.arange(n) - bstart
            win = bstart * (n // max_bucket + 2) + rank_in // max_bucket
            multi = ~new_bucket
            multi[:-1] |= same_next
            om, wm = order[multi], win[multi]
            # pair each member with the later members of its window (windows ≤ max_bucket, so ≤ max_bucket-1 steps)
            for step in range(1, min(max_bucket, len(om))):
                ok = wm[step:] == wm[:-step]
                if not ok.any():
                    break
                found.append(np.stack([om[:-step][ok], om[step:][ok]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    return unique_pairs(pairs)


def unique_pairs(pairs: np.ndarray) -> np.ndarray:
    """Sorted unique rows of an (m, 2) array of non-negative indices (np.unique(axis=0) sorts rows
    lexicographically, ~10x slower than one int64 key)."""
    if len(pairs) == 0:
        return pairs.reshape(0, 2).astype(np.int64)
    p = pairs.astype(np.int64)
    base = np.int64(p.max() + 1)
    key = np.unique(p[:, 0] * base + p[:, 1])
    return np.stack([key // base, key % base], axis=1)


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    out = np.empty(len(pairs), dtype=np.float32)
    for s in range(0, len(pairs), chunk):
        p = pairs[s : s + chunk]
        out[s : s + chunk] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return out
