"""The stage contract and the one registry of stages, in run order.

A stage is a module in this package with `run(ctx)`; it may define `enabled(manifest)`, `fingerprint_config(manifest)`,
`resources(manifest)` and `batch_size(manifest)`, else the defaults below apply (on when its manifest section is
present and enabled; the section's JSON; one CPU; no batch size). `REGISTRY` lists them in run order: adding a stage
is one module plus one line here (its config model and manifest field stay where a section's settings live). The
runner, API, CLI and audit ask this registry, never the modules directly, so an executor has one seam to drive.

Code versions are derived from source (`curation.codeversion`); this module is orchestration, so editing it does
not change any stage's version (it is in `codeversion.FRAMEWORK`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..manifest import Manifest
    from ..stage import StageContext


@dataclass(frozen=True)
class Resources:
    """What one run of a stage asks for. Declared, not enforced: the local runner runs stages in-process one at a
    time; an executor (a scheduler, a cluster) reads these to place the stage."""

    cpus: int = 1
    gpus: int = 0
    memory_gib: float | None = None  # None: no declared bound


@runtime_checkable
class Stage(Protocol):
    name: str

    def config(self, manifest: Manifest) -> Any: ...
    def enabled(self, manifest: Manifest) -> bool: ...
    def fingerprint_config(self, manifest: Manifest) -> Any: ...
    def code_version(self) -> str: ...
    def resources(self, manifest: Manifest) -> Resources: ...
    def batch_size(self, manifest: Manifest) -> int | None: ...
    def run(self, ctx: StageContext) -> None: ...


@dataclass(frozen=True)
class ModuleStage:
    """A `Stage` backed by `curation.stages.<name>`; the module is imported on first use (stage modules import
    this package, so importing them here eagerly would be circular)."""

    name: str

    @cached_property
    def module(self) -> ModuleType:
        return importlib.import_module(f"{__name__}.{self.name}")

    def config(self, manifest: Manifest) -> Any:
        """The stage's manifest section (None when the manifest has none)."""
        return getattr(manifest, self.name, None)

    def enabled(self, manifest: Manifest) -> bool:
        if hasattr(self.module, "enabled"):
            return bool(self.module.enabled(manifest))
        cfg = self.config(manifest)
        return cfg is not None and getattr(cfg, "enabled", True)

    def fingerprint_config(self, manifest: Manifest) -> Any:
        if hasattr(self.module, "fingerprint_config"):
            return self.module.fingerprint_config(manifest)
        cfg = self.config(manifest)
        return cfg.model_dump(mode="json") if cfg is not None else None

    def code_version(self) -> str:
        from ..codeversion import code_version

        return code_version(f"{__name__}.{self.name}")

    def resources(self, manifest: Manifest) -> Resources:
        if hasattr(self.module, "resources"):
            return self.module.resources(manifest)
        return Resources()

    def batch_size(self, manifest: Manifest) -> int | None:
        """Rows per keyed part (the unit of resume), for stages that work in batches."""
        if hasattr(self.module, "batch_size"):
            return self.module.batch_size(manifest)
        return None

    def run(self, ctx: StageContext) -> None:
        self.module.run(ctx)


REGISTRY: dict[str, Stage] = {
    s.name: s
    for s in (
        ModuleStage("collect"),
        ModuleStage("dedup"),
        ModuleStage("decontaminate"),
        ModuleStage("distill"),
        ModuleStage("verify"),
        ModuleStage("segment"),
        ModuleStage("select"),
        ModuleStage("export"),
    )
}
NAMES: list[str] = list(REGISTRY)


def get(name: str) -> Stage:
    try:
        return REGISTRY[name]
    except KeyError:
        from ..errors import UserError

        raise UserError(f"unknown stage {name!r}; stages are: {', '.join(NAMES)}") from None
