"""The one protocol every live backend speaks, and the request/result records that go through the cache.

A backend turns `Request`s into `Result`s and yields each result as soon as it is finished (so the caller can
persist it before the next one arrives: a kill loses at most the in-flight requests). Errors are results too
(`Result.error`), never exceptions, except for configuration problems found before any request is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from .. import records

# Error kinds: transient ones are retried by the backend; all are counted in the failure report.
RETRIABLE = ("rate_limited", "server_error", "timeout", "connection", "empty_body")


@dataclass
class Request:
    key: str  # cache key: model identity + rendered prompt + params + sample indices
    query_id: str
    messages: list[dict[str, str]]  # chat prompt (system + user)
    sample_indices: list[int]  # the samples this request answers (len = n asked)
    sampling: dict[str, Any]  # exact params sent (n, seed, …)
    prompt: str | None = None  # rendered text prompt, for completions endpoints and token counting


@dataclass
class Choice:
    sample_index: int
    completion: str
    finish_reason: str | None = None
    reasoning: str | None = None  # when the server splits thinking out (`reasoning_content` / `reasoning`)
    completion_tokens: int | None = None
    seed: int | None = None  # the seed this sample was drawn with, when it differs per sample
    mean_logprob: float | None = None  # mean log-probability per generated token (only when logprobs were asked)


@dataclass
class Result:
    key: str
    choices: list[Choice] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None  # total over choices (as servers report usage)
    latency_s: float | None = None
    error_kind: str | None = None  # rate_limited|server_error|timeout|connection|empty_body|bad_request|…
    error: str | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error_kind is None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Result:
        d = dict(d)
        d["choices"] = [Choice(**c) for c in d.get("choices") or []]
        return cls(**d)


def mean_logprob(values: Iterable[float | None] | None) -> float | None:
    """Mean of the per-token log-probabilities a backend reported (tokens it gave none for are skipped)."""
    vals = [float(v) for v in values or () if v is not None]
    return sum(vals) / len(vals) if vals else None


class HardError(Exception):
    """A request failed for good (retries exhausted or a non-retriable answer); raised only under --fail-fast."""


class Backend(Protocol):
    name: str

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        """Answer `requests`, yielding each result as it finishes (any order)."""
        ...

    def close(self) -> None: ...


def request_key(
    identity: dict[str, Any],
    messages: list[dict[str, str]],
    prompt: str | None,
    sampling: dict[str, Any],
    sample_indices: Iterable[int],
) -> str:
    """Content hash of everything that determines an answer: same key, same question."""
    import hashlib

    payload = records.canonical_json(
        {
            "model": identity,
            "messages": messages,
            "prompt": prompt,
            "sampling": sampling,
            "samples": list(sample_indices),
        }
    )
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=16).hexdigest()
