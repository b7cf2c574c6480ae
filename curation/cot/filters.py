"""Response-level filters from the AM / DeepDistill reports (methods.md §4.1 step 10).

Each returns None (keep) or evidence (a dict saying why), so the select stage can record the reason in `removed`.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_WORDS = re.compile(r"\S+")


def ngram_loop(text: str | None, n: int = 20, max_repeats: int = 10) -> dict | None:
    """A word n-gram that occurs `max_repeats` times or more: a repetition loop (degenerate generation)."""
    if not text:
        return None
    words = _WORDS.findall(text)
    if len(words) < n * max_repeats:
        return None
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    gram, c = counts.most_common(1)[0]
    if c >= max_repeats:
        return {"ngram": " ".join(gram)[:200], "count": c, "n": n}
    return None


def _script(ch: str) -> str | None:
    if not ch.isalpha():
        return None
    o = ord(ch)
    if 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x3040 <= o <= 0x30FF or 0xAC00 <= o <= 0xD7AF:
        return "cjk"
    if 0x0370 <= o <= 0x03FF:
        return None  # Greek letters are math symbols in reasoning text, not a language switch
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "other"
    for script in ("LATIN", "CYRILLIC", "ARABIC", "HEBREW", "DEVANAGARI", "THAI"):
        if name.startswith(script):
            return script.lower()
    if "MATHEMATICAL" in name:
        return None
    return "other"


def language_mixing(text: str | None, max_ratio: float = 0.05, min_letters: int = 50) -> dict | None:
    """Share of letters outside the dominant script above `max_ratio` (e.g. Chinese inside English reasoning)."""
    if not text:
        return None
    counts = Counter(s for s in map(_script, text) if s)
    total = sum(counts.values())
    if total < min_letters:
        return None
    main, k = counts.most_common(1)[0]
    ratio = 1 - k / total
    if ratio > max_ratio:
        return {"main_script": main, "other_ratio": round(ratio, 4), "scripts": dict(counts)}
    return None


def missing_think_tags(completion: str | None, open_tags: list[str], close_tags: list[str]) -> dict | None:
    """The completion lacks a closing think tag (the model never left its reasoning), or has no answer after it."""
    if completion is None:
        return {"detail": "no completion"}
    close = [t for t in close_tags if t in completion]
    if not close:
        return {"detail": f"none of {close_tags} in the completion"}
    tail = completion.rsplit(close[-1], 1)[1]
    if not tail.strip():
        return {"detail": f"nothing after {close[-1]}"}
    return None


def length(tokens: int | None, max_tokens: int | None, min_tokens: int | None) -> dict | None:
    if tokens is None:
        return None
    if max_tokens is not None and tokens > max_tokens:
        return {"tokens": tokens, "max_tokens": max_tokens}
    if min_tokens is not None and tokens < min_tokens:
        return {"tokens": tokens, "min_tokens": min_tokens}
    return None
