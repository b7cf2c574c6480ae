"""LLM-as-judge plumbing with no model of its own: prompts go out through any `generate(prompts) -> replies`
function, each reply must hold a small JSON object, and the caller's `parse` decides whether it is usable.

A reply that cannot be used is asked again with the reason appended (so the model can fix it, and the new prompt
is a new request); when every attempt fails the result says so and keeps the last reply — the caller never gets
a guessed value. `generate` may return None for a request that got no reply at all.
Also the answer judge: does a response's final answer agree with a reference answer (for queries no symbolic or
test-based verifier can check).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Optional, TypeVar

T = TypeVar("T")
Generate = Callable[[list[str]], Sequence[Optional[str]]]

_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_THINK_END = ("</think>", "<|end_of_thought|>")

RETRY_NOTE = """

(Your previous reply could not be used: {why}. Reply again with the JSON object only.)"""


class ReplyError(ValueError):
    """Why a judge reply cannot be used (shown to the model when it is asked again)."""


def json_object(reply: str | None, key: str) -> dict[str, Any]:
    """The last JSON object in `reply` that has `key`: inside prose or code fences, after any thinking part."""
    text = reply or ""
    for tag in _THINK_END:
        if tag in text:
            text = text.rsplit(tag, 1)[1]
    if not text.strip():
        raise ReplyError("the reply is empty")
    dec = json.JSONDecoder()
    found: list[dict] = []
    for block in [*_FENCE.findall(text), text]:
        pos = block.find("{")
        while pos != -1:
            try:
                obj, end = dec.raw_decode(block, pos)
            except json.JSONDecodeError:
                pos = block.find("{", pos + 1)
                continue
            if isinstance(obj, dict):
                found.append(obj)
            pos = block.find("{", end)
    with_key = [o for o in found if key in o]
    if with_key:
        return with_key[-1]
    if found:
        raise ReplyError(f'the JSON object has no "{key}" key')
    raise ReplyError("there is no JSON object in the reply")


@dataclass
class Asked(Generic[T]):
    value: T | None = None  # what `parse` returned; None when no attempt gave a usable reply
    attempts: int = 0
    errors: list[str] = field(default_factory=list)  # why each rejected attempt was rejected
    reply: str | None = None  # the last reply (None: that request got no reply)

    @property
    def ok(self) -> bool:
        """The last attempt was accepted (each rejected attempt left one error)."""
        return self.attempts > len(self.errors)

    @property
    def request_failed(self) -> bool:
        """The last attempt got no reply at all (a transport failure, not a bad answer)."""
        return self.attempts > 0 and self.reply is None


def ask_json(
    prompts: Sequence[str], generate: Generate, parse: Callable[[int, str], T], retries: int = 2
) -> list[Asked[T]]:
    """Ask every prompt, re-asking (at most `retries` times) those whose reply `parse(i, reply)` rejects with
    ReplyError. One `generate` call per round, over the distinct prompts of that round."""
    out: list[Asked[T]] = [Asked() for _ in prompts]
    current = list(prompts)
    todo = list(range(len(prompts)))
    for _ in range(retries + 1):
        if not todo:
            break
        unique = list(dict.fromkeys(current[i] for i in todo))
        replies = list(generate(unique))
        if len(replies) != len(unique):
            raise RuntimeError(f"generate returned {len(replies)} replies for {len(unique)} prompts")
        by_prompt = dict(zip(unique, replies))
        still = []
        for i in todo:
            a = out[i]
            a.attempts += 1
            a.reply = by_prompt[current[i]]
            if a.reply is None:
                a.errors.append("the request failed (no reply)")
                still.append(i)  # asked again as it was
                continue
            try:
                a.value = parse(i, a.reply)
            except ReplyError as e:
                a.errors.append(str(e))
                current[i] = prompts[i] + RETRY_NOTE.format(why=e)
                still.append(i)
        todo = still
    return out


# --- the answer judge ---------------------------------------------------------------------------------------
ANSWER_PROMPT = """You are grading an answer. Compare the final answer of a response with the reference answer \
to the same question and say whether they agree.

They agree when they say the same thing, even if worded, formatted or rounded differently (for example "0.5" and \
"1/2", or "Paris" and "the capital is Paris"). They do not agree when the response gives a different answer, \
several answers without settling on one, or no answer. Do not solve the question yourself and do not grade the \
reasoning: only whether the final answer matches the reference.

Question:
<<<
{question}
>>>

Reference answer:
<<<
{reference}
>>>

Final answer of the response:
<<<
{answer}
>>>

Reply with one JSON object and nothing else, in this form:
{{"verdict": "correct", "reason": "one short sentence"}}
where "verdict" is "correct" if the answers agree and "incorrect" if they do not."""

VERDICTS = ("correct", "incorrect")


def parse_verdict(reply: str) -> tuple[str, str | None]:
    """(verdict, reason) from a judge reply; ReplyError when it holds no clear verdict."""
    obj = json_object(reply, "verdict")
    v = obj["verdict"]
    verdict = v.strip().strip(".").lower() if isinstance(v, str) else None
    if verdict not in VERDICTS:
        raise ReplyError(f'"verdict" must be "correct" or "incorrect", not {v!r}')
    reason = obj.get("reason")
    return verdict, None if reason is None else str(reason)


def clip_answer(answer: str, max_chars: int) -> tuple[str, bool]:
    """The end of a long answer (where the final answer is), and whether anything was cut."""
    answer = answer.strip()
    if len(answer) <= max_chars:
        return answer, False
    return "[...] " + answer[-max_chars:], True


def judge_answers(
    items: Sequence[tuple[str, str, str]], generate: Generate, retries: int = 2, max_answer_chars: int = 4000
) -> list[Asked[tuple[str, str | None]]]:
    """Judge (question, reference, answer) triples; `value` = (verdict, reason) where a reply was usable."""
    prompts = [
        ANSWER_PROMPT.format(
            question=q.strip(), reference=str(ref).strip(), answer=clip_answer(a, max_answer_chars)[0] or "(no answer)"
        )
        for q, ref, a in items
    ]
    return ask_json(prompts, generate, lambda i, reply: parse_verdict(reply), retries)
