"""Where the LLM parts of curation/cot get a `generate(prompts) -> texts` function from a manifest teacher."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import UserError

Generate = Callable[[list[str]], list[str]]


def teacher_generate(manifest: Any, name: str, cache_dir: Path) -> Generate:
    """A generate function over the named teacher (distill's backends and request cache)."""
    names = [t.name for t in getattr(manifest, "teachers", [])]
    if name not in names:
        raise UserError(f"teacher {name!r} is not in `teachers:` (have: {', '.join(names) or 'none'})")
    try:
        from ..teachers import generate_function  # type: ignore[attr-defined]
    except ImportError as e:
        raise UserError(
            f"LLM steps need a live teacher backend (curation.teachers.generate_function), not available in this "
            f"build ({e}); use the heuristic segmenter / embedding clustering / deletion rewrite instead"
        ) from None
    teacher = next(t for t in manifest.teachers if t.name == name)
    return generate_function(teacher, cache_dir=cache_dir)
