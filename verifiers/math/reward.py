"""TRL-style reward: reward(completions, solution, **kw) -> list[float | None]."""

from __future__ import annotations

import asyncio
import os
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


def default_workers() -> int:
    """Reward calls verify a whole GRPO batch at once: one worker per core (at most 8) for the sympy cases."""
    return max(1, min(os.cpu_count() or 1, 8))


def start_workers(workers: Optional[int] = None) -> None:
    """Start the reward's verifier processes now and wait until they are warm (call before the first step)."""
    from .workers import DEFAULT_MEMORY_MB, get_pool

    get_pool(workers or default_workers(), DEFAULT_MEMORY_MB).warm()


def _gold_failed(v: Any) -> bool:
    return v.method == "parse_gold" or (v.status == "parse_error" and v.extracted_gold is None)


def reward(
    completions: Sequence[Any],
    solution: Sequence[str],
    *,
    workers: Optional[int] = None,
    timeout_ms: Optional[int] = None,
    **kwargs: Any,
) -> list[Optional[float]]:
    """1.0 equivalent, 0.0 not (or no answer), None when the gold cannot be used: every completion of a gold that
    failed to extract or parse gets None (TRL skips the row), whatever its own answer was.

    Numbers are decided in this process; the rest go to `workers` verifier processes at once (default: one per
    core, at most 8).

    With TRL's `prompts`, an answer that restates the question's own expression, or equals the reference in value
    but not in the form the problem demands (lowest terms, gcd 1, interval notation), earns 0.0: numeric
    equivalence alone can be gamed (`problem.py`). Other extra keyword arguments (dataset columns, trainer_state)
    are ignored.
    """
    from . import verify_batch
    from .parse import Options

    known = {k: v for k, v in kwargs.items() if k in Options.__dataclass_fields__}
    if len(completions) != len(solution):
        raise ValueError(
            f"reward: {len(completions)} completions but {len(solution)} solutions; pass the dataset's "
            "`solution` column (TRL passes columns as keyword lists aligned with completions)"
        )
    golds = [str(s) if s is not None else "" for s in solution]
    pairs = [(g, completion_text(c)) for c, g in zip(completions, golds)]
    verdicts = verify_batch(pairs, workers=workers or default_workers(), timeout_ms=timeout_ms, **known)
    bad = {g for g, v in zip(golds, verdicts) if _gold_failed(v)}
    gamed = [False] * len(verdicts)  # verdicts may be shared between identical pairs: never mutate them
    prompts = kwargs.get("prompts")
    if prompts is not None and len(prompts) == len(verdicts):
        from .problem import form_violation, restates_question

        for i, (v, prompt, gold) in enumerate(zip(verdicts, prompts, golds)):
            problem = _prompt_text(prompt)
            gamed[i] = bool(v.equivalent) and (
                restates_question(problem, v.extracted_pred, gold) or form_violation(problem, v.extracted_pred, gold)
            )
    out: list[Optional[float]] = []
    for g, v, bad_form in zip(golds, verdicts, gamed):
        if g in bad:
            out.append(None)
        elif v.status in ("ok", "no_answer") or (v.status == "parse_error" and v.method == "parse_pred"):
            out.append(1.0 if v.equivalent and not bad_form else 0.0)
        else:  # timeout / too_large / error on the prediction side: no credit
            out.append(0.0)
    return out


async def areward(completions: Sequence[Any], solution: Sequence[str], **kw: Any) -> list[Optional[float]]:
    """`reward` for an event loop (TRL's GRPOTrainer awaits async reward functions concurrently): the batch is
    verified on a thread, never on the loop."""
    return await asyncio.to_thread(reward, completions, solution, **kw)


def _prompt_text(p: Any) -> str:
    """The problem as TRL passes it: a string, or chat messages (the last user turn)."""
    if isinstance(p, (list, tuple)):
        users = [m for m in p if isinstance(m, dict) and m.get("role") == "user"]
        return completion_text(users[-1]) if users else ""
    return completion_text(p)
