"""Exact → near → semantic dedup of problem texts, number-aware. Index-based: callers map back to ids.

* exact: identical canonical form (see `canonical.py`).
* near: MinHash/LSH over word n-grams of the canonical form; candidates are blocked by the number signature
  (so "3+5" and "3+6" are never even compared), verified by estimated Jaccard, then star-clustered (`cluster.py`)
  so chains cannot merge distinct problems.
* semantic: sentence embeddings, compared only within a number block (always guarded: embeddings cannot tell
  "3+5" from "3+6", median cosine 0.97). Exact cosine within blocks; a block larger than `max_block` is split by
  k-means first (SemDeDup). ANN (faiss/usearch) is not needed: the number blocks are already small.

Each stage runs on the survivors of the previous one. `dup_of` always names the final kept representative.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ..config.dedup import NearConfig, SemanticConfig
from .canonical import canonical_frame
from .cluster import star_clusters
from .minhash import MinHasher, candidate_pairs, estimated_jaccard, lsh_params, shingles

EXACT, NEAR, SEMANTIC = "exact_duplicate", "near_duplicate", "semantic_duplicate"


@dataclass
class DedupResult:
    canonical: pl.Series
    numbers: pl.Series
    parent: np.ndarray  # immediate representative (self when kept)
    root: np.ndarray  # final kept representative (self when kept)
    reason: list  # None | exact_duplicate | near_duplicate | semantic_duplicate
    similarity: np.ndarray
    stats: dict = field(default_factory=dict)

    @property
    def kept(self) -> np.ndarray:
        return self.root == np.arange(len(self.root))

    def evidence(self, i: int) -> dict:
        method = {EXACT: "canonical_hash", NEAR: "minhash_lsh+number_guard", SEMANTIC: "embedding+number_guard"}
        ev = {"method": method.get(self.reason[i]), "similarity": round(float(self.similarity[i]), 4)}
        if self.parent[i] != self.root[i]:
            ev["via"] = int(self.parent[i])
        return ev


def _block_keys(numbers: pl.Series) -> np.ndarray:
    return numbers.hash(seed=11).to_numpy().astype(np.uint64)


FILLER = frozenset(
    ["a", "an", "the", "of", "to", "in", "on", "at", "for", "from", "by", "with", "and", "or", "is", "are", "was", "were", "be", "been", "that", "this", "these", "those", "it", "its", "as", "then", "so", "such", "please", "kindly", "find", "compute", "determine", "calculate", "evaluate", "what", "which", "how", "given", "let", "value", "answer", "us", "you", "your", "we", "our", "$", "{", "}"]
)


def strip_filler(canonical: pl.Series) -> pl.Series:
    pad = pl.concat_str(pl.lit(" "), pl.col("c").str.replace_all(" ", "  "), pl.lit(" "))
    fill = {f" {w} ": " " for w in FILLER}
    stripped = pad.str.replace_many(fill).str.replace_all(r"\s+", " ").str.strip_chars()
    # an all-filler text keeps its words
    return pl.DataFrame({"c": canonical}).select(
        pl.when(stripped == "").then(pl.col("c")).otherwise(stripped).alias("c"))["c"]


def content_differs(a: Counter, b: Counter) -> bool:
    """True when the two token multisets differ in anything but filler words: a substituted variable ("find $y$"
    vs "find $x$"), operator ("2n + 1" vs "2n - 1"), word ("RADII" vs "MADAM") or an added term is a different
    problem even at Jaccard 0.9. Value-preserving edits (format, filler words, reordering) pass."""
    if a == b:
        return False
    return any(t not in FILLER for t in (a - b)) or any(t not in FILLER for t in (b - a))


def exact_groups(canonical: pl.Series, rank: np.ndarray) -> np.ndarray:
    """parent index per row: the best-ranked row with the same canonical text."""
    df = pl.DataFrame({"c": canonical, "rank": rank, "i": np.arange(len(rank))})
    rep = df.with_columns(pl.col("i").sort_by("rank").first().over("c").alias("rep"))["rep"].to_numpy()
    return rep.astype(np.int64)


def near_groups(canonical: pl.Series, numbers: pl.Series, rank: np.ndarray, cfg: NearConfig,
                stats: dict) -> tuple[np.ndarray, np.ndarray]:
    n = len(canonical)
    parent, sim = np.arange(n, dtype=np.int64), np.ones(n, dtype=np.float32)
    if n < 2:
        return parent, sim
    # Shingles of the content tokens only: filler words ("the", "please") cannot change a problem (the content
    # guard below checks that they are all that differs), so dropping them must not lower the similarity.
    doc, h = shingles(strip_filler(canonical) if cfg.content_guard else canonical, cfg.ngram, cfg.unit)
    sig = MinHasher(cfg.num_perm, cfg.seed).signatures(doc, h, n)
    bands, rows = lsh_params(cfg.threshold, cfg.num_perm)
    block = _block_keys(numbers) if cfg.number_guard == "exact" else None
    pairs = candidate_pairs(sig, bands, rows, block, cfg.max_bucket)
    stats.update({"near_candidates": len(pairs), "lsh_bands": bands, "lsh_rows": rows})
    if len(pairs):
        j = estimated_jaccard(sig, pairs)
        ok = j >= cfg.threshold
        if cfg.number_guard == "exact":  # blocking used a hash; confirm on the strings
            nums = numbers.to_numpy()
            ok &= nums[pairs[:, 0]] == nums[pairs[:, 1]]
        pairs = pairs[ok]
    if cfg.content_guard and len(pairs):
        toks: dict[int, Counter] = {}
        words = canonical.to_list()

        def tok(i: int) -> Counter:
            if i not in toks:
                toks[i] = Counter(words[i].split(" "))
            return toks[i]

        ok = np.array([not content_differs(tok(a), tok(b)) for a, b in pairs.tolist()], dtype=bool)
        stats["near_rejected_content"] = int((~ok).sum())
        pairs = pairs[ok]
    else:
        tok = None  # type: ignore[assignment]
    stats["near_edges"] = len(pairs)

    def sim_to(c: int, members: np.ndarray) -> np.ndarray:
        s = (sig[members] == sig[c]).mean(axis=1)
        if tok is not None:
            s = np.where([not content_differs(tok(c), tok(int(m))) for m in members], s, 0.0)
        return s

    return star_clusters(n, pairs, rank, sim_to, cfg.threshold)


def semantic_groups(canonical: pl.Series, numbers: pl.Series, rank: np.ndarray, cfg: SemanticConfig,
                    cache_dir: Path | None, stats: dict) -> tuple[np.ndarray, np.ndarray]:
    from .embeddings import Embedder

    n = len(canonical)
    parent, sim = np.arange(n, dtype=np.int64), np.ones(n, dtype=np.float32)
    if n < 2:
        return parent, sim
    blocks = (
        pl.DataFrame({"k": numbers, "i": np.arange(n)})
        .group_by("k")
        .agg("i")
        .filter(pl.col("i").list.len() > 1)["i"]
        .to_list()
    )
    need = np.array(sorted(i for b in blocks for i in b), dtype=np.int64)
    stats["semantic_embedded"] = len(need)
    if len(need) == 0:
        return parent, sim
    embedder = Embedder.from_config(cfg.embedding, cache_dir)
    emb = np.zeros((n, 0), dtype=np.float32)
    vecs = embedder.encode(canonical.gather(need).to_list())
    emb = np.zeros((n, vecs.shape[1]), dtype=np.float32)
    emb[need] = vecs
    stats["embedding_cache"] = dict(embedder.stats)
    pairs = []
    for b in blocks:
        b = np.asarray(b, dtype=np.int64)
        groups = [b] if len(b) <= cfg.max_block else _kmeans_split(emb[b], b, cfg.max_block)
        for g in groups:
            for s in range(0, len(g), 2048):
                rows = g[s : s + 2048]
                sims = emb[rows] @ emb[g].T
                r, c = np.nonzero(sims >= cfg.threshold)
                keep = rows[r] < g[c]
                if keep.any():
                    pairs.append(np.stack([rows[r][keep], g[c][keep]], axis=1))
    pairs_a = np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)
    stats["semantic_edges"] = len(pairs_a)

    def sim_to(c: int, members: np.ndarray) -> np.ndarray:
        return emb[members] @ emb[c]

    return star_clusters(n, pairs_a, rank, sim_to, cfg.threshold)


def _kmeans_split(x: np.ndarray, idx: np.ndarray, max_block: int) -> list[np.ndarray]:
    from sklearn.cluster import MiniBatchKMeans

    k = int(np.ceil(len(idx) / (max_block / 4)))
    labels = MiniBatchKMeans(n_clusters=k, random_state=0, n_init=3, batch_size=4096).fit_predict(x)
    return [idx[labels == c] for c in range(k) if (labels == c).sum() > 1]


def find_duplicates(
    texts: list[str] | pl.Series,
    rank: np.ndarray | None = None,
    exact: bool = True,
    near: NearConfig | None = None,
    semantic: SemanticConfig | None = None,
    cache_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
) -> DedupResult:
    """Duplicate structure of `texts`. `rank`: representative preference, lower is better (default: input order)."""
    cf = canonical_frame(texts)
    canonical, numbers = cf["canonical"], cf["numbers"]
    n = len(canonical)
    rank = np.arange(n, dtype=np.int64) if rank is None else np.asarray(rank)
    parent = np.arange(n, dtype=np.int64)
    sim = np.ones(n, dtype=np.float32)
    reason: list = [None] * n
    stats: dict = {"input": n}
    active = np.arange(n, dtype=np.int64)

    def apply(local_parent: np.ndarray, local_sim: np.ndarray, why: str) -> None:
        nonlocal active
        moved = local_parent != np.arange(len(active))
        gi = active[moved]
        parent[gi] = active[local_parent[moved]]
        sim[gi] = local_sim[moved]
        for i in gi:
            reason[i] = why
        stats[why] = int(moved.sum())
        active = active[~moved]

    if exact and n:
        rep = exact_groups(canonical, rank)
        apply(rep, np.ones(n, dtype=np.float32), EXACT)
    if near is not None and near.enabled and len(active) > 1:
        p, s = near_groups(canonical.gather(active), numbers.gather(active), rank[active], near, stats)
        apply(p, s, NEAR)
    if semantic is not None and semantic.enabled and len(active) > 1:
        p, s = semantic_groups(canonical.gather(active), numbers.gather(active), rank[active], semantic,
                               cache_dir, stats)
        apply(p, s, SEMANTIC)
    root = parent.copy()
    for _ in range(4):  # at most three stages of indirection
        root = parent[root]
    stats["kept"] = int((root == np.arange(n)).sum())
    return DedupResult(canonical, numbers, parent, root, reason, sim, stats)
