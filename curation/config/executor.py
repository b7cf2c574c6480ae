"""`executor:` section: who runs the stages' batch functions (never part of a fingerprint: same tables either way)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .base import Section


class ExecutorConfig(Section):
    kind: Literal["local", "ray"] = Field(
        default="local",
        description="local: in this process (stages bring their "
        "own worker pools); ray: Ray Data actors, on a local instance or a cluster",
    )
    address: str | None = Field(
        default=None,
        description="ray: cluster to join ('auto', 'ray://head:10001', "
        "'head:6379'); None starts a local instance on this machine",
    )
    num_cpus: int | None = Field(
        default=None, ge=1, description="ray, local instance only: CPUs it may use (default: all)"
    )
    num_gpus: int | None = Field(default=None, ge=0, description="ray, local instance only: GPUs it may use")
    object_store_mb: int | None = Field(
        default=None,
        ge=64,
        description="ray, local instance only: object store size (only keys and counters travel through it)",
    )
    log_to_driver: bool = Field(default=False, description="ray: forward worker logs to this terminal")

    @field_validator("address")
    @classmethod
    def _address(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError(
                "address is empty: leave it out to start a local Ray instance, or give 'auto' or 'ray://<head>:10001'"
            )
        return v
