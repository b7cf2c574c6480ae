"""Split a completion into reasoning and answer on think tags, and say when the split is not clean."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Parsed:
    reasoning: str | None
    answer: str
    status: str  # ok | malformed (think opened, never closed) | truncated (finish_reason=length)


def split_reasoning(completion: str, tags: tuple[str, str] | None = ("<think>", "</think>"),
                    finish_reason: str | None = None, server_reasoning: str | None = None) -> Parsed:
    """Rules, in order:
    - the server already split thinking out (`reasoning_content`): reasoning = that, answer = content;
    - `<think>…</think>`: inside → reasoning, after → answer (text before the open tag is kept in the answer's
      front only if there is no reasoning, it is usually a stray newline);
    - only `</think>` (the chat template opened the tag in the prompt, as R1/QwQ/Qwen3 do): before → reasoning;
    - only `<think>`: everything after it is reasoning, the answer is empty and the trace is `malformed`
      (or `truncated` when the model hit max_tokens);
    - no tags: reasoning is None, the whole text is the answer.
    """
    truncated = finish_reason == "length"
    status = "truncated" if truncated else "ok"
    if server_reasoning is not None and server_reasoning != "":
        return Parsed(server_reasoning.strip(), completion.strip(), status)
    if tags is None:
        return Parsed(None, completion.strip(), status)
    open_t, close_t = tags
    o = completion.find(open_t)
    c = completion.find(close_t, o + len(open_t) if o >= 0 else 0)
    if o >= 0 and c >= 0:
        return Parsed(completion[o + len(open_t):c].strip(), completion[c + len(close_t):].strip(), status)
    if c >= 0:
        return Parsed(completion[:c].strip(), completion[c + len(close_t):].strip(), status)
    if o >= 0:
        return Parsed(completion[o + len(open_t):].strip(), "", status if truncated else "malformed")
    return Parsed(None, completion.strip(), status)
