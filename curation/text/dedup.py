"""Exact → near → semantic dedup of problem texts, number-aware. Index-based: callers map back to ids.

* exact: identical canonical form (see `canonical.py`).
* near: MinHash/LSH over content-word n-grams of the canonical form; candidates are blocked by the number
  signature (multiset, and by default the order of numbers within each sentence: "x-y=6, x+y=12" is not
  "x-y=12, x+y=6") and the content-word multiset (so "3+5" and "3+6", "find x" and "find y" are never even
  compared), verified by estimated Jaccard, then star-clustered (`cluster.py`) so chains cannot merge distinct
  problems.
* semantic: sentence embeddings, compared only within a number block (always guarded: embeddings cannot tell
  "3+5" from "3+6", median cosine 0.97). Exact cosine within blocks; a block larger than `max_block` is split by
  k-means first (SemDeDup). ANN (faiss/usearch) is not needed: the number blocks are already small.

Each stage runs on the survivors of the previous one. `dup_of` always names the final kept representative.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from ..config.dedup import NearConfig, SemanticConfig
from . import wrappers
from .canonical import canonical_frame
from .cluster import star_clusters
from .minhash import (
    MinHasher,
    _mix64,
    candidate_pairs,
    estimated_jaccard,
    lsh_params,
    shingle_hashes,
    tokens,
    unique_pairs,
)

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
    wrapper_cut: np.ndarray | None = None  # near stage compared the row with a learned wrapper cut off

    @property
    def kept(self) -> np.ndarray:
        return self.root == np.arange(len(self.root))

    def evidence(self, i: int) -> dict:
        method = {EXACT: "canonical_hash", NEAR: "minhash_lsh+number_guard", SEMANTIC: "same_problem_detectors"}
        ev = {"method": method.get(self.reason[i]), "similarity": round(float(self.similarity[i]), 4)}
        if self.parent[i] != self.root[i]:
            ev["via"] = int(self.parent[i])
        if self.reason[i] == NEAR and self.wrapper_cut is not None:
            if self.wrapper_cut[i] or self.wrapper_cut[self.parent[i]]:
                ev["wrapper_cut"] = True  # compared with the pool's learned instruction wrappers cut off
        return ev


def _block_keys(numbers: pl.Series) -> np.ndarray:
    return numbers.hash(seed=11).to_numpy().astype(np.uint64)


FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "as",
        "then",
        "so",
        "such",
        "please",
        "kindly",
        "find",
        "compute",
        "determine",
        "calculate",
        "evaluate",
        "what",
        "which",
        "how",
        "given",
        "let",
        "value",
        "answer",
        "us",
        "you",
        "your",
        "we",
        "our",
        "$",
        "{",
        "}",
        "following",
        "now",
        "also",
    ]
)
# Not filler: "and"/"or" ("divisible by m and n" vs "… m or n", MBPP), single letters other than the article "a".
# "a" is an article only before a word; before these (or a symbol, a number, a one-letter token, the end) it is
# the variable a: "the sum of a and c" is not "the sum of c".
_NOT_AFTER_ARTICLE = FILLER | {
    "and",
    "or",
    "equals",
    "plus",
    "minus",
    "times",
    "divided",
    "over",
    "satisfies",
    "divides",
    "has",
    "have",
    "must",
    "can",
    "cannot",
    "will",
    "not",
    "does",
    "do",
    "if",
    "when",
}


def filler_mask(doc: np.ndarray, flat: pl.Series) -> np.ndarray:
    """True for filler tokens (see FILLER); the article "a" is filler, the variable "a" is not."""
    filler = flat.is_in(list(FILLER)).to_numpy()
    is_a = (flat == "a").to_numpy()
    if is_a.any():
        nxt = flat.shift(-1, fill_value="")
        same_next = np.zeros(len(doc), dtype=bool)
        same_next[:-1] = doc[1:] == doc[:-1]
        prev_dollar = np.zeros(len(doc), dtype=bool)
        prev_dollar[1:] = (flat.slice(0, len(doc) - 1) == "$").to_numpy() & (doc[1:] == doc[:-1])
        wordy = (nxt.str.contains(r"^[a-z][a-z]+$") & ~nxt.is_in(list(_NOT_AFTER_ARTICLE))).to_numpy()
        article = same_next & wordy & ~prev_dollar
        filler &= ~is_a | article
    return filler


def _content(doc: np.ndarray, flat: pl.Series, guard: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(doc, token hash, keep) of the content tokens; a document made of filler only keeps all its tokens."""
    tok_h = flat.hash(seed=7).to_numpy()
    if not guard:
        return doc, tok_h, np.ones(len(doc), dtype=bool)
    keep = ~filler_mask(doc, flat)
    n_docs = int(doc[-1]) + 1 if len(doc) else 0
    has = np.bincount(doc[keep], minlength=n_docs) > 0
    keep |= ~has[doc]
    return doc[keep], tok_h[keep], keep


def content_keys(canonical: pl.Series, chunk: int = 1 << 18) -> np.ndarray:
    """Order-independent 64-bit hash of each text's content-token multiset (filler words dropped). Equal keys =
    the texts differ in filler words and order alone; a substituted variable ("find $y$" vs "find $x$"),
    operator ("2n + 1" vs "2n - 1"), word ("RADII" vs "MADAM") or an added term changes the key."""
    return content_keys_and_drops(canonical, chunk, drops=False)[0]


# Words whose absence changes a problem ("the smallest positive integer" is not "the smallest integer"); every
# other content word of three or more letters may be dropped once by a near-duplicate ("the total number of …").
KEEP_WORDS = frozenset(
    "and or not no nor never none without except but least most more less fewer greater smaller larger largest "
    "smallest greatest minimum maximum min max positive negative nonnegative nonpositive even odd prime composite "
    "distinct different same equal unequal integer integers real rational irrational whole natural consecutive "
    "only exactly all every each any some both either neither first last next previous second third sum product "
    "difference quotient division remainder area perimeter volume plus minus times divided square cube root average mean "
    "median mode per half twice double triple percent probability expected inclusive exclusive before after "
    "above below left right up down increasing decreasing ascending descending reverse sorted unique "
    "digit digits factor factors multiple multiples divisor divisors".split()
)


def content_keys_and_drops(
    canonical: pl.Series, chunk: int = 1 << 18, drops: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(content key per text, and for `drops`: (doc, key without that word) for every droppable content word,
    see KEEP_WORDS). A text whose content equals another's plus one droppable word has a drop key equal to the
    other's content key: that is how one dropped word is found without comparing all pairs."""
    out = np.empty(len(canonical), dtype=np.uint64)
    d_doc, d_key = [], []
    salt = np.uint64(0x5851F42D4C957F2D)
    for lo in range(0, len(canonical), chunk):
        part = canonical.slice(lo, chunk)
        doc, flat = tokens(part)
        d, h, keep = _content(doc, flat, True)
        starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        with np.errstate(over="ignore"):
            mixed = _mix64(h ^ salt)
            keys = np.add.reduceat(mixed, starts)
            out[lo : lo + len(part)] = keys
            if drops:
                words = flat.filter(pl.Series(keep))
                ok = (words.str.contains(r"^[a-z]{3,}$") & ~words.is_in(list(KEEP_WORDS))).to_numpy()
                d_doc.append(d[ok] + lo)
                d_key.append(keys[d[ok]] - mixed[ok])
    if not drops:
        return out, np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint64)
    return out, np.concatenate(d_doc), np.concatenate(d_key)


def content_differs(a: str, b: str) -> bool:
    """True when two canonical texts differ in more than filler words and order (see `content_keys`)."""
    k = content_keys(pl.Series([a, b], dtype=pl.String))
    return bool(k[0] != k[1])


def _small_block_pairs(key: np.ndarray, max_size: int, exclude=None) -> np.ndarray:
    """Every pair within blocks of 2..max_size equal keys (the number signature is rare enough that a block of a
    few texts is all one problem's copies and siblings; the content guard tells them apart). `exclude`: a key
    whose block is never paired this way (the texts without numbers)."""
    order = np.argsort(key, kind="stable")
    k = key[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[starts, len(k)])
    out = []
    for step in range(1, max_size):
        ok = np.zeros(len(k), dtype=bool)
        ok[: len(k) - step] = k[step:] == k[: len(k) - step]
        size_of = np.repeat(sizes, sizes)
        ok &= size_of <= max_size
        if exclude is not None:
            ok &= k != np.uint64(exclude)
        if not ok.any():
            break
        i = np.flatnonzero(ok)
        out.append(np.stack([order[i], order[i + step]], axis=1))
    if not out:
        return np.empty((0, 2), dtype=np.int64)
    return np.sort(np.concatenate(out), axis=1).astype(np.int64)


@lru_cache(maxsize=1 << 16)
def _content_words(canonical: str) -> Counter:
    """Content tokens of one canonical text (the per-pair mirror of `filler_mask`)."""
    toks = canonical.split(" ")
    out: Counter = Counter()
    for k, t in enumerate(toks):
        if t in FILLER and t != "a":
            continue
        if t == "a":
            nxt = toks[k + 1] if k + 1 < len(toks) else ""
            prev = toks[k - 1] if k else ""
            if len(nxt) > 1 and nxt.isalpha() and nxt not in _NOT_AFTER_ARTICLE and prev != "$":
                continue
        out[t] += 1
    return out


@lru_cache(maxsize=1 << 18)
def typo_close(a: str, b: str) -> bool:
    """One edit apart (see `_deletes`), words of 3+ and 4+ letters, not both KEEP_WORDS words:
    "bakery"/"bkery", "sale"/"sae"; not three-letter words ("cos"/"cot") or "increasing"/"decreasing"."""
    if (
        max(len(a), len(b)) < 4
        or min(len(a), len(b)) < 3
        or not (a.isalpha() and b.isalpha())
        or (a in KEEP_WORDS and b in KEEP_WORDS)
    ):
        return False
    if abs(len(a) - len(b)) > 1:
        return False
    return bool(_deletes(a) & _deletes(b))


@lru_cache(maxsize=1 << 16)
def _deletes(w: str) -> frozenset:
    """The word and its one-letter deletions: two words within one insertion, deletion, substitution or adjacent
    transposition share one (the SymSpell neighbourhood), found with a set intersection instead of a DP."""
    return frozenset([w, *(w[:i] + w[i + 1 :] for i in range(len(w)))])


# Words a rewording swaps or drops around the same problem ("how many" / "what is the number of", "in total" /
# "altogether", "express" / "give", "if" / "given that"): tolerated in the pair check (same numbers already).
SOFT_WORDS = frozenset(
    "give express state provide report enter write altogether overall total number many if "
    "calculate compute obtain result form".split()
)
_FILLER_NEAR = frozenset(d for w in FILLER if len(w) >= 4 for d in _deletes(w))


@lru_cache(maxsize=1 << 16)
def _filler_typo(t: str) -> bool:
    return len(t) >= 3 and t.isalpha() and bool(_deletes(t) & _FILLER_NEAR)


def content_compatible(a: str, b: str, allow_drop: bool = False) -> bool:
    """The content guard as a pair check: the two canonical texts' content tokens differ only by typos
    (`typo_close` pairs, or a typo of a filler word), reworded SOFT_WORDS, and with `allow_drop` one dropped word
    (see KEEP_WORDS). A substituted variable, operator, other word or any number makes them different problems."""
    ca, cb = _content_words(a), _content_words(b)  # cached: a text is in several candidate pairs
    da, db = ca - cb, cb - ca
    if not da and not db:
        return True
    xs, ys = list(da.elements()), list(db.elements())
    if len(xs) + len(ys) > 10:
        return False
    for x in list(xs):
        for y in ys:
            if typo_close(x, y):
                xs.remove(x)
                ys.remove(y)
                break
    rest = [t for t in xs + ys if t not in SOFT_WORDS and not _filler_typo(t)]
    if not rest:
        return True
    return allow_drop and len(rest) == 1 and len(rest[0]) >= 3 and rest[0].isalpha() and rest[0] not in KEEP_WORDS


def exact_groups(canonical: pl.Series, rank: np.ndarray) -> np.ndarray:
    """parent index per row: the best-ranked row with the same canonical text (grouped on a 64-bit hash, then
    confirmed on the text: a hash collision only splits a group, it never merges two)."""
    df = pl.DataFrame({"h": canonical.hash(seed=3), "rank": rank, "i": np.arange(len(rank))})
    rep = df.with_columns(pl.col("i").sort_by("rank").first().over("h").alias("rep"))["rep"].to_numpy()
    rep = rep.astype(np.int64)
    bad = np.flatnonzero(rep != np.arange(len(rep)))
    if len(bad):
        diff = (canonical.gather(bad) != canonical.gather(rep[bad])).to_numpy()
        rep[bad[diff]] = bad[diff]
    return rep


def near_groups(
    canonical: pl.Series,
    numbers: pl.Series,
    rank: np.ndarray,
    cfg: NearConfig,
    stats: dict,
    number_seq: pl.Series | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Block by (content multiset, numbers) keys — every guard is an equality, so a block holds only texts the
    guards allow to merge, and texts alone in their block need no signature at all — then MinHash/LSH within
    blocks, verified by estimated Jaccard over content-word n-grams (word order)."""
    n = len(canonical)
    parent, sim = np.arange(n, dtype=np.int64), np.ones(n, dtype=np.float32)
    if n < 2:
        return parent, sim
    order_guard = cfg.number_guard == "exact" and cfg.number_order == "sentence"
    if order_guard and number_seq is None:
        raise ValueError("number_order='sentence' needs the number_seq column (canonical_frame)")
    guard_key = number_seq if order_guard else numbers
    numkey = np.zeros(n, dtype=np.uint64)
    if cfg.number_guard == "exact":
        numkey = _block_keys(guard_key)
    block = numkey
    drop_pairs = np.empty((0, 2), dtype=np.int64)
    if cfg.content_guard:
        ckey, d_doc, d_key = content_keys_and_drops(canonical, drops=cfg.dropped_words)
        with np.errstate(over="ignore"):
            block = _mix64(numkey ^ ckey)
            d_block = _mix64(numkey[d_doc] ^ d_key)
        if len(d_doc):  # one dropped word: the longer text's drop key is the shorter text's block
            first = pl.DataFrame({"b": block, "j": np.arange(n)}).group_by("b").agg(pl.col("j").min())
            m_ = pl.DataFrame({"b": d_block, "i": d_doc}).join(first, on="b")
            drop_pairs = unique_pairs(np.sort(m_.select("i", "j").to_numpy().astype(np.int64), axis=1))
            drop_pairs = drop_pairs[drop_pairs[:, 0] != drop_pairs[:, 1]]
    stats["near_drop_candidates"] = len(drop_pairs)
    _, inv, cnt = np.unique(block, return_inverse=True, return_counts=True)
    in_block = cnt[inv] > 1
    in_block[drop_pairs.ravel()] = True
    fuzzy = cfg.content_guard and cfg.fuzzy
    if fuzzy:  # every text that shares its numbers with another is compared, the content guard then verifies
        _, inv_n, cnt_n = np.unique(numkey, return_inverse=True, return_counts=True)
        in_block |= cnt_n[inv_n] > 1
    sel = np.flatnonzero(in_block)
    stats["near_blocked_docs"] = len(sel)
    m = len(sel)
    if m < 2:
        stats.update({"near_candidates": 0, "near_edges": 0})
        return parent, sim
    hasher = MinHasher(cfg.num_perm, cfg.seed)
    sig = np.empty((m, cfg.num_perm), dtype=np.uint32)
    chunk = 1 << 17
    for lo in range(0, m, chunk):
        part = canonical.gather(sel[lo : lo + chunk])
        doc, flat = tokens(part, cfg.unit)
        d, h, _ = _content(doc, flat, cfg.content_guard and cfg.unit == "word")
        sd, sh = shingle_hashes(d, h, cfg.ngram)
        sig[lo : lo + len(part)] = hasher.signatures(sd, sh, len(part))
        del doc, flat, d, h, sd, sh
    bands, rows = lsh_params(cfg.threshold, cfg.num_perm)
    pairs = candidate_pairs(sig, bands, rows, block[sel], cfg.max_bucket)
    local = np.full(n, -1, dtype=np.int64)
    local[sel] = np.arange(m)
    if len(drop_pairs):
        pairs = unique_pairs(np.concatenate([pairs, local[drop_pairs]]))
    floor = np.full(len(pairs), cfg.threshold, dtype=np.float32)
    if fuzzy:  # same numbers, content differing by more than filler: LSH at the lower threshold + content guard
        fb, fr = lsh_params(cfg.fuzzy_threshold, cfg.num_perm)
        fp = candidate_pairs(sig, fb, fr, numkey[sel], cfg.max_bucket)
        nk = numkey[sel]
        small = _small_block_pairs(
            nk,
            cfg.small_block,
            exclude=_block_keys(pl.Series([""], dtype=pl.String))[0] if cfg.number_guard == "exact" else None,
        )
        fp = unique_pairs(np.concatenate([fp, small])) if len(small) else fp
        bs = block[sel]
        fp = fp[bs[fp[:, 0]] != bs[fp[:, 1]]]
        if len(drop_pairs):  # already verified by their keys
            known = set(map(tuple, local[drop_pairs].tolist()))
            fp = fp[np.array([tuple(p) not in known for p in fp.tolist()], dtype=bool)] if len(fp) else fp
        if len(fp):
            est = estimated_jaccard(sig, fp)
            fp = fp[est >= cfg.fuzzy_floor]
            texts = canonical.gather(sel)
            ok = np.array(
                [content_compatible(texts[int(a)], texts[int(b)], cfg.dropped_words) for a, b in fp.tolist()],
                dtype=bool,
            )
            stats["near_fuzzy_candidates"], stats["near_fuzzy_verified"] = len(fp), int(ok.sum())
            fp = fp[ok]
        pairs = np.concatenate([pairs, fp])
        floor = np.concatenate([floor, np.full(len(fp), cfg.fuzzy_floor, dtype=np.float32)])
    stats.update({"near_candidates": len(pairs), "lsh_bands": bands, "lsh_rows": rows})
    if len(pairs):
        ok = estimated_jaccard(sig, pairs) >= floor
        if cfg.number_guard == "exact":  # blocking used a hash; confirm on the strings
            g = guard_key.gather(sel)
            ok &= (g.gather(pairs[:, 0]) == g.gather(pairs[:, 1])).to_numpy()
        pairs = pairs[ok]
    stats["near_edges"] = len(pairs)

    def sim_to(c: int, members: np.ndarray) -> np.ndarray:
        return (sig[members] == sig[c]).mean(axis=1)

    star = min(cfg.threshold, cfg.fuzzy_floor) if fuzzy else cfg.threshold
    p_local, s_local = star_clusters(m, pairs, rank[sel], sim_to, star)
    parent[sel] = sel[p_local]
    sim[sel] = s_local
    return parent, sim


def detector_groups(
    texts: list[str],
    domains: list[str] | None,
    rank: np.ndarray,
    cfg: SemanticConfig,
    cache_dir: Path | None,
    stats: dict,
) -> tuple[np.ndarray, np.ndarray]:
    """Semantic dedup with the decontamination detectors, the pool against itself: a row is a duplicate of another
    exactly when decontaminating it against that row would flag it (one "same problem?" decision, measured once).
    Edges are the hits between different rows; star clusters keep the best-ranked row of each."""
    from ..benchmarks import BenchItem
    from ..config.decontaminate import Policy
    from .contamination import BenchmarkIndex, inserted_run

    n = len(texts)
    parent, sim = np.arange(n, dtype=np.int64), np.ones(n, dtype=np.float32)
    if n < 2:
        return parent, sim
    doms = domains or ["math"] * n
    det = cfg.detectors.model_copy(deep=True)
    det.embedding.embedding = cfg.embedding
    det.judge.enabled = False
    index = BenchmarkIndex(
        [BenchItem("pool", str(i), t, d) for i, (t, d) in enumerate(zip(texts, doms))], det, Policy()
    )
    dstats: dict = {}
    hits = index.detect(texts, doms, cache_dir, None, dstats)
    edges: dict[tuple[int, int], float] = {}
    for q, hs in enumerate(hits):
        for h in hs:
            i = int(h.item_id)
            if i != q:
                key = (min(i, q), max(i, q))
                edges[key] = max(edges.get(key, 0.0), 1.0)
    gap = det.ngram.max_inserted
    if gap:  # a pool has no direction: a sentence inserted into either text makes another problem
        plain = index.plain.to_list()
        edges = {
            k: v
            for k, v in edges.items()
            if index.is_code[k[0]]
            or index.is_code[k[1]]
            or max(inserted_run(plain[k[0]], plain[k[1]]), inserted_run(plain[k[1]], plain[k[0]])) < gap
        }
    stats["semantic_edges"] = len(edges)
    stats["semantic_detector"] = {k: v for k, v in dstats.items() if k != "embedding_cache"}
    if "embedding_cache" in dstats:
        stats["embedding_cache"] = dstats["embedding_cache"]
    pairs = np.array(sorted(edges), dtype=np.int64).reshape(-1, 2)

    def sim_to(c: int, members: np.ndarray) -> np.ndarray:
        return np.array([edges.get((min(c, int(m)), max(c, int(m))), 0.0) for m in members], dtype=np.float32)

    return star_clusters(n, pairs, rank, sim_to, 0.5)


def semantic_groups(
    canonical: pl.Series, numbers: pl.Series, rank: np.ndarray, cfg: SemanticConfig, cache_dir: Path | None, stats: dict
) -> tuple[np.ndarray, np.ndarray]:
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


def _strip_wrappers(
    texts: pl.Series,
    canonical: pl.Series,
    numbers: pl.Series,
    number_seq: pl.Series,
    cfg: NearConfig,
    order: bool,
    stats: dict,
):
    """Canonical columns with the pool's learned wrappers cut (see `wrappers.py`) and the mask of cut rows."""
    keys = content_keys(canonical)
    w = wrappers.learn(texts, keys, content_keys, min_count=cfg.wrapper_min_count)
    if w:  # a second round on the cut texts finds wrappers that only ever come with another one
        cut_texts, cut = wrappers.strip(texts, w)
        idx = np.flatnonzero(cut)
        w2 = wrappers.learn(cut_texts.gather(idx), keys[idx], content_keys, min_count=cfg.wrapper_min_count, known=keys)
        w.prefixes |= w2.prefixes
        w.suffixes |= w2.suffixes
    stats["near_wrappers"] = {
        "prefixes": len(w.prefixes),
        "suffixes": len(w.suffixes),
        "examples": sorted(w.prefixes)[:5] + sorted(w.suffixes)[:5],
    }
    cut = np.zeros(len(texts), dtype=bool)
    if not w:
        return canonical, numbers, number_seq, cut
    out, cut = wrappers.strip(texts, w)
    idx = np.flatnonzero(cut)
    stats["near_wrapper_cut"] = len(idx)
    if len(idx):
        cf = canonical_frame(out.gather(idx), order=order)
        canonical = canonical.clone().scatter(idx, cf["canonical"])
        numbers = numbers.clone().scatter(idx, cf["numbers"])
        if order:
            number_seq = number_seq.clone().scatter(idx, cf["number_seq"])
    return canonical, numbers, number_seq, cut


def find_duplicates(
    texts: list[str] | pl.Series,
    rank: np.ndarray | None = None,
    exact: bool = True,
    near: NearConfig | None = None,
    semantic: SemanticConfig | None = None,
    cache_dir: Path | None = None,
    log: Callable[[str], None] | None = None,
    domains: list[str] | None = None,
) -> DedupResult:
    """Duplicate structure of `texts`. `rank`: representative preference, lower is better (default: input order)."""
    need_order = near is not None and near.enabled and near.number_guard == "exact" and near.number_order == "sentence"
    src = texts if isinstance(texts, pl.Series) else pl.Series("text", texts, dtype=pl.String)
    cf = canonical_frame(src, order=need_order)
    canonical, numbers, number_seq = cf["canonical"], cf["numbers"], cf["number_seq"]
    del cf
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
        for i in gi.tolist():
            reason[i] = why
        stats[why] = int(moved.sum())
        active = active[~moved]

    if exact and n:
        rep = exact_groups(canonical, rank)
        apply(rep, np.ones(n, dtype=np.float32), EXACT)
    stripped = np.zeros(n, dtype=bool)
    if near is not None and near.enabled and len(active) > 1:
        c_a, n_a, s_a = canonical.gather(active), numbers.gather(active), number_seq.gather(active)
        if near.wrappers and near.content_guard:
            c_a, n_a, s_a, cut = _strip_wrappers(src.gather(active), c_a, n_a, s_a, near, need_order, stats)
            stripped[active[cut]] = True
        p, s = near_groups(c_a, n_a, rank[active], near, stats, s_a)
        apply(p, s, NEAR)
    if semantic is not None and semantic.enabled and len(active) > 1:
        if semantic.method == "detector":
            p, s = detector_groups(
                src.gather(active).cast(pl.String).fill_null("").to_list(),
                [domains[i] for i in active] if domains else None,
                rank[active],
                semantic,
                cache_dir,
                stats,
            )
        else:
            p, s = semantic_groups(
                canonical.gather(active), numbers.gather(active), rank[active], semantic, cache_dir, stats
            )
        apply(p, s, SEMANTIC)
    root = parent.copy()
    for _ in range(4):  # at most three stages of indirection
        root = parent[root]
    stats["kept"] = int((root == np.arange(n)).sum())
    return DedupResult(canonical, numbers, parent, root, reason, sim, stats, stripped)
