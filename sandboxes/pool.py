"""Parallel execution: a pool of workers, each with its own backend (a warm fork-server or fresh sandboxes)."""

from __future__ import annotations

import asyncio
import atexit
import os
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .api import run_tests
from .backends import FreshSandbox
from .forkserver import ForkServer
from .isolation import detect
from .limits import Limits
from .result import TestReport


class SandboxPool:
    """`workers` threads (the work happens in sandboxed processes, so the GIL is not the bottleneck).

    mode="forkserver": one warm sandbox per worker (Python); mode="sandbox": a fresh sandbox per execution.
    """

    def __init__(self, workers: int | None = None, mode: str = "forkserver", limits: Limits | None = None):
        if mode not in ("forkserver", "sandbox"):
            raise ValueError(f"unknown pool mode {mode!r}: use 'forkserver' or 'sandbox'")
        if mode == "forkserver" and not detect().bwrap:
            mode = "sandbox"  # the fork-server lives inside bwrap; without it every run is a fresh process
        self.mode = mode
        self.workers = workers or max(1, os.cpu_count() or 1)
        self.limits = limits or Limits()
        self._backends: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(self.workers):
            self._backends.put(ForkServer(self.limits) if mode == "forkserver" else FreshSandbox())
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
        self._closed = False

    def _with_backend(self, fn, *args, **kw):
        backend = self._backends.get()
        try:
            return fn(*args, backend=backend, **kw)
        finally:
            self._backends.put(backend)

    def run_tests(self, program: str, tests: Any, **kw) -> TestReport:
        return self._with_backend(run_tests, program, tests, **kw)

    def submit(self, program: str, tests: Any, **kw):
        return self._executor.submit(self._with_backend, run_tests, program, tests, **kw)

    def map(self, items: Iterable[dict[str, Any]]) -> list[TestReport]:
        """items: dicts with `program`, `tests` and optionally `language`, `limits`, `early_stop`."""
        futures = [
            self.submit(it["program"], it["tests"], **{k: v for k, v in it.items() if k not in ("program", "tests")})
            for it in items
        ]
        return [f.result() for f in futures]

    async def run_tests_async(self, program: str, tests: Any, **kw) -> TestReport:
        return await asyncio.wrap_future(self.submit(program, tests, **kw))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        while not self._backends.empty():
            self._backends.get().close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_default: SandboxPool | None = None
_default_lock = threading.Lock()


def default_pool(workers: int | None = None) -> SandboxPool:
    global _default
    with _default_lock:
        if _default is None or _default._closed or (workers and workers != _default.workers):
            if _default is not None:
                _default.close()
            _default = SandboxPool(workers)
            atexit.register(_default.close)
        return _default


def run_tests_batch(
    items: Iterable[dict[str, Any]], workers: int | None = None, mode: str = "forkserver"
) -> list[TestReport]:
    """Run many (program, tests) items in parallel; results in input order."""
    with SandboxPool(workers, mode=mode) as pool:
        return pool.map(list(items))


async def run_tests_async(program: str, tests: Any, **kw) -> TestReport:
    """Async variant for RL reward loops: runs on the shared default pool."""
    return await default_pool().run_tests_async(program, tests, **kw)
