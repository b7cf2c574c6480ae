"""`export:` section (owner: audit/export)."""

from __future__ import annotations

from .base import Section


class ExportConfig(Section):
    enabled: bool = True
    formats: list[str] = []
