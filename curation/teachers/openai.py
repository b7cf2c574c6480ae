"""Async client for any OpenAI-compatible server (vLLM serve, SGLang, llama.cpp server, hosted APIs).

aiohttp + our own retry/limits layer (measured: httpx's async client costs ~3 ms CPU per request on this 2-core
machine, aiohttp ~0.15 ms; see benchmarks/bench_openai_client.py): bounded concurrency (a fixed pool of workers, so a million requests never
become a million tasks), requests-per-minute and tokens-per-minute token buckets, exponential backoff with full
jitter on 429/5xx/timeouts/broken or empty bodies (honouring Retry-After), a per-request timeout, and a retry
budget whose exhaustion is recorded on the result. The event loop runs in a helper thread so `generate` can be a
plain iterator that yields each result the moment it arrives.
"""

from __future__ import annotations

import asyncio
import json
import queue
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp

from ..config.base import resolve_env_ref
from ..config.distill import OpenAIOptions, TeacherConfig
from ..errors import UserError
from .base import RETRIABLE, Choice, Request, Result, mean_logprob
from .sampling import openai_body

_DONE = object()


class TokenBucket:
    """`rate_per_minute` units refill continuously; `take(n)` waits until n are available (n may exceed capacity
    once: then it waits for a full bucket and goes negative, so huge requests are slowed, not blocked forever)."""

    def __init__(self, rate_per_minute: float):
        self.capacity = float(rate_per_minute)
        self.rate = rate_per_minute / 60.0
        self.level = self.capacity
        self.t = time.monotonic()
        self.lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now

    async def take(self, n: float) -> None:
        async with self.lock:
            self._refill()
            need = min(n, self.capacity)
            while self.level < need:
                await asyncio.sleep((need - self.level) / self.rate)
                self._refill()
            self.level -= n

    def give_back(self, n: float) -> None:
        self.level = min(self.capacity, self.level + n)


def _classify_status(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server_error"
    return "bad_request" if status == 400 else f"http_{status}"


def _retry_after(resp: aiohttp.ClientResponse | None) -> float | None:
    if resp is None:
        return None
    v = resp.headers.get("retry-after")
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def _choice_logprob(choice: dict[str, Any], endpoint: str) -> float | None:
    """Mean per-token logprob of one choice: chat `logprobs.content[*].logprob`, completions
    `logprobs.token_logprobs`; None when the server sent none (some ignore the flag)."""
    lp = choice.get("logprobs")
    if not isinstance(lp, dict):
        return None
    if endpoint == "chat":
        content = lp.get("content")
        values = [t.get("logprob") for t in content if isinstance(t, dict)] if isinstance(content, list) else None
    else:
        values = lp.get("token_logprobs") if isinstance(lp.get("token_logprobs"), list) else None
    return mean_logprob(v for v in values or () if isinstance(v, (int, float)))


def parse_response(data: Any, req: Request, endpoint: str) -> Result | str:
    """A Result, or the reason the body is unusable (treated as `empty_body`, retried)."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list) or not data["choices"]:
        return "response has no choices"
    choices = []
    for i, ch in enumerate(sorted(data["choices"], key=lambda c: c.get("index", 0))):
        if i >= len(req.sample_indices):
            break
        if endpoint == "chat":
            msg = ch.get("message") or {}
            content = msg.get("content")
            reasoning = msg.get("reasoning_content")
            if reasoning is None:
                reasoning = msg.get("reasoning")
        else:
            content, reasoning = ch.get("text"), None
        if content is None and not reasoning:
            return f"choice {i} has no content"
        choices.append(
            Choice(
                sample_index=req.sample_indices[i],
                completion=content or "",
                finish_reason=ch.get("finish_reason"),
                reasoning=reasoning,
                mean_logprob=_choice_logprob(ch, endpoint) if req.sampling.get("logprobs") else None,
            )
        )
    usage = data.get("usage") or {}
    if len(choices) == 1 and usage.get("completion_tokens") is not None:
        choices[0].completion_tokens = usage["completion_tokens"]
    return Result(
        key=req.key,
        choices=choices,
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
    )


class OpenAIBackend:
    name = "openai"

    def __init__(self, teacher: TeacherConfig):
        assert teacher.openai is not None and teacher.model
        self.teacher = teacher
        self.opts: OpenAIOptions = teacher.openai
        self.model = teacher.model
        self.api_key = resolve_env_ref(self.opts.api_key) if self.opts.api_key else None
        if self.opts.api_key and not self.api_key:
            raise UserError(
                f"teacher {teacher.name!r}: openai.api_key refers to {self.opts.api_key} but that "
                "environment variable is not set"
            )
        path = "/chat/completions" if self.opts.endpoint == "chat" else "/completions"
        self.url = self.opts.base_url.rstrip("/") + path
        self.stats = {"http_requests": 0, "retries": 0}
        self._stop = threading.Event()

    # --- one request, with retries ---------------------------------------------------------------------------
    async def _ask(
        self, client: aiohttp.ClientSession, req: Request, rpm: TokenBucket | None, tpm: TokenBucket | None
    ) -> Result:
        body = openai_body(
            self.model,
            req.sampling,
            req.messages if self.opts.endpoint == "chat" else None,
            req.prompt if self.opts.endpoint == "completions" else None,
        )
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        est_tokens = len(payload) / 4 + req.sampling.get("max_tokens", 0) * req.sampling.get("n", 1)
        attempt = 0
        t0 = time.perf_counter()
        while True:
            attempt += 1
            if rpm is not None:
                await rpm.take(1)
            if tpm is not None:
                await tpm.take(est_tokens)
            resp = None
            self.stats["http_requests"] += 1
            try:
                async with client.post(self.url, data=payload) as resp:
                    raw = await resp.read()
                if resp.status != 200:
                    kind, msg = (
                        _classify_status(resp.status),
                        f"HTTP {resp.status}: {raw[:300].decode('utf-8', 'replace')}",
                    )
                else:
                    try:
                        parsed = parse_response(json.loads(raw), req, self.opts.endpoint)
                    except (json.JSONDecodeError, UnicodeDecodeError) as e:
                        parsed = f"body is not JSON ({e}): {raw[:200]!r}"
                    if isinstance(parsed, Result) and len(parsed.choices) < len(req.sample_indices):
                        parsed = await self._fill_missing(client, req, parsed, rpm, tpm)
                    if isinstance(parsed, Result):
                        if tpm is not None and parsed.completion_tokens is not None:
                            used = (parsed.prompt_tokens or 0) + parsed.completion_tokens
                            tpm.give_back(max(0.0, est_tokens - used))
                        parsed.latency_s = time.perf_counter() - t0
                        parsed.attempts = attempt
                        return parsed
                    kind, msg = "empty_body", parsed
            except asyncio.TimeoutError as e:  # aiohttp's ServerTimeoutError/ConnectionTimeoutError subclass it
                kind, msg = "timeout", f"{type(e).__name__}: no answer within {self.opts.timeout_s}s"
            except aiohttp.ClientError as e:  # refused, reset, disconnected, body cut mid-way (ClientPayloadError)
                kind, msg = "connection", f"{type(e).__name__}: {e}"
            if kind not in RETRIABLE or attempt > self.opts.max_retries or self._stop.is_set():
                if kind in RETRIABLE:
                    msg = f"{msg} (gave up after {attempt} attempts)"
                return Result(
                    key=req.key, error_kind=kind, error=msg, attempts=attempt, latency_s=time.perf_counter() - t0
                )
            self.stats["retries"] += 1
            delay = min(self.opts.backoff_max_s, self.opts.backoff_initial_s * 2 ** (attempt - 1))
            delay = random.uniform(0, delay)  # full jitter: retries of a burst spread out instead of re-colliding
            ra = _retry_after(resp)
            if ra is not None:
                delay = max(delay, min(ra, self.opts.backoff_max_s))
            await asyncio.sleep(delay)

    async def _fill_missing(
        self, client: aiohttp.ClientSession, req: Request, got: Result, rpm: TokenBucket | None, tpm: TokenBucket | None
    ) -> Result | str:
        """Servers that ignore `n` (llama.cpp) return one choice: ask the rest one by one, each with its own seed."""
        import dataclasses

        for idx in req.sample_indices[len(got.choices) :]:
            sampling = dict(req.sampling, n=1)
            if "seed" in sampling:
                sampling["seed"] = req.sampling["seed"] + idx
            sub = dataclasses.replace(req, key=f"{req.key}/{idx}", sample_indices=[idx], sampling=sampling)
            res = await self._ask(client, sub, rpm, tpm)
            if not res.ok:
                return (
                    f"server returned {len(got.choices)} of {req.sampling.get('n')} choices and a follow-up "
                    f"request failed: {res.error}"
                )
            ch = res.choices[0]
            ch.seed = sampling.get("seed")
            got.choices.append(ch)
            for attr in ("prompt_tokens", "completion_tokens"):
                if getattr(res, attr) is not None:
                    setattr(got, attr, (getattr(got, attr) or 0) + getattr(res, attr))
        got.choices[0].completion_tokens = None  # usage no longer belongs to one choice
        return got

    async def _run(self, requests: list[Request], out: queue.Queue[Any]) -> None:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        c = self.opts.concurrency
        connector = aiohttp.TCPConnector(limit=c, limit_per_host=c)
        timeout = aiohttp.ClientTimeout(total=self.opts.timeout_s)
        rpm = TokenBucket(self.opts.requests_per_minute) if self.opts.requests_per_minute else None
        tpm = TokenBucket(self.opts.tokens_per_minute) if self.opts.tokens_per_minute else None
        todo: asyncio.Queue[Request] = asyncio.Queue()
        for r in requests:
            todo.put_nowait(r)

        async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as client:

            async def worker() -> None:
                while not self._stop.is_set():
                    try:
                        req = todo.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        res = await self._ask(client, req, rpm, tpm)
                    except Exception as e:  # noqa: BLE001 — a bug or an unexpected library error: report it on the request
                        res = Result(key=req.key, error_kind="client_error", error=f"{type(e).__name__}: {e}")
                    out.put(res)

            await asyncio.gather(*(worker() for _ in range(min(c, len(requests)) or 1)))

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        out: queue.Queue[Any] = queue.Queue()
        self._stop.clear()
        loop = asyncio.new_event_loop()
        failure: list[BaseException] = []

        def main() -> None:
            try:
                loop.run_until_complete(self._run(requests, out))
            except BaseException as e:  # noqa: BLE001 — surfaced in the caller's thread
                failure.append(e)
            finally:
                loop.close()
                out.put(_DONE)

        th = threading.Thread(target=main, name=f"openai-{self.teacher.name}", daemon=True)
        th.start()
        try:
            while True:
                item = out.get()
                if item is _DONE:
                    break
                yield item
            if failure:
                raise failure[0]
        finally:
            self._stop.set()  # the caller stopped early (fail-fast): workers finish their in-flight request
            th.join(timeout=5)

    def close(self) -> None:
        self._stop.set()
