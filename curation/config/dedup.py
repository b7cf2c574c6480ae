"""`dedup:` section (owner: dedup). The semantic step can use the decontamination detectors
(`config/decontaminate.py`).

Example::

    dedup:
      exact: true
      near: {threshold: 0.6, num_perm: 128, ngram: 2, number_guard: exact, content_guard: true}
      semantic: {enabled: false, threshold: 0.95}
      keep: has_answer_then_first
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Section
from .decontaminate import Detectors
from .embedding import EmbeddingConfig


class NearConfig(Section):
    enabled: bool = True
    threshold: float = Field(default=0.6, gt=0, le=1, description="estimated Jaccard of content-word n-gram sets")
    num_perm: int = Field(
        default=128,
        ge=16,
        le=1024,
        description="signatures are computed only for texts that share a guard block "
        "(13% of rows on the synthetic pool), so 128 costs ~0.2 s per 200k rows; 64 lost 9 merges (recall 0.9998)",
    )
    ngram: int = Field(default=2, ge=1, le=16)
    unit: Literal["word", "char"] = "word"
    number_guard: Literal["exact", "off"] = Field(
        default="exact", description="exact: merge only queries whose number multisets are equal"
    )
    number_order: Literal["sentence", "off"] = Field(
        default="sentence",
        description="with number_guard exact: numbers must also appear in the same order within "
        "each sentence (sentences may be reordered); rejects 'x-y=6, x+y=12' vs 'x-y=12, x+y=6'",
    )
    content_guard: bool = Field(
        default=True,
        description="merge only when the token multisets differ in filler words alone "
        "(rejects 'find $x$' vs 'find $y$', '2n+1' vs '2n-1', 'RADII' vs 'MADAM')",
    )
    dropped_words: bool = Field(
        default=False,
        description="with content_guard: also merge texts whose content differs by one dropped word "
        "(not a number, not a word like 'not', 'positive', 'smallest': see dedup.KEEP_WORDS). Off by default: on the "
        "blind corpus it merged 'a list' / 'a nested list' and 'a function' / 'a python function' (other problems)",
    )
    fuzzy: bool = Field(
        default=True,
        description="with content_guard: also compare texts with the same numbers whose content words "
        "differ (LSH at fuzzy_threshold), merged when the differences are typos and at most one dropped word",
    )
    fuzzy_threshold: float = Field(default=0.4, gt=0, le=1, description="LSH threshold of the fuzzy path")
    fuzzy_floor: float = Field(default=0.25, ge=0, le=1, description="least estimated Jaccard of a fuzzy pair")
    small_block: int = Field(
        default=16,
        ge=2,
        description="number blocks up to this size: every pair is a fuzzy "
        "candidate (no LSH), verified by the content guard",
    )
    wrappers: bool = Field(
        default=True,
        description="learn the pool's instruction wrappers (frequent number-free leading/trailing "
        "sentences that the pool shows to be removable) and cut them before comparing; see text/wrappers.py",
    )
    wrapper_min_count: int = Field(default=3, ge=2, description="texts a wrapper must start or end")
    max_bucket: int = Field(default=64, ge=2)
    seed: int = 1


class SemanticConfig(Section):
    enabled: bool = False
    method: Literal["detector", "cosine"] = Field(
        default="detector",
        description="detector: the decontamination detectors, pool against itself (one "
        "'same problem?' decision for both stages: tests, translation, n-gram/substring copies, embedding with the "
        "question and formula checks); cosine: number-blocked cosine ≥ threshold (the old rule)",
    )
    detectors: Detectors = Field(default_factory=Detectors)
    threshold: float = Field(
        default=0.95, gt=0, le=1, description="method cosine: cosine similarity (always number-guarded)"
    )
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    max_block: int = Field(
        default=20000, ge=2, description="number blocks above this size are split with k-means (SemDeDup)"
    )


class DedupConfig(Section):
    enabled: bool = True
    exact: bool = True
    near: NearConfig = Field(default_factory=NearConfig)
    semantic: SemanticConfig = Field(default_factory=SemanticConfig)
    keep: Literal["has_answer_then_first", "first"] = Field(
        default="has_answer_then_first",
        description="representative rule: rows with a reference answer or tests first, then input order",
    )

    @model_validator(mode="before")
    @classmethod
    def _bool_shorthand(cls, data):
        # `near: false` / `semantic: true` are accepted as shorthands for `{enabled: …}`.
        if isinstance(data, dict):
            data = dict(data)
            for key in ("near", "semantic"):
                if isinstance(data.get(key), bool):
                    data[key] = {"enabled": data[key]}
        return data
