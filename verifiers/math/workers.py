"""Isolation: verification runs in worker processes with a per-task deadline (ms) and a memory cap.

A worker that overruns is killed from outside (SIGKILL stops C-level bignum work too, unlike SIGALRM) and a
warm spare takes its place at once. Workers are `python -m` subprocesses (no fork of a threaded caller, no
re-import of the caller's __main__). Dispatch is plain threads + pipes, so any thread or asyncio loop may call.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Optional

from .verdict import Verdict

DEFAULT_TIMEOUT_MS = 1000
DEFAULT_MEMORY_MB = 1024


def _set_memory_cap(memory_mb: int) -> None:
    try:
        import resource

        with open(f"/proc/{os.getpid()}/statm") as f:
            vms_pages = int(f.read().split()[0])
        cur = vms_pages * os.sysconf("SC_PAGE_SIZE")
        cap = cur + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    except (ImportError, OSError, ValueError):
        pass  # not Linux: the deadline still applies


class _Worker:
    """One `python -m verifiers.math._worker` subprocess (a fresh interpreter: safe whatever the caller's
    threads or __main__ look like)."""

    def __init__(self, memory_mb: int):
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "verifiers.math._worker", str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            env=env,
            start_new_session=True,
        )
        self.ready = False
        self._ready_lock = threading.Lock()

    def wait_ready(self, timeout: float = 120.0) -> None:
        with self._ready_lock:  # `VerifierPool.warm` and a task may wait on the same worker
            if self.ready:
                return
            r, _, _ = select.select([self.proc.stdout], [], [], timeout)
            if not r or os.read(self.proc.stdout.fileno(), 1) != b"R":
                raise OSError("verifier worker failed to start")
            self.ready = True

    def send(self, msg) -> None:
        data = pickle.dumps(msg)
        self.proc.stdin.write(struct.pack("<I", len(data)) + data)
        self.proc.stdin.flush()

    def poll(self, timeout: float) -> bool:
        r, _, _ = select.select([self.proc.stdout], [], [], max(timeout, 0.0))
        return bool(r)

    def recv(self):
        from ._worker import _read_exact

        fd = self.proc.stdout.fileno()
        (n,) = struct.unpack("<I", _read_exact(fd, 4))
        return pickle.loads(_read_exact(fd, n))

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass

    def stop(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class VerifierPool:
    """N worker processes; `run` is thread-safe and enforces the deadline from outside the worker."""

    def __init__(self, workers: int = 1, memory_mb: int = DEFAULT_MEMORY_MB):
        if workers < 1:
            raise ValueError(f"workers must be >= 1 (got {workers})")
        self.workers = workers
        self.memory_mb = memory_mb
        self._spare: "queue.Queue[_Worker]" = queue.Queue()
        self._idle: "queue.Queue[_Worker]" = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(workers):
            self._spawn(self._idle)
        self._spawn(self._spare)  # a warm standby replaces a killed worker at once

    def _spawn(self, q: "queue.Queue[_Worker]") -> None:
        w = _Worker(self.memory_mb)
        with self._lock:
            self._all.append(w)
        q.put(w)

    def _replace(self, w: _Worker) -> None:
        self._retire(w)
        self._idle.put(self._spare.get())
        self._spawn(self._spare)

    def _retire(self, w: _Worker) -> None:
        w.kill()
        with self._lock:
            if w in self._all:
                self._all.remove(w)

    def warm(self, timeout: float = 120.0) -> None:
        """Wait until every worker (the spare too) has started: a trainer calls this before its first step so
        that step does not pay the interpreter + sympy start-up. A worker that fails to start is replaced."""
        with self._lock:
            ws = list(self._all)
        for w in ws:
            try:
                w.wait_ready(timeout)
            except OSError:
                pass  # `run` replaces it on first use and reports the error there

    def run(self, gold: str, prediction: Any, timeout_ms: int, opts: dict) -> Verdict:
        if self._closed:
            raise RuntimeError("VerifierPool is closed")
        w = self._idle.get()
        try:
            w.wait_ready()  # start-up is not charged to the task's deadline
        except OSError as e:
            self._replace(w)
            return Verdict(None, "error", method="worker", detail=str(e))
        t0 = time.perf_counter()
        try:
            w.send((gold, prediction, opts))
            if w.poll(timeout_ms / 1000.0):
                d = w.recv()
                self._idle.put(w)
                return Verdict.from_dict(d)
        except (EOFError, OSError, struct.error, pickle.UnpicklingError) as e:
            self._replace(w)
            return Verdict(
                None,
                "error",
                method="worker",
                detail=f"worker died: {type(e).__name__}",
                elapsed_ms=round((time.perf_counter() - t0) * 1000, 3),
            )
        # overrun: kill from outside (stops C-level bignum work too) and swap in the warm spare
        self._replace(w)
        return Verdict(
            None,
            "timeout",
            method="deadline",
            detail=f"no verdict within {timeout_ms} ms; worker killed",
            elapsed_ms=round((time.perf_counter() - t0) * 1000, 3),
        )

    def map(
        self, pairs: list[tuple[str, Any]], timeout_ms: int, opts: dict, on_done: Optional[Callable[[int], None]] = None
    ) -> list[Verdict]:
        out: list[Optional[Verdict]] = [None] * len(pairs)

        def one(i: int) -> None:
            g, p = pairs[i]
            out[i] = self.run(g, p, timeout_ms, opts)
            if on_done:
                on_done(1)

        with ThreadPoolExecutor(max_workers=self.workers) as ex:
            list(ex.map(one, range(len(pairs))))
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self._closed = True
        with self._lock:
            ws = list(self._all)
            self._all.clear()
        for w in ws:
            w.stop()


_pools: dict[tuple[int, int], VerifierPool] = {}
_pools_lock = threading.Lock()


def get_pool(workers: int = 1, memory_mb: int = DEFAULT_MEMORY_MB) -> VerifierPool:
    """Shared pools, reused across calls (a worker start costs an interpreter + sympy import)."""
    key = (workers, memory_mb)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None or pool._closed:
            pool = _pools[key] = VerifierPool(workers, memory_mb)
        return pool


@atexit.register
def shutdown_pools() -> None:
    with _pools_lock:
        for p in _pools.values():
            p.close()
        _pools.clear()


def chunks(it: Iterable, n: int):
    buf = []
    for x in it:
        buf.append(x)
        if len(buf) == n:
            yield buf
            buf = []
    if buf:
        yield buf
