"""The light normalization every query gets at collect time (the id is a hash of this form)."""

from __future__ import annotations

import re
import unicodedata

_MANY_NL = re.compile(r"\n{3,}")


def normalize_text(text: str, nfkc: bool = True) -> str:
    """NFKC, unified newlines, collapsed horizontal whitespace, stripped lines; keeps paragraph breaks (code
    problems and multi-line math need them)."""
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    # str.split() splits on the characters str.isspace() knows, as a [^\S\n]+ regex would (within a line), and is
    # some 20 times faster on 100-character texts
    text = "\n".join(" ".join(line.split()) for line in text.split("\n"))
    return _MANY_NL.sub("\n\n", text).strip()
