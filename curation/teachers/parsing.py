"""Split a completion into reasoning and answer on think tags, and say when the split is not clean.

Besides the configured tags (default `<think>…</think>`), the known marker families of published distillation data
are recognised, so a replayed dataset exports in the same `<think>` format as a live teacher:
SkyThought / Sky-T1 `<|begin_of_thought|>…<|end_of_thought|>` then `<|begin_of_solution|>…<|end_of_solution|>`.
Separate reasoning fields (a server's `reasoning_content`, AM's `think_content`) win over any markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class MarkerFamily:
    name: str
    open: str
    close: str
    answer_open: str | None = None  # markers around the answer part, removed from it
    answer_close: str | None = None


MARKER_FAMILIES = (
    MarkerFamily("think", "<think>", "</think>"),
    MarkerFamily(
        "skythought", "<|begin_of_thought|>", "<|end_of_thought|>", "<|begin_of_solution|>", "<|end_of_solution|>"
    ),
)
# every marker token of every family: none of them may reach an exported assistant turn as text
MARKER_TOKENS = tuple(
    dict.fromkeys(t for f in MARKER_FAMILIES for t in (f.open, f.close, f.answer_open, f.answer_close) if t)
)
_MARKER_RX = re.compile("|".join(re.escape(t) for t in MARKER_TOKENS))


def has_markers(text: str | None) -> bool:
    return bool(text) and _MARKER_RX.search(text) is not None


def _strip_answer(text: str, family: MarkerFamily | None) -> str:
    """The answer without its family's answer markers ('<|begin_of_solution|>x<|end_of_solution|>' → 'x')."""
    if family is not None and family.answer_open:
        text = text.replace(family.answer_open, "").replace(family.answer_close or "", "")
    return text.strip()


@dataclass
class Parsed:
    reasoning: str | None
    answer: str
    status: str  # ok | malformed (think opened, never closed) | truncated (finish_reason=length)


def split_reasoning(
    completion: str,
    tags: tuple[str, str] | None = ("<think>", "</think>"),
    finish_reason: str | None = None,
    server_reasoning: str | None = None,
) -> Parsed:
    """Rules, in order:
    - the server already split thinking out (`reasoning_content`): reasoning = that, answer = content;
    - `<think>…</think>`: inside → reasoning, after → answer (text before the open tag is kept in the answer's
      front only if there is no reasoning, it is usually a stray newline);
    - only `</think>` (the chat template opened the tag in the prompt, as R1/QwQ/Qwen3 do): before → reasoning;
    - only `<think>`: everything after it is reasoning, the answer is empty and the trace is `malformed`
      (or `truncated` when the model hit max_tokens);
    - the same for each known marker family (`MARKER_FAMILIES`) when the configured tags are absent; a family's
      answer markers are removed from the answer, and an answer opened by one but never closed is `malformed`;
    - no tags: reasoning is None, the whole text is the answer.
    """
    truncated = finish_reason == "length"
    status = "truncated" if truncated else "ok"
    if server_reasoning is not None and server_reasoning != "":
        return Parsed(server_reasoning.strip(), completion.strip(), status)
    if tags is None:
        return Parsed(None, completion.strip(), status)
    families = [MarkerFamily("configured", *tags)] + [f for f in MARKER_FAMILIES if (f.open, f.close) != tuple(tags)]
    for fam in families:
        o = completion.find(fam.open)
        c = completion.find(fam.close, o + len(fam.open) if o >= 0 else 0)
        if c >= 0:
            start = o + len(fam.open) if o >= 0 else 0
            after = completion[c + len(fam.close) :]
            # an answer opened by its family's marker and never closed was cut off (SkyThought's solution part)
            cut = fam.answer_open is not None and fam.answer_open in after and fam.answer_close not in after
            return Parsed(
                completion[start:c].strip(), _strip_answer(after, fam), status if not cut or truncated else "malformed"
            )
        if o >= 0:
            return Parsed(completion[o + len(fam.open) :].strip(), "", status if truncated else "malformed")
    return Parsed(None, completion.strip(), status)
