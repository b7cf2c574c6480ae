"""`teachers:` and `distill:` sections (owner: teachers/distill)."""

from __future__ import annotations

from typing import Literal

from .base import Section


class TeacherConfig(Section):
    name: str
    backend: Literal["vllm", "openai", "transformers", "replay"]
    model: str | None = None


class DistillConfig(Section):
    enabled: bool = True
