"""Symbolic math-answer verifier: extract -> normalize -> parse (guarded) -> compare, isolated in workers.

Public API: extract, parse, verify, verify_batch, averify, reward, areward, start_workers, Verdict.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Iterable, Optional

from .extract import Extraction, extract
from .parse import Options, parse

# Bound here, not imported inside a wrapper: a function-level `from .reward import ...` makes the package
# attribute `reward` the submodule, so `verifiers.math.reward(...)` failed on its second call.
from .reward import areward, reward, start_workers  # noqa: E402
from .verdict import Verdict

__all__ = [
    "extract",
    "parse",
    "verify",
    "verify_batch",
    "averify",
    "reward",
    "areward",
    "start_workers",
    "Verdict",
    "Extraction",
    "Options",
]

FAST_MAX_CHARS = 20_000


def _fast(gold: Any, prediction: Any) -> Optional[Verdict]:
    """In-process answer for plain numbers (most answers): no sympy, no IPC. None = needs a worker."""
    return _fast_keyed(gold, prediction)[0]


def _fast_keyed(gold: Any, prediction: Any) -> tuple[Optional[Verdict], Optional[tuple]]:
    from .core import fast_verify_keyed

    if (
        not isinstance(gold, str)
        or not isinstance(prediction, str)
        or len(prediction) > FAST_MAX_CHARS
        or len(gold) > 2000
    ):
        return None, None
    return fast_verify_keyed(gold, prediction)


def verify(
    gold: str,
    prediction: Any,
    *,
    timeout_ms: Optional[int] = None,
    isolate: bool = True,
    memory_mb: Optional[int] = None,
    **opts: Any,
) -> Verdict:
    """Verify one prediction against a bare gold answer.

    isolate=True (default) runs non-trivial cases in a worker process killed after timeout_ms;
    isolate=False runs in this process with no deadline (for trusted inputs and debugging).
    """
    from .core import make_options, verify_local
    from .workers import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, get_pool

    o = make_options(**opts)
    if not opts:
        fv = _fast(gold, prediction)
        if fv is not None:
            return fv
    if not isolate:
        return verify_local(gold, prediction, o)
    pool = get_pool(1, memory_mb or DEFAULT_MEMORY_MB)
    return pool.run(gold, prediction, timeout_ms or DEFAULT_TIMEOUT_MS, opts)


def verify_batch(
    pairs: Iterable[tuple[str, Any]],
    workers: int = 1,
    timeout_ms: Optional[int] = None,
    memory_mb: Optional[int] = None,
    progress: Any = None,
    **opts: Any,
) -> list[Verdict]:
    """Verify many (gold, prediction) pairs on `workers` processes; order is preserved.

    progress: optional callable(n_done_increment) for progress bars.
    """
    from .core import make_options
    from .workers import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_MS, get_pool

    make_options(**opts)  # validate option names early
    pairs = list(pairs)
    out: list[Optional[Verdict]] = [None] * len(pairs)
    todo: list[int] = []
    first: dict[tuple, int] = {}  # (gold answer, predicted answer) -> the pair sent to a worker for it
    copies: list[tuple[int, int, dict]] = []
    for i, (g, p) in enumerate(pairs):
        fv, key = _fast_keyed(g, p) if not opts else (None, None)
        if fv is not None:
            out[i] = fv
            if progress:
                progress(1)
        elif key is not None and key[0] in first:  # same answers as an earlier pair: same verdict (RL samples)
            copies.append((i, first[key[0]], key[1]))
        else:
            if key is not None:
                first[key[0]] = i
            todo.append(i)
    if todo:
        pool = get_pool(workers, memory_mb or DEFAULT_MEMORY_MB)
        res = pool.map([pairs[i] for i in todo], timeout_ms or DEFAULT_TIMEOUT_MS, opts, on_done=progress)
        for i, v in zip(todo, res):
            out[i] = v
    for i, src, base in copies:  # the verdict of the pair sent, with this prediction's own extraction fields
        out[i] = dataclasses.replace(out[src], **base)  # type: ignore[arg-type]
        if progress:
            progress(1)
    return out  # type: ignore[return-value]


async def averify(gold: str, prediction: Any, **kw: Any) -> Verdict:
    """asyncio-friendly verify: the blocking wait happens on a thread, never on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, lambda: verify(gold, prediction, **kw))
