"""Instruction wrappers learned from the pool itself, stripped before near dedup.

Real pools carry prompt-template prefixes ("You are a careful math tutor. Solve the following:") and closing
instructions ("Show your work and box the answer.") that no fixed list covers. A leading or trailing segment is a
wrapper of THIS pool when (1) it holds no number, (2) it starts or ends at least `min_count` texts, and (3) the pool
itself shows it is removable: for at least `min_support` of those texts (and `min_share` of them), what is left once
it is cut has the same content words as another whole text of the pool (the unwrapped copy is there). Condition (3)
is what keeps a template's own frequent sentences ("How many apples are left?", "A store sells pens.") from being
taken for wrappers: cutting them leaves a text that nothing in the pool equals.

Segments end at a sentence mark or colon followed by space, or at a line break. Up to `max_depth` segments are
considered at each end, so a two-sentence preamble is learned as one wrapper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from .canonical import canonical_frame, fold

_SEP = "\u241f"
_BOUNDARY = r"([.?!:](?:\$|\\\]|\\\))?)[ \t]+|[ \t]*\n+[ \t]*"  # "….$ Show …", "…\] Explain …"


@dataclass
class Wrappers:
    prefixes: set[str] = field(default_factory=set)
    suffixes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.suffixes)


def _norm(e: pl.Expr) -> pl.Expr:
    """Light key for a segment: letters and digits only, single spaces (case is already folded)."""
    return e.str.replace_all(r"[^\w]+", " ").str.strip_chars()


def segments(texts: pl.Series) -> pl.Series:
    """Folded texts split into segments (list column); sentence marks stay with their segment."""
    f = fold(texts)
    return f.str.replace_all(_BOUNDARY, "$1" + _SEP).str.strip_chars(_SEP + " ").str.split(_SEP)


def _ends(segs: pl.Series, k: int, side: str) -> pl.DataFrame:
    """(i, key, rest) for texts with more than k segments: key of the first/last k segments, the remaining text."""
    n = segs.list.len()
    df = pl.DataFrame({"s": segs, "n": n, "i": np.arange(len(segs))}).filter(pl.col("n") > k)
    if side == "prefix":
        head, rest = pl.col("s").list.head(k), pl.col("s").list.slice(k)
        inner = pl.col("s").list.slice(k, pl.col("n") - k - 1)  # and without the last segment
    else:
        head, rest = pl.col("s").list.tail(k), pl.col("s").list.head(pl.col("n") - k)
        inner = pl.col("s").list.slice(1, pl.col("n") - k - 1)
    return df.select(
        "i",
        _norm(head.list.join(" ")).alias("key"),
        rest.list.join(" ").alias("rest"),
        pl.when(pl.col("n") > k + 1).then(inner.list.join(" ")).otherwise(pl.lit("")).alias("inner"),
    )


def learn(
    texts: pl.Series,
    full_keys: np.ndarray,
    content_keys,
    known: np.ndarray | None = None,
    min_count: int = 3,
    min_support: int = 2,
    min_share: float = 0.05,
    max_depth: int = 3,
    sample: int = 50,
    max_keys: int = 300,
) -> Wrappers:
    """Wrappers of this pool (see module doc). `full_keys`: content key of every whole text (`content_keys`
    applied to its canonical form); `known`: the content keys a remainder is looked up in (default `full_keys`;
    a second round learns on the cut texts only but looks up the whole pool); `content_keys`: that function (passed in to avoid an import cycle). Support is
    estimated on up to `sample` texts of each of the `max_keys` most frequent candidates (bounded cost)."""
    segs = segments(texts)
    known = pl.DataFrame({"k": full_keys if known is None else known})
    out = Wrappers()
    for side in ("prefix", "suffix"):
        found: set[str] = set()
        for k in range(1, max_depth + 1):
            e = _ends(segs, k, side)
            e = e.filter((pl.col("key") != "") & ~pl.col("key").str.contains(r"\d"))
            counts = e.group_by("key").len()
            cand = counts.filter(pl.col("len") >= min_count).sort("len", descending=True).head(max_keys)
            # support is estimated on up to `sample` texts per candidate (a common wrapper starts thousands)
            e = e.join(cand, on="key").group_by("key", maintain_order=True).head(sample)
            if e.height == 0:
                continue
            # what is left, with and without the segment at the other end (a wrapper on both sides)
            c2 = canonical_frame(pl.concat([e["rest"], e["inner"]]), order=False)["canonical"]
            keys2 = content_keys(c2)
            rk, ik = keys2[: e.height], keys2[e.height :]
            own = full_keys[e["i"].to_numpy()]
            e = e.with_columns(
                pl.Series("rk", rk),
                pl.Series("ik", ik),
                pl.Series("own", own),
                (pl.col("inner") != "").alias("has_inner"),
            )
            kk = known["k"].implode()
            e = e.with_columns(
                (
                    (pl.col("rk").is_in(kk) & (pl.col("rk") != pl.col("own")))
                    | (pl.col("has_inner") & pl.col("ik").is_in(kk) & (pl.col("ik") != pl.col("own")))
                ).alias("sup")
            )
            agg = e.group_by("key").agg(pl.col("sup").sum().alias("sup"), pl.len().alias("cnt"))
            ok = agg.filter((pl.col("sup") >= min_support) & (pl.col("sup") >= min_share * pl.col("cnt")))
            found.update(ok["key"].to_list())
        (out.prefixes if side == "prefix" else out.suffixes).update(found)
    return out


def strip(texts: pl.Series, wrappers: Wrappers, max_depth: int = 3, rounds: int = 3) -> tuple[pl.Series, np.ndarray]:
    """(folded texts with learned wrappers cut from both ends, mask of changed rows). The longest learned wrapper at each
    end is cut first; repeated `rounds` times (a preamble of two learned wrappers). A text is never cut to
    nothing."""
    changed = np.zeros(len(texts), dtype=bool)
    if not wrappers:
        return fold(texts), changed
    cur = segments(texts)
    rows = np.arange(len(texts))  # rows of `cur` in the input; later rounds only revisit rows that were cut
    done = cur.list.join(" ")
    for _ in range(rounds):
        n = cur.list.len().to_numpy()
        cut_head = np.zeros(len(cur), dtype=np.int64)
        cut_tail = np.zeros(len(cur), dtype=np.int64)
        for k in range(max_depth, 0, -1):
            for side, keys, cut in (("prefix", wrappers.prefixes, cut_head), ("suffix", wrappers.suffixes, cut_tail)):
                if keys:
                    idx = _ends(cur, k, side).filter(pl.col("key").is_in(list(keys)))["i"].to_numpy()
                    idx = idx[cut[idx] == 0]
                    cut[idx] = k
        cut_tail[cut_head + cut_tail >= n] = 0
        cut_head[cut_head >= n] = 0
        hit = np.flatnonzero((cut_head > 0) | (cut_tail > 0))
        if len(hit) == 0:
            break
        changed[rows[hit]] = True
        new = pl.DataFrame({"s": cur.gather(hit), "h": cut_head[hit], "t": (n - cut_head - cut_tail)[hit]}).select(
            pl.col("s").list.slice(pl.col("h"), pl.col("t"))
        )["s"]
        done = done.scatter(rows[hit], new.list.join(" "))
        cur, rows = new, rows[hit]
    return done.alias(texts.name), changed
