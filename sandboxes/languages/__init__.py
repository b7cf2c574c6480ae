"""Language runners: how to turn source into a sandboxed argv (plus an optional compile step)."""

from __future__ import annotations

from .base import Language, Prepared, get_language, register_language
from .cpp import Cpp
from .python import Python

register_language(Python())
register_language(Cpp())

__all__ = ["Language", "Prepared", "get_language", "register_language"]
