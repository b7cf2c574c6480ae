"""The one code extractor: the pipeline's verify stage and the RL code reward grade the same block of a completion.

Rules, in order: read the visible answer (the pipeline's split `answer`, else the text after the thinking part,
split as distill splits it: the first `</think>` after `<think>`); take its last fenced block tagged with the
language (aliases: py, python3, c++, ...), else its last untagged block; a block tagged with another language
(```text, ```bash) is never run. Only when the answer has no such block, look at the whole completion (a model
that wrote its code only while thinking). No block: None.
"""

from __future__ import annotations

import re
from typing import Any

from .languages.base import _ALIASES

FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+#.-]*)[^\n]*\n(.*?)```", re.S)
THINK_TAGS = ("<think>", "</think>")


def completion_text(completion: Any) -> str:
    """A completion as text: a string, a chat message, or a message list (the last assistant message)."""
    if completion is None:
        return ""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        content = completion.get("content", "")
        if isinstance(content, list):  # content parts
            return "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return content if isinstance(content, str) else ""
    if isinstance(completion, (list, tuple)):
        msgs = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in msgs if m.get("role") == "assistant"] or msgs
        return completion_text(assistant[-1]) if assistant else ""
    raise TypeError(f"a completion must be a string or chat messages, got {type(completion).__name__}")


def answer_part(text: str, tags: tuple[str, str] = THINK_TAGS) -> str:
    """The visible answer, split as the distill stage splits (`curation.teachers.parsing.split_reasoning`): after
    the first close tag (after the open tag, if any); empty when thinking never closed; all of it without tags."""
    open_t, close_t = tags
    o = text.find(open_t)
    c = text.find(close_t, o + len(open_t) if o >= 0 else 0)
    if c >= 0:
        return text[c + len(close_t) :]
    return "" if o >= 0 else text


def _canonical(tag: str) -> str:
    t = tag.lower()
    return _ALIASES.get(t, t)


def last_block(text: str, language: str = "python") -> str | None:
    """The last fenced block tagged with `language` (or an alias), else the last untagged one."""
    if not text or "```" not in text:
        return None
    want = _canonical(language)
    blocks = FENCE.findall(text)
    tagged = [b for tag, b in blocks if tag and _canonical(tag) == want]
    pool = tagged or [b for tag, b in blocks if not tag]
    return pool[-1] if pool else None


def extract_code(completion: Any, language: str = "python", answer: str | None = None) -> str | None:
    """The code to run for a completion (see the module docstring). `answer`: the visible answer when the caller
    has already split it (the pipeline's `answer` column); otherwise it is split here."""
    text = completion_text(completion)
    visible = answer if answer and answer.strip() else answer_part(text)
    return last_block(visible, language) or last_block(text, language)
