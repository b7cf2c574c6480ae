"""`sources:` and `collect:` sections: where queries come from and how fields map into the queries table."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr, model_validator

from .base import Section, check_env_ref


class FieldMap(Section):
    """Source column names for each queries column (dotted paths reach into nested dicts)."""

    problem: str = "problem"
    reference_answer: str | None = "answer"
    source_id: str | None = "id"
    tests: str | None = None
    domain: str | None = None
    metadata: list[str] = Field(default_factory=list, description="extra columns kept in `metadata` JSON")


class HFSpec(Section):
    path: str = Field(description="dataset id or local folder/builder name (json, parquet, csv)")
    name: str | None = None
    split: str = "train"
    revision: str | None = None
    data_files: list[str] | str | None = None
    token: str | None = None

    @model_validator(mode="after")
    def _secret(self):
        check_env_ref(self.token, "hf.token")
        return self


class MemorySpec(Section):
    """What identifies an in-memory source in lock.json: a content fingerprint, never the rows themselves."""

    fingerprint: str = Field(description="blake2b of the rows as Arrow IPC (set by the Python API)")
    rows: int = Field(ge=0)
    columns: list[str] = Field(default_factory=list)
    type: str = Field(default="", description="the Python type the rows came from, e.g. polars.DataFrame")


class SourceConfig(Section):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$", description="unique; becomes the `source` column")
    kind: Literal["jsonl", "parquet", "csv", "hf", "memory"] = Field(
        description="jsonl also reads .jsonl.gz; memory: rows passed in Python (`curation.Pipeline`)"
    )
    path: Path | None = Field(default=None, description="file for jsonl/parquet/csv")
    hf: HFSpec | None = Field(default=None, description="datasets.load_dataset arguments (kind: hf)")
    memory: MemorySpec | None = Field(default=None, description="kind memory: fingerprint of the rows (set by the API)")
    fields: FieldMap = Field(default_factory=FieldMap, description="source column per queries column")
    domain: Literal["math", "code", "science", "general"] = Field(
        default="math", description="for rows without a domain field"
    )
    tests_format: Literal["auto", "json", "assert_list", "humaneval", "stdio"] = "auto"
    test_setup_field: str | None = Field(default=None, description="e.g. MBPP test_setup_code")
    entry_point_field: str | None = Field(default=None, description="e.g. HumanEval entry_point")
    limit: int | None = Field(default=None, gt=0, description="read at most this many rows")
    license: str | None = Field(default=None, description="carried into metadata and the dataset card")

    # kind memory: the Arrow table itself, attached by curation.api; never serialized.
    _data: object = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _where(self):
        if self.kind == "memory":
            if self.path is not None or self.hf is not None:
                raise ValueError(
                    "kind 'memory' takes its rows from Python (Pipeline.from_dict/from_yaml(..., "
                    "sources={name: data})); drop `path:`/`hf:`"
                )
        elif self.kind == "hf":
            if self.hf is None:
                raise ValueError("kind 'hf' needs an `hf:` block (path, name, split, data_files)")
        elif self.path is None:
            raise ValueError(f"kind {self.kind!r} needs `path:` (a file, relative to the manifest)")
        return self


class CollectConfig(Section):
    batch_size: int = Field(default=5000, gt=0, description="rows per parquet part (bounded memory; unit of resume)")
    nfkc: bool = Field(default=True, description="unicode NFKC + whitespace normalization")
    require_reference_answer: Literal["auto", "always", "never"] = Field(
        default="auto", description="auto: math queries need an answer when the verify stage is on"
    )
