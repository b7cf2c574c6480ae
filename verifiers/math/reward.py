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

    With TRL's `prompts`, an answer that restates the question's own expression, or equals the reference in value
    but not in the form the problem demands (lowest terms, gcd 1, interval notation), earns 0.0: numeric
    equivalence alone can be gamed (`problem.py`). Other extra keyword arguments (dataset columns, trainer_state)
    are ignored.
    """
    from . import verify_batch
    from .core import make_options  # noqa: F401  (validates option names below)
    from .parse import Options

    known = {k: v for k, v in kwargs.items() if k in Options.__dataclass_fields__}
    if len(completions) != len(solution):
        raise ValueError(f"reward: {len(completions)} completions but {len(solution)} solutions")
    pairs = [(str(s) if s is not None else "", completion_text(c)) for c, s in zip(completions, solution)]
    verdicts = verify_batch(pairs, workers=workers, timeout_ms=timeout_ms, **known)
    prompts = kwargs.get("prompts")
    if prompts is not None and len(prompts) == len(verdicts):
        from .problem import form_violation, restates_question

        for v, prompt, (gold, _) in zip(verdicts, prompts, pairs):
            problem = _prompt_text(prompt)
            if v.equivalent and (restates_question(problem, v.extracted_pred, gold)
                                 or form_violation(problem, v.extracted_pred, gold)):
                v.equivalent = False
    out: list[Optional[float]] = []
    for v in verdicts:
        if v.status == "ok" or v.status in ("no_answer",) or (v.status == "parse_error" and v.method == "parse_pred"):
            out.append(1.0 if v.equivalent else 0.0)
        elif v.method in ("parse_gold",) or (v.status == "parse_error" and v.extracted_gold is None):
            out.append(None)
        else:  # timeout / too_large / error on the prediction side: no credit
            out.append(0.0)
    return out


def _prompt_text(p: Any) -> str:
    """The problem as TRL passes it: a string, or chat messages (the last user turn)."""
    if isinstance(p, (list, tuple)):
        users = [m for m in p if isinstance(m, dict) and m.get("role") == "user"]
        return completion_text(users[-1]) if users else ""
    return completion_text(p)
