"""LLM segmenter: a teacher marks where each DLCoT part starts by quoting its opening words.

Any backend works through `generate(prompts) -> texts`. The reply is a JSON list of {"kind", "approach",
"starts_with"}; each `starts_with` must be found verbatim in the original, after the previous one, so the spans
are substrings in order by construction (the model never returns text we keep). Bad replies are retried, then the
default (CRF) segmenter is used and the fallback is recorded.
"""

from __future__ import annotations

import json
import re
from typing import Callable

from .segment import KINDS, Segment, SegmentationError, validate

Generate = Callable[[list[str]], list[str]]

PROMPT = """Below is a long piece of step-by-step reasoning that someone wrote while solving a problem. Split it \
into consecutive parts, in order, without leaving anything out. Use these part types:

- question_repeat: the writer restates the problem or says what is asked.
- understanding: general thinking about the problem before any actual calculation.
- approach: an attempt to solve it. Number attempts 1, 2, 3, ...: a new number starts only when the writer \
switches to a clearly different method (often after words like "Alternatively" or "another way").
- verification: after an answer has been reached, checking it (re-computing, plugging back in, "wait, let me \
check"); give the number of the attempt being checked.
- conclusion: the final statement of the answer at the very end.

For each part, copy its first 8 to 15 words EXACTLY as they appear in the text (same spelling, symbols and \
spacing). Reply with a JSON list only, for example:
[{{"kind": "question_repeat", "approach": null, "starts_with": "Okay, so I need to find"}},
 {{"kind": "approach", "approach": 1, "starts_with": "First, let me compute the"}}]

Problem:
{problem}

Reasoning:
<<<
{text}
>>>"""


def parse_reply(reply: str, text: str) -> list[Segment]:
    """Segments from a reply, or SegmentationError saying what is wrong (for the retry log)."""
    m = re.search(r"\[.*\]", reply, re.S)
    if not m:
        raise SegmentationError("no JSON list in the reply")
    try:
        items = json.loads(m.group(0))
    except json.JSONDecodeError as e:
        raise SegmentationError(f"reply is not valid JSON: {e}") from None
    starts: list[tuple[int, str, int | None]] = []
    pos = 0
    for i, it in enumerate(items):
        if not isinstance(it, dict):
            raise SegmentationError(f"item {i} is not an object")
        kind, quote = it.get("kind"), it.get("starts_with")
        if kind not in KINDS or not isinstance(quote, str) or not quote.strip():
            raise SegmentationError(f"item {i}: bad kind {kind!r} or empty starts_with")
        at = text.find(quote.strip(), pos)
        if at == -1:
            raise SegmentationError(f"item {i}: starts_with {quote[:40]!r} is not in the text after offset {pos}")
        if i == 0:
            at = 0  # leading whitespace/markers belong to the first part
        elif at <= starts[-1][0]:
            raise SegmentationError(f"item {i} does not start after item {i - 1}")
        a = it.get("approach")
        starts.append((at, kind, int(a) if isinstance(a, (int, float)) else None))
        pos = at + 1
    if not starts:
        raise SegmentationError("empty list")
    segs = [
        Segment(kind, at, starts[j + 1][0] if j + 1 < len(starts) else len(text), a)
        for j, (at, kind, a) in enumerate(starts)
    ]
    validate(segs, text)
    return segs


class LLMSegmenter:
    name = "llm"

    def __init__(self, generate: Generate, retries: int = 3, max_chars: int = 60000, fallback=None):
        self.generate = generate
        self.retries = retries
        self.max_chars = max_chars
        if fallback is None:
            from .crf_segment import CRFSegmenter

            fallback = CRFSegmenter()
        self.fallback = fallback
        self.last_info: dict = {}

    def segment(self, text: str, problem: str | None = None) -> list[Segment]:
        return self.segment_many([(text, problem)])[0]

    def segment_many(self, items: list[tuple[str, str | None]]) -> list[list[Segment]]:
        """Batched: one generate call per round for all traces still unresolved."""
        out: list[list[Segment] | None] = [None] * len(items)
        self.infos = [{"segmenter": "llm", "attempts": 0, "errors": []} for _ in items]
        todo = [i for i, (t, _) in enumerate(items) if t and len(t) <= self.max_chars]
        for i, (t, _) in enumerate(items):
            if not t:
                out[i] = []
            elif len(t) > self.max_chars:
                self.infos[i]["errors"].append(f"text longer than {self.max_chars} chars")
        for _ in range(self.retries + 1):
            if not todo:
                break
            prompts = [PROMPT.format(problem=items[i][1] or "(not given)", text=items[i][0]) for i in todo]
            replies = self.generate(prompts)
            still = []
            for i, reply in zip(todo, replies):
                self.infos[i]["attempts"] += 1
                try:
                    out[i] = parse_reply(reply or "", items[i][0])
                except SegmentationError as e:
                    self.infos[i]["errors"].append(str(e))
                    still.append(i)
            todo = still
        for i, segs in enumerate(out):
            if segs is None:
                out[i] = self.fallback.segment(*items[i])
                self.infos[i]["segmenter"] = f"{self.fallback.name}(fallback)"
        return out  # type: ignore[return-value]
