"""DLCoT label2: does an approach contain a calculation/derivation error, and which exact span is it?

A teacher reads one approach at a time and replies {"error": bool, "quote": str | null, "reason": str}. The quote
must occur verbatim inside that approach's own spans (whitespace may differ) and exactly once, so it maps to
character offsets of the original trace; the model never supplies offsets or text we keep. A reply that fails
these checks is asked again with the reason; after the retries the approach is left unlabelled and the reason is
recorded (methods.md §1, "Approach labels" and simplification step 5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from verifiers.judge import Asked, Generate, ReplyError, ask_json, json_object

PROMPT = """Here is one attempt at solving a problem, taken from a longer piece of reasoning. Check its working \
step by step for a calculation or derivation error: an arithmetic slip, a wrong algebraic manipulation, a formula \
used wrongly, or an intermediate statement that is false. Count an error even if the writer notices and fixes it \
later. Do not judge whether the final answer is right, and ignore style.

Problem:
{problem}

Attempt:
<<<
{attempt}
>>>

Reply with one JSON object only. If there is an error, copy the erroneous passage (a few words up to one or two \
sentences, not the whole attempt) character for character from the attempt:
{{"error": true, "quote": "the erroneous passage, copied exactly", "reason": "one short sentence"}}
If every step is sound:
{{"error": false, "quote": null, "reason": "one short sentence"}}"""


@dataclass
class ErrorLabel:
    error: bool
    span: tuple[int, int] | None  # offsets of the quote in the original trace text
    quote: str | None
    reason: str | None


def _ranges(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent spans joined: a quote may run across them, never across a gap."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def find_quote(text: str, spans: list[tuple[int, int]], quote: str) -> tuple[int, int]:
    """Offsets of the one occurrence of `quote` inside `spans` of `text` (whitespace runs match any whitespace)."""
    words = quote.split()
    if not words:
        raise ReplyError('"quote" is empty')
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    hits = [(a + m.start(), a + m.end()) for a, b in _ranges(spans) for m in pattern.finditer(text[a:b])]
    if not hits:
        raise ReplyError(f"the quote {quote[:80]!r} does not occur in the attempt; copy it exactly")
    if len(hits) > 1:
        raise ReplyError(
            f"the quote {quote[:80]!r} occurs {len(hits)} times in the attempt; quote a longer passage "
            "that occurs only once"
        )
    return hits[0]


def parse_reply(reply: str, text: str, spans: list[tuple[int, int]]) -> ErrorLabel:
    obj = json_object(reply, "error")
    err = obj["error"]
    if isinstance(err, str) and err.strip().lower() in ("true", "false"):
        err = err.strip().lower() == "true"
    if not isinstance(err, bool):
        raise ReplyError(f'"error" must be true or false, not {err!r}')
    reason = None if obj.get("reason") is None else str(obj["reason"])
    if not err:
        return ErrorLabel(False, None, None, reason)
    quote = obj.get("quote")
    if not isinstance(quote, str) or not quote.strip():
        raise ReplyError('"error" is true but "quote" is missing; quote the erroneous passage')
    a, b = find_quote(text, spans, quote)
    if b - a >= len("".join(text[x:y] for x, y in spans).strip()):
        raise ReplyError("the quote is the whole attempt; quote only the erroneous passage")
    return ErrorLabel(True, (a, b), text[a:b], reason)


@dataclass
class Job:
    problem: str
    text: str  # the whole trace
    spans: list[tuple[int, int]]  # the approach's spans in `text`


def judge_errors(jobs: list[Job], generate: Generate, retries: int = 2) -> list[Asked[ErrorLabel]]:
    """One `generate` call per round for every approach still unresolved."""
    prompts = [
        PROMPT.format(
            problem=j.problem.strip() or "(not given)", attempt="".join(j.text[a:b] for a, b in j.spans).strip()
        )
        for j in jobs
    ]
    return ask_json(prompts, generate, lambda i, reply: parse_reply(reply, jobs[i].text, jobs[i].spans), retries)
