"""TRL-style code reward: completions -> one float per completion (all tests pass, or the pass fraction).

Built for GRPO's shape (prompts × samples completions per call, 8 samples of a prompt sharing its tests): every
distinct (code, tests) pair runs once, all of them at once on the shared sandbox pool, and `areward` is the same
call for an asyncio trainer (TRL's GRPOTrainer awaits async reward functions concurrently with the others).
"""

from __future__ import annotations

import asyncio
import json
import warnings
from concurrent.futures import Future
from typing import Any

from .extract import extract_code
from .pool import default_pool
from .result import TestReport
from .tests_format import TestsError, parse_tests


def _tests_key(tests: Any) -> str:
    return tests if isinstance(tests, str) else json.dumps(tests, sort_keys=True, default=str)


def _score(rep: TestReport, partial: bool) -> float | None:
    if rep.status == "sandbox_error":
        return None  # the sandbox failed, not the program: no signal either way
    return rep.pass_rate if partial else float(rep.passed)


def submit(
    completions: list[Any],
    tests: list[Any],
    language: str | list[str] = "python",
    partial: bool = False,
    workers: int | None = None,
) -> list[Future | float | None]:
    """Start every run now; one entry per completion: a Future of its score, or the score (no code: 0.0)."""
    if len(tests) != len(completions):
        raise ValueError(
            f"reward: {len(completions)} completions but {len(tests)} test sets; pass the dataset's "
            "`tests` column (TRL passes columns as keyword lists aligned with completions)"
        )
    langs = language if isinstance(language, list) else [language] * len(completions)
    if len(langs) != len(completions):
        raise ValueError(f"reward: {len(completions)} completions but {len(langs)} languages")
    pool = default_pool(workers)
    parsed: dict[str, dict | TestsError] = {}
    running: dict[tuple[str, str, str], Future] = {}
    out: list[Future | float | None] = []
    bad = 0
    for comp, t, lang in zip(completions, tests, langs):
        code = extract_code(comp, lang)
        if code is None:
            out.append(0.0)
            continue
        tk = _tests_key(t)
        if tk not in parsed:
            try:
                parsed[tk] = parse_tests(t)
            except TestsError as e:
                parsed[tk] = e
        spec = parsed[tk]
        if isinstance(spec, TestsError):
            bad += 1
            out.append(None)
            continue
        key = (code, tk, lang)
        if key not in running:  # identical samples of a prompt run once
            running[key] = pool.submit(code, spec, language=lang, early_stop=not partial)
        out.append(running[key])
    if bad:
        first = next(e for e in parsed.values() if isinstance(e, TestsError))
        warnings.warn(
            f"code reward: {bad} completion(s) scored None because their tests are malformed ({first})", stacklevel=3
        )
    return [_Scored(f, partial) if isinstance(f, Future) else f for f in out]


class _Scored:
    """A run's future seen as a score (the run is shared by identical completions)."""

    def __init__(self, fut: Future, partial: bool):
        self.fut, self.partial = fut, partial

    def result(self) -> float | None:
        return _score(self.fut.result(), self.partial)


def reward(
    completions: list[Any],
    tests: list[Any],
    language: str | list[str] = "python",
    partial: bool = False,
    workers: int | None = None,
    **kw: Any,
) -> list[float | None]:
    """One score per completion: 1.0 if every test passes (the pass fraction with partial=True), 0.0 when there is
    no code block (`sandboxes.extract`) or the tests fail, None when the sandbox itself failed or the row's tests
    are malformed (TRL skips None). `tests` is aligned with completions (TRL passes dataset columns as keyword
    lists); other TRL keywords (prompts, completion_ids, trainer_state, ...) are ignored."""
    return [x.result() if isinstance(x, _Scored) else x for x in submit(completions, tests, language, partial, workers)]


async def areward(
    completions: list[Any],
    tests: list[Any],
    language: str | list[str] = "python",
    partial: bool = False,
    workers: int | None = None,
    **kw: Any,
) -> list[float | None]:
    """`reward` for an event loop: the runs start at once and are awaited without blocking the loop."""
    items = submit(completions, tests, language, partial, workers)
    futs = {id(x.fut): asyncio.wrap_future(x.fut) for x in items if isinstance(x, _Scored)}
    if futs:
        await asyncio.gather(*futs.values())
    return [_score(futs[id(x.fut)].result(), x.partial) if isinstance(x, _Scored) else x for x in items]
