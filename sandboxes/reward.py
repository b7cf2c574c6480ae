"""TRL-style reward function: completions -> list of floats (fraction of tests passed, or all-or-nothing)."""

from __future__ import annotations

import re
from typing import Any

from .pool import default_pool

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+\-]*)[^\n]*\n(.*?)```", re.DOTALL)


def extract_code(completion: Any) -> str | None:
    """The last fenced code block of a completion (a string, or a chat-message list: the last message)."""
    if isinstance(completion, list):
        completion = completion[-1]["content"] if completion else ""
    if isinstance(completion, dict):
        completion = completion.get("content", "")
    if not isinstance(completion, str):
        return None
    blocks = _FENCE.findall(completion)
    return blocks[-1][1] if blocks else None


def reward(completions: list[Any], tests: list[Any], language: str | list[str] = "python",
           partial: bool = False, workers: int | None = None, **kw: Any) -> list[float]:
    """One float per completion: 1.0 if every test passes (or the pass fraction with partial=True), 0.0 when
    there is no code block or the tests fail. `tests` is aligned with completions (TRL passes dataset columns as
    keyword lists). Extra TRL keyword columns (prompts, ...) are ignored."""
    if len(tests) != len(completions):
        raise ValueError(f"reward: {len(completions)} completions but {len(tests)} test sets")
    langs = language if isinstance(language, list) else [language] * len(completions)
    pool = default_pool(workers)
    futures = []
    for comp, t, lang in zip(completions, tests, langs):
        code = extract_code(comp)
        futures.append(None if code is None else pool.submit(code, t, language=lang,
                                                             early_stop=not partial))
    out = []
    for f in futures:
        if f is None:
            out.append(0.0)
            continue
        rep = f.result()
        out.append(rep.pass_rate if partial else float(rep.passed))
    return out
