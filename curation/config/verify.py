"""`verify:`, `segment:` and `select:` sections (owner: verify/segment/select)."""

from __future__ import annotations

from .base import Section


class VerifyConfig(Section):
    enabled: bool = True
    workers: int = 2
    timeout_ms: int = 3000


class SegmentConfig(Section):
    enabled: bool = True


class SelectConfig(Section):
    enabled: bool = True
