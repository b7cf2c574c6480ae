"""Teachers: backends behind one protocol (`base.Backend`), a shared request cache, output parsing."""

from __future__ import annotations

from ..config.distill import TeacherConfig
from .base import Backend, Choice, Request, Result


def make_backend(teacher: TeacherConfig) -> Backend:
    """Build the live backend of a teacher (imports its engine lazily: vLLM/torch load only when used)."""
    if teacher.backend == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend(teacher)
    if teacher.backend == "transformers":
        from .transformers import TransformersBackend

        return TransformersBackend(teacher)
    if teacher.backend == "vllm":
        from .vllm import VLLMBackend

        return VLLMBackend(teacher)
    raise ValueError(
        f"teacher {teacher.name!r}: backend {teacher.backend!r} has no live generation (replay is "
        "read by the distill stage directly)"
    )


__all__ = ["Backend", "Choice", "Request", "Result", "make_backend"]
