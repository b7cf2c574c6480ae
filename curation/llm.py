"""How a stage asks a manifest teacher free-form questions: `generate(prompts) -> replies` over distill's backends.

Used by the LLM judges (verify, decontaminate) and the LLM steps of the segment stage. One `TeacherPool` per
stage holds one backend per teacher and one request cache (`<stage cache>/requests`, distill's `RequestCache`):
every answer is stored the moment it arrives, so a re-run or a resumed stage re-asks nothing already answered,
and a backend is only built for a prompt the cache cannot answer (a fully cached re-run loads no model).
Asking the same prompt again through the same `LLM` is a new sample (retries and rollouts get fresh answers); a
re-run asks in the same order and so replays the cache. Each call is one `backend.generate` call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import UserError

Generate = Callable[[list[str]], list[str]]
FAILURE_EXAMPLES = 5


def _new_stats() -> dict[str, Any]:
    return {"prompts": 0, "cached": 0, "sent": 0, "failed": 0, "generate_calls": 0, "failures": []}


class LLM:
    """A callable `generate(prompts) -> texts` ("" for a failed request); `replies` gives None there instead."""

    def __init__(
        self,
        label: str,
        backend: Callable[[], Any],
        identity: dict[str, Any],
        sampling: dict[str, Any] | None = None,
        cache: Any = None,
    ):
        self.label = label
        self._backend = backend
        self.identity = identity
        self.sampling = {"n": 1, **(sampling or {})}
        self.cache = cache
        self._asked: Counter[str] = Counter()
        self.stats = _new_stats()

    def _request(self, prompt: str) -> Any:
        from .teachers import Request
        from .teachers.base import request_key

        msgs = [{"role": "user", "content": prompt}]
        occurrence = self._asked[prompt]
        self._asked[prompt] += 1
        key = request_key(self.identity, msgs, None, self.sampling, [occurrence])
        return Request(
            key=key, query_id=self.label, messages=msgs, sample_indices=[occurrence], sampling=dict(self.sampling)
        )

    def replies(self, prompts: list[str]) -> list[str | None]:
        reqs = [self._request(p) for p in prompts]
        got: dict[str, Any] = {}
        to_send = []
        for r in reqs:
            hit = self.cache.get(r.key) if self.cache is not None else None
            if hit is not None:
                got[r.key] = hit
            else:
                to_send.append(r)  # keys carry the occurrence: never two equal keys in one call
        self.stats["prompts"] += len(reqs)
        self.stats["cached"] += len(reqs) - len(to_send)
        if to_send:
            self.stats["sent"] += len(to_send)
            self.stats["generate_calls"] += 1
            try:
                for res in self._backend().generate(to_send):
                    got[res.key] = res
                    if self.cache is not None:
                        self.cache.put(res)
                    if not res.ok:
                        self.stats["failed"] += 1
                        if len(self.stats["failures"]) < FAILURE_EXAMPLES:
                            self.stats["failures"].append(f"{res.error_kind}: {(res.error or '')[:200]}")
            finally:
                if self.cache is not None:
                    self.cache.sync()
        out: list[str | None] = []
        for r in reqs:
            res = got.get(r.key)
            out.append((res.choices[0].completion or "") if res is not None and res.ok and res.choices else None)
        return out

    def __call__(self, prompts: list[str]) -> list[str]:
        return [r or "" for r in self.replies(prompts)]


def backend_generate(backend: Any, sampling: dict | None = None) -> LLM:
    """An uncached `LLM` over any `curation.teachers` backend (the caller closes the backend)."""
    return LLM(
        getattr(backend, "name", "backend"), lambda: backend, {"backend": getattr(backend, "name", None)}, sampling
    )


class TeacherPool:
    """The teachers one stage asks: one backend per teacher (built on first use), one request cache."""

    def __init__(self, manifest: Any, cache_dir: Path | None):
        self.manifest = manifest
        self.cache_dir = cache_dir
        self._cache: Any = None
        self._backends: dict[str, Any] = {}
        self.llms: list[LLM] = []

    def teacher(self, name: str | None, key: str) -> Any:
        """The live `teachers:` entry called `name`; UserError naming the manifest key otherwise."""
        from .config.distill import LIVE_BACKENDS

        teachers = {t.name: t for t in getattr(self.manifest, "teachers", [])}
        if name not in teachers:
            raise UserError(
                f"{key}: teacher {name!r} is not in `teachers:` (have: {', '.join(teachers) or 'none'}); "
                "name one of them or add it"
            )
        t = teachers[name]
        if t.backend not in LIVE_BACKENDS:
            raise UserError(
                f"{key}: teacher {name!r} has backend {t.backend!r}, which cannot answer new prompts; "
                f"name a live teacher ({' | '.join(LIVE_BACKENDS)})"
            )
        return t

    def llm(self, name: str | None, key: str, sampling: dict[str, Any] | None = None) -> LLM:
        from .teachers.requests import resolve_local_paths, teacher_identity

        t = resolve_local_paths(self.teacher(name, key), self.manifest.base_dir)
        if self._cache is None and self.cache_dir is not None:
            from .teachers.cache import RequestCache

            self._cache = RequestCache(Path(self.cache_dir) / "requests")
        llm = LLM(t.name, lambda: self._backend(t, key), teacher_identity(t), sampling, self._cache)
        self.llms.append(llm)
        return llm

    def _backend(self, t: Any, key: str) -> Any:
        if t.name not in self._backends:
            from .teachers import make_backend

            try:
                self._backends[t.name] = make_backend(t)
            except ValueError as e:
                raise UserError(f"{key}: teacher {t.name!r} cannot be used: {e}") from None
        return self._backends[t.name]

    def stats(self) -> dict[str, Any]:
        """Requests per teacher, summed over its uses (what was cached, sent, failed)."""
        out: dict[str, dict[str, Any]] = {}
        for llm in self.llms:
            s = out.setdefault(llm.label, _new_stats())
            for k, v in llm.stats.items():
                s[k] = s[k] + v
            s["failures"] = s["failures"][:FAILURE_EXAMPLES]
        return out

    def close(self) -> None:
        for b in self._backends.values():
            b.close()
        self._backends.clear()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> TeacherPool:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
