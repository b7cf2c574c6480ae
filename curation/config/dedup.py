"""`dedup:` and `decontaminate:` sections (owner: dedup/decontamination)."""

from __future__ import annotations

from .base import Section


class DedupConfig(Section):
    enabled: bool = True
    exact: bool = True
    near: bool = True
    semantic: bool = False


class DecontaminateConfig(Section):
    enabled: bool = True
    benchmarks: list[str] = []
