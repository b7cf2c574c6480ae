"""A real local HTTP server that speaks /v1/chat/completions and /v1/completions, with scripted faults.

Not a mock of our client: it is a socket server on 127.0.0.1 that the client reaches over TCP. Each prompt (user
content) can be given a script of actions for its successive attempts: "ok", "429", "500", "empty" (200 with an
empty body), "nochoices" (200 JSON without choices), "hang" (never answers until released), "close" (headers
promise a body, half of it is sent, then the connection is closed), "block" (waits for `release()`, then ok).
Every request is logged (prompt, full JSON body, action) so tests can count exactly what the client sent.
A request with `logprobs` gets per-token logprobs back in the shape each endpoint has (chat:
`choices[i].logprobs.content[*].logprob`; completions: `choices[i].logprobs.token_logprobs`), one "token" per
word of the answer, valued by `logprob(prompt, sample, position)`.
Used by tests/curation and by benchmarks/bench_openai_client.py (it answers instantly when unscripted).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any


def _prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        users = [m.get("content", "") for m in body["messages"] if m.get("role") == "user"]
        return users[-1] if users else ""
    return str(body.get("prompt", ""))


def default_answer(prompt: str, i: int) -> str:
    return f"<think>Thinking about: {prompt[:40]} (sample {i})</think>The answer is \\boxed{{{len(prompt) % 10}}}."


def default_logprob(prompt: str, i: int, k: int) -> float:
    return -0.1 * (i + 1) - 0.01 * (k % 3)


class FakeOpenAIServer:
    def __init__(
        self,
        script: dict[str, list[str]] | None = None,
        match: str = "contains",
        answer: Callable[[str, int], str] = default_answer,
        split_reasoning: bool = False,
        max_choices: int | None = None,
        default_action: str = "ok",
        log_bodies: bool = True,
        block_after: int | None = None,
        logprob: Callable[[str, int, int], float] = default_logprob,
    ):
        self.script = script or {}
        self.match = match
        self.answer = answer
        self.logprob = logprob
        self.split_reasoning = split_reasoning  # answer with message.reasoning_content like vLLM's reasoning parser
        self.max_choices = max_choices  # llama.cpp ignores n>1: set 1 to imitate it
        self.default_action = default_action
        self.log_bodies = log_bodies
        self.block_after = block_after  # requests number >= this one wait for release() (to kill a client mid-run)
        self.log: list[dict[str, Any]] = []
        self.attempts: dict[str, int] = defaultdict(int)
        self.n_requests = 0
        self._lock = threading.Lock()
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.request_seen = threading.Condition()

    # --- lifecycle ---------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()

        def main() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._release = asyncio.Event()
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=main, daemon=True, name="fake-openai-server")
        self._thread.start()
        ready.wait()
        return self

    def release(self) -> None:
        """Let every 'block'ed (and future 'block') request answer."""
        assert self._loop is not None and self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for t in asyncio.all_tasks():
                if t is not asyncio.current_task():
                    t.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> FakeOpenAIServer:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what was asked ----------------------------------------------------------------------------------------
    def prompts(self, action: str | None = None) -> list[str]:
        with self._lock:
            return [e["prompt"] for e in self.log if action is None or e["action"] == action]

    def wait_for_requests(self, n: int, timeout: float = 120.0) -> bool:
        with self.request_seen:
            return self.request_seen.wait_for(lambda: self.n_requests >= n, timeout=timeout)

    # --- HTTP --------------------------------------------------------------------------------------------------
    def _action(self, prompt: str) -> str:
        with self._lock:
            attempt = self.attempts[prompt]
            self.attempts[prompt] += 1
        for k, actions in self.script.items():
            if (k in prompt) if self.match == "contains" else (k == prompt):
                return actions[min(attempt, len(actions) - 1)]  # the last action repeats
        return self.default_action

    def _body(self, body: dict[str, Any], prompt: str) -> bytes:
        n = int(body.get("n", 1) or 1)
        if self.max_choices is not None:
            n = min(n, self.max_choices)
        max_tokens = int(body.get("max_tokens", 16))
        choices, total = [], 0
        chat = "messages" in body
        for i in range(n):
            text = self.answer(prompt, i)
            words = text.split(" ")
            finish = "stop"
            if len(words) > max_tokens:
                text, finish = " ".join(words[:max_tokens]), "length"
            total += min(len(words), max_tokens)
            lps = [self.logprob(prompt, i, k) for k in range(min(len(words), max_tokens))]
            if chat:
                msg: dict[str, Any] = {"role": "assistant", "content": text}
                if self.split_reasoning and "</think>" in text:
                    r, a = text.split("</think>", 1)
                    msg = {"role": "assistant", "content": a, "reasoning_content": r.replace("<think>", "")}
                choices.append({"index": i, "message": msg, "finish_reason": finish})
                if body.get("logprobs"):
                    choices[-1]["logprobs"] = {
                        "content": [
                            {"token": w, "logprob": lp, "bytes": list(w.encode()), "top_logprobs": []}
                            for w, lp in zip(words, lps)
                        ]
                    }
            else:
                choices.append({"index": i, "text": text, "finish_reason": finish})
                if body.get("logprobs") is not None:
                    choices[-1]["logprobs"] = {
                        "tokens": words[: len(lps)],
                        "token_logprobs": lps,
                        "top_logprobs": [{w: lp} for w, lp in zip(words, lps)],
                        "text_offset": [sum(len(x) + 1 for x in words[:k]) for k in range(len(lps))],
                    }
        data = {
            "id": "cmpl-fake",
            "object": "chat.completion" if chat else "text_completion",
            "model": body.get("model"),
            "choices": choices,
            "usage": {
                "prompt_tokens": len(prompt.split()),
                "completion_tokens": total,
                "total_tokens": len(prompt.split()) + total,
            },
        }
        return json.dumps(data).encode()

    @staticmethod
    def _response(status: int, body: bytes, reason: str = "OK", extra: str = "") -> bytes:
        return (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n"
        ).encode() + body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                body = json.loads(raw) if raw else {}
                prompt = _prompt_of(body)
                action = self._action(prompt)
                with self._lock:
                    entry = {"prompt": prompt, "action": action}
                    if self.log_bodies:
                        entry["body"] = body
                    self.log.append(entry)
                with self.request_seen:
                    self.n_requests += 1
                    ordinal = self.n_requests
                    self.request_seen.notify_all()
                if self.block_after is not None and ordinal > self.block_after:
                    action = entry["action"] = "block"
                if action == "block":
                    assert self._release is not None
                    await self._release.wait()
                    action = "ok"
                if action == "ok":
                    writer.write(self._response(200, self._body(body, prompt)))
                elif action == "429":
                    writer.write(
                        self._response(429, b'{"error":"rate limited"}', "Too Many Requests", "Retry-After: 0\r\n")
                    )
                elif action == "500":
                    writer.write(self._response(500, b'{"error":"boom"}', "Internal Server Error"))
                elif action == "empty":
                    writer.write(self._response(200, b""))
                elif action == "nochoices":
                    writer.write(self._response(200, b'{"id":"x","choices":[]}'))
                elif action == "hang":
                    await asyncio.sleep(3600)
                elif action == "close":
                    full = self._body(body, prompt)
                    writer.write(self._response(200, full)[: -len(full) // 2])
                    await writer.drain()
                    writer.close()
                    return
                else:
                    raise ValueError(f"unknown action {action!r}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
