"""TRL-style reward: reward(completions, solution, **kw) -> list[float | None]."""
from __future__ import annotations

from typing import Any, Optional, Sequence


def completion_text(c: Any) -> str:
    """TRL passes strings, or chat messages [{'role': 'assistant', 'content': ...}] (content may be parts)."""
    if c is None:
        return ""
    if isinstance(c, str):
        return c
    if isinstance(c, dict):
        content = c.get("content", "")
        if isinstance(content, list):  # multimodal parts
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else str(content)
    if isinstance(c, (list, tuple)):
        msgs = [m for m in c if isinstance(m, dict)]
        assistant = [m for m in msgs if m.get("role") == "assistant"] or msgs
        return completion_text(assistant[-1]) if assistant else ""
    return str(c)


def reward(completions: Sequence[Any], solution: Sequence[str], *, workers: int = 1,
           timeout_ms: Optional[int] = None, **kwargs: Any) -> list[Optional[float]]:
    """1.0 equivalent, 0.0 not (or no answer), None when the gold cannot be used (the row is skipped).

    Extra TRL keyword arguments (prompts, other dataset columns, trainer_state) are ignored.
    """
    from . import verify_batch
    from .core import make_options  # noqa: F401  (validates option names below)
    from .parse import Options

    known = {k: v for k, v in kwargs.items() if k in Options.__dataclass_fields__}
    if len(completions) != len(solution):
        raise ValueError(f"reward: {len(completions)} completions but {len(solution)} solutions")
    pairs = [(str(s) if s is not None else "", completion_text(c)) for c, s in zip(completions, solution)]
    verdicts = verify_batch(pairs, workers=workers, timeout_ms=timeout_ms, **known)
    out: list[Optional[float]] = []
    for v in verdicts:
        if v.status == "ok" or v.status in ("no_answer",) or (v.status == "parse_error" and v.method == "parse_pred"):
            out.append(1.0 if v.equivalent else 0.0)
        elif v.method in ("parse_gold",) or (v.status == "parse_error" and v.extracted_gold is None):
            out.append(None)
        else:  # timeout / too_large / error on the prediction side: no credit
            out.append(0.0)
    return out
