"""GRPO reward functions in TRL's signature `f(prompts, completions, **columns) -> list[float | None]`.

Accuracy routes each row by its own columns: a row with `tests` is code (fraction or all-or-nothing of the tests in
`sandboxes`), a row with `solution` is math (`verifiers.math`, `None` when the gold cannot be parsed so TRL skips the
row rather than rewarding or punishing it). Both checkers take the whole batch at once: one call verifies the 512
completions of a 64×8 GRPO step on worker pools instead of one at a time.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Callable

from verifiers.math.reward import completion_text

_THINK_DONE = re.compile(r"</think>\s*\S", re.S)
_FINAL = re.compile(r"\\boxed\{|```", re.S)


def accuracy_reward(workers: int | None = None, partial: bool = False) -> Callable[..., Any]:
    """An async reward (TRL's GRPOTrainer awaits async rewards concurrently): the math rows and the code rows of a
    batch are checked at the same time, each batch on its own worker pool."""

    async def accuracy(
        prompts: list[Any],
        completions: list[Any],
        solution: list[Any] | None = None,
        tests: list[Any] | None = None,
        **kw: Any,
    ) -> list[float | None]:
        from sandboxes.reward import areward as code_reward
        from verifiers.math.reward import areward as math_reward

        n = len(completions)
        solution = solution if solution is not None else [None] * n
        tests = tests if tests is not None else [None] * n
        out: list[float | None] = [None] * n
        code_idx = [i for i in range(n) if tests[i] not in (None, "", [])]
        is_code = set(code_idx)
        math_idx = [i for i in range(n) if i not in is_code and solution[i] not in (None, "")]
        jobs = []
        if math_idx:
            jobs.append(
                (
                    math_idx,
                    math_reward(
                        [completions[i] for i in math_idx], [str(solution[i]) for i in math_idx], workers=workers
                    ),
                )
            )
        if code_idx:
            jobs.append(
                (
                    code_idx,
                    code_reward(
                        [completions[i] for i in code_idx],
                        [tests[i] for i in code_idx],
                        partial=partial,
                        workers=workers,
                    ),
                )
            )
        results = await asyncio.gather(*(j for _, j in jobs))
        for (idx, _), scores in zip(jobs, results):
            for i, s in zip(idx, scores):
                out[i] = s
        return out

    return accuracy


def format_reward(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float]:
    """1 when the reasoning is closed (`</think>` followed by an answer) and a final answer is marked (boxed or a
    code block), 0.5 for one of the two, else 0."""
    out = []
    for c in completions:
        text = completion_text(c)
        closed = bool(_THINK_DONE.search(text)) or "<think>" not in text
        marked = bool(_FINAL.search(text.rsplit("</think>", 1)[-1]))
        out.append((closed + marked) / 2)
    return out


def length_reward(target_chars: int) -> Callable[..., list[float]]:
    """DAPO-style soft overlong penalty: 0 up to the target, falling linearly to −1 at twice the target."""

    def length(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float]:
        out = []
        for c in completions:
            n = len(completion_text(c))
            out.append(0.0 if n <= target_chars else max(-1.0, -(n - target_chars) / target_chars))
        return out

    return length


def build(
    specs: list[Any], partial: bool = False, length_target: int | None = None, workers: int | None = None
) -> tuple[list[Callable], list[float]]:
    funcs, weights = [], []
    for s in specs:
        if s.name == "accuracy":
            funcs.append(accuracy_reward(workers, partial))
        elif s.name == "format":
            funcs.append(format_reward)
        else:
            if length_target is None:
                from curation.errors import UserError

                raise UserError("rewards: `length` needs length_target (characters) in the rl config")
            funcs.append(length_reward(length_target))
        weights.append(s.weight)
    return funcs, weights
