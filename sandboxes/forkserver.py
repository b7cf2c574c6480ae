"""Warm fork-server backend: one long-lived sandbox per worker; each test is a fork of a warm interpreter.

For the many-small-tests case (RL rewards, many stdio cases): no namespace setup and no interpreter start per
test. Every sandbox layer still applies to the server's sandbox; per test the child gets its own rlimits, a
fresh work dir, a deadline, output caps, and everything it started is killed before the next test. The memory
cgroup is shared by the server and its child; the child has oom_score_adj 1000 so an OOM takes the test.
Non-Python languages fall back to a fresh sandbox per run.
"""

from __future__ import annotations

import base64
import json
import os
import select
import struct
import threading
import time
from pathlib import Path

from .backends import FreshSandbox, Program
from .bwrap import WORKDIR, SandboxFile, Spec
from .isolation import detect
from .languages import Language
from .languages.python import Python
from .limits import Limits
from .result import Result
from .runtime import PythonRuntime, python_runtime
from .supervisor import _MEM_MARKERS, LongLived, _rlimits

SERVER_SOURCE = (Path(__file__).parent / "_forkserver_main.py").read_bytes()
SERVER_OVERHEAD_MB = 64
STACK_HARD_MB = 1024  # a test may ask for a main-thread stack up to this without restarting the server


class ForkServer:
    """One warm sandbox. Not thread-safe: one request at a time (the pool gives one per worker)."""

    name = "forkserver"

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits()
        self._box: LongLived | None = None
        self._fresh = FreshSandbox()
        self._lock = threading.Lock()
        self._oom_seen: int | None = None  # the server cgroup's OOM-kill count after the last request

    # -- server lifecycle ---------------------------------------------------------------------------------
    def _start(self) -> LongLived:
        rt = python_runtime()
        spec = Spec(
            argv=[rt.sandbox_exe, "-I", "-B", f"{WORKDIR}/_fs.py"],
            env={
                "PATH": "/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8",
                "LD_LIBRARY_PATH": f"{PythonRuntime.MOUNT}/lib",
                "PYTHONHASHSEED": "0",
            },
            files=[SandboxFile(f"{WORKDIR}/_fs.py", SERVER_SOURCE)],
            ro_binds=[(rt.host_dir, PythonRuntime.MOUNT)],
        )
        lim = self.limits.with_(
            mem_mb=self.limits.mem_mb + SERVER_OVERHEAD_MB,
            pids=self.limits.pids + 4,
            tmpfs_mb=max(self.limits.tmpfs_mb, 256),
        )
        box = LongLived(spec, lim, stack_hard_mb=max(STACK_HARD_MB, self.limits.stack_mb))
        hello = self._recv(box, time.monotonic() + 30)
        if not hello or not hello.get("ready"):
            box.close()
            raise RuntimeError("fork-server sandbox did not start")
        return box

    def close(self) -> None:
        self._oom_seen = None
        if self._box is not None:
            self._box.close()
            self._box = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @staticmethod
    def _recv(box: LongLived, deadline: float) -> dict | None:
        fd = box.proc.stdout.fileno()
        buf = bytearray()
        need = 4
        size = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd, box.pidfd], [], [], left)
            if fd in ready:
                chunk = os.read(fd, max(65536, need - len(buf)))
                if not chunk:
                    return None
                buf += chunk
                if size is None and len(buf) >= 4:
                    (size,) = struct.unpack(">I", buf[:4])
                    need = 4 + size
                if size is not None and len(buf) >= need:
                    return json.loads(bytes(buf[4:need]))
            elif box.pidfd in ready:
                return None

    # -- backend interface ----------------------------------------------------------------------------------
    def prepare(self, language: Language, source: str, extra: dict[str, bytes] | None = None) -> Program:
        if not isinstance(language, Python):
            return self._fresh.prepare(language, source, extra)
        return Program(language, source, None, dict(extra or {}))

    def execute(self, program: Program, stdin: bytes, limits: Limits) -> Result:
        if program.prepared is not None:
            return self._fresh.execute(program, stdin, limits)
        with self._lock:
            return self._execute(program, stdin, limits)

    def _execute(self, program: Program, stdin: bytes, limits: Limits) -> Result:
        iso = detect()
        bigger = (
            limits.mem_mb > self.limits.mem_mb
            or limits.pids > self.limits.pids
            or limits.stack_mb > max(STACK_HARD_MB, self.limits.stack_mb)
        )
        if self._box is None or not self._box.alive() or bigger:
            self.close()
            if bigger:
                self.limits = self.limits.with_(
                    mem_mb=max(limits.mem_mb, self.limits.mem_mb),
                    pids=max(limits.pids, self.limits.pids),
                    stack_mb=max(limits.stack_mb, self.limits.stack_mb),
                )
            try:
                self._box = self._start()
            except (RuntimeError, OSError) as e:
                return Result(status="sandbox_error", detail=str(e), isolation=iso.layers)
        box = self._box
        files = {"prog.py": program.source.encode("utf-8", "surrogateescape"), **program.extra}
        rl = [(r, v[0]) for r, v in _rlimits(limits, box.cg is not None)]
        req = {
            "files": {k: base64.b64encode(v).decode() for k, v in files.items()},
            "main": "prog.py",
            "stdin": base64.b64encode(stdin).decode(),
            "time_s": limits.time_s,
            "rlimits": rl,
            "stdout_cap": int(limits.stdout_mb * 2**20),
            "stderr_cap": int(limits.stderr_mb * 2**20),
        }
        data = json.dumps(req).encode()
        if self._oom_seen is None:  # else: the count read after the previous request (nothing ran since)
            self._oom_seen = box.cg.oom_kills() if box.cg else 0
        oom0 = self._oom_seen
        t0 = time.monotonic()
        try:
            box.proc.stdin.write(struct.pack(">I", len(data)) + data)
            box.proc.stdin.flush()
            resp = self._recv(box, t0 + limits.time_s + 10)
        except (BrokenPipeError, OSError):
            resp = None
        self._oom_seen = box.cg.oom_kills() if box.cg else 0
        oom = self._oom_seen > oom0
        res = Result(status="passed", isolation=iso.layers + ["forkserver"])
        if resp is None or "error" in resp:  # the server died (killed by the test, OOM) or misbehaved
            self.close()
            res.wall_s = round(time.monotonic() - t0, 4)
            if oom:
                res.status, res.detail = "memory_limit", "OOM-killed by the memory cgroup"
            elif res.wall_s >= limits.time_s:
                res.status, res.detail = "timeout", "wall-clock deadline reached"
            else:
                res.status = "runtime_error"
                res.detail = "the program killed its sandbox" + (f": {resp['error']}" if resp else "")
            return res
        res.stdout, res.stderr = base64.b64decode(resp["stdout"]), base64.b64decode(resp["stderr"])
        res.wall_s, res.cpu_s, res.peak_memory_mb = resp["wall_s"], resp["cpu_s"], resp["maxrss_mb"]
        res.exit_code, res.signal = resp["exit_code"], resp["signal"]
        if resp["over"]:
            res.status, res.detail = "output_limit", "stdout/stderr cap exceeded; run killed"
        elif oom:
            res.status, res.detail = "memory_limit", "OOM-killed by the memory cgroup"
        elif resp["timed_out"]:
            res.status, res.detail = "timeout", "wall-clock deadline reached; process group killed"
        elif res.signal == 24:
            res.status, res.detail = "timeout", "CPU time limit (RLIMIT_CPU)"
        elif res.signal == 25:
            res.status, res.detail = "output_limit", "file size limit (RLIMIT_FSIZE)"
        elif res.signal is not None or res.exit_code not in (0, None):
            if any(m in res.stderr[-4096:] for m in _MEM_MARKERS):
                res.status, res.detail = "memory_limit", "allocation refused (address-space limit)"
            else:
                res.status = "runtime_error"
                res.detail = f"killed by signal {res.signal}" if res.signal else f"exit code {res.exit_code}"
        return res
