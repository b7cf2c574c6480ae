"""`select:` section (owner: select).

Defaults follow the papers where they say something (AM/DeepDistill for pass rates and CV, REDI for pairs) and keep
every trace otherwise: filters are opt-in, negatives are kept.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Section


class PairsConfig(Section):
    enabled: bool = True
    chosen: Literal["first", "shortest", "random"] = Field(default="first", description="REDI: first/first")
    rejected: Literal["first", "longest", "most_confident", "fewest_reconsiderations", "highest_score", "random"] = (
        Field(
            default="first",
            description="first: generation order (REDI); longest: most completion tokens; most_confident: highest "
            "mean token logprob of the teacher (`traces.mean_logprob`: set `teachers[].logprobs: true`, or "
            "`confidence_model`); fewest_reconsiderations: fewest approach + verification segments (needs `segment:`)",
        )
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
            raise ValueError(
                f"confidence_model is only used by `rejected: most_confident` (rejected is "
                f"{self.rejected!r}); remove it or set rejected: most_confident"
            )
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
