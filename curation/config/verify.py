"""`verify:` section (owner: verify). Verifiers label every trace; nothing is removed here."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

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
