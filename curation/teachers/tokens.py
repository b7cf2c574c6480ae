"""Count tokens with the teacher's own tokenizer when one is available (servers report totals, not per sample)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=8)
def _load(name: str, revision: str | None) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name, revision=revision)


def token_counter(name: str | None, revision: str | None = None) -> Callable[[str], int] | None:
    """A `len(tokens(text))` function, or None when no tokenizer can be loaded offline (counts stay null)."""
    if not name:
        return None
    try:
        tok = _load(name, revision)
    except Exception:  # noqa: BLE001 — no hub here, or a served name that is not a tokenizer: counting is best effort
        return None

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"]) if text else 0

    return count
