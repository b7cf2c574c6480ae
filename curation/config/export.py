"""`export:` section (owner: audit/export): which trainer formats the export stage writes, and export filters.

Example::

    export:
      formats: [hf, trl-sft, trl-preference, verl]
      filters: {positives_only: true, max_tokens: 16000, reasoning: raw}
      card: {pretty_name: "cotforge demo", language: [en], tags: [math]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from .base import Section

FORMATS = ("hf", "trl-sft", "trl-preference", "trl-prompt", "verl", "llamafactory", "openrlhf")
Format = Literal["hf", "trl-sft", "trl-preference", "trl-prompt", "verl", "llamafactory", "openrlhf"]


class ExportFilters(Section):
    """Applied at export time; the run's tables are never changed (negatives stay in the store)."""

    positives_only: bool = Field(default=True, description="SFT outputs keep only verified-correct traces")
    min_tokens: int | None = Field(default=None, ge=0, description="min reasoning tokens (of the exported text)")
    max_tokens: int | None = Field(default=None, ge=0, description="max reasoning tokens (of the exported text)")
    teachers: list[str] | None = Field(default=None, description="only traces of these teachers")
    min_difficulty: float | None = Field(default=None, ge=0, le=1)
    max_difficulty: float | None = Field(default=None, ge=0, le=1)
    reasoning: Literal["raw", "simplified"] = Field(
        default="raw", description="raw reasoning, or the segment stage's simplified_reasoning"
    )
    prompt: Literal["problem", "teacher"] = Field(
        default="problem", description="user turn = the problem, or the exact chat prompt sent to the teacher"
    )

    @model_validator(mode="after")
    def _ranges(self):
        if self.min_tokens is not None and self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ValueError(f"min_tokens ({self.min_tokens}) > max_tokens ({self.max_tokens})")
        if (
            self.min_difficulty is not None
            and self.max_difficulty is not None
            and self.min_difficulty > self.max_difficulty
        ):
            raise ValueError(f"min_difficulty ({self.min_difficulty}) > max_difficulty ({self.max_difficulty})")
        return self


class CardConfig(Section):
    pretty_name: str | None = None
    license: str | None = Field(default=None, description="override the license derived from the sources")
    language: list[str] = Field(default_factory=lambda: ["en"])
    tags: list[str] = Field(default_factory=list)


class ExportConfig(Section):
    enabled: bool = True
    formats: list[Format] = Field(default_factory=lambda: ["hf"], min_length=1)
    out_dir: Path | None = Field(default=None, description="default: <run_dir>/export; one folder per format")
    filters: ExportFilters = Field(default_factory=ExportFilters)
    card: CardConfig = Field(default_factory=CardConfig)
    max_shard_mb: int = Field(default=300, gt=0, description="target size of one hf parquet shard (uncompressed)")
