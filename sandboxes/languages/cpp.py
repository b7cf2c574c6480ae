"""C++: g++ inside its own sandbox (own limits, no network), binary handed to the run sandbox via memory."""

from __future__ import annotations

import hashlib
import shutil
import threading
from collections import OrderedDict

from ..bwrap import WORKDIR, SandboxFile, Spec
from ..limits import COMPILE_LIMITS, Limits
from ..result import Result
from .base import BASE_ENV, Language, Prepared

FLAGS = ("-std=gnu++17", "-O2", "-pipe")
_cache: OrderedDict[str, tuple[bytes, Result]] = OrderedDict()
_cache_lock = threading.Lock()


class Cpp(Language):
    name = "cpp"
    extensions = (".cpp", ".cc", ".cxx")

    def __init__(self, compiler: str = "g++", flags: tuple[str, ...] = FLAGS, limits: Limits = COMPILE_LIMITS):
        self.compiler, self.flags, self.limits = compiler, flags, limits

    def compile(self, source: str) -> tuple[bytes | None, Result]:
        from ..supervisor import execute  # late: supervisor imports isolation, which is heavier

        key = hashlib.sha256(("\0".join((self.compiler, *self.flags, source))).encode()).hexdigest()
        with _cache_lock:
            if key in _cache:
                _cache.move_to_end(key)
                binary, res = _cache[key]
                return binary, res
        cxx = shutil.which(self.compiler) or self.compiler
        # The binary comes back on stdout so that nothing is written to the host disk.
        script = f"{cxx} {' '.join(self.flags)} -o /tmp/a.out {WORKDIR}/prog.cpp 1>&2 && cat /tmp/a.out"
        spec = Spec(
            argv=["/bin/sh", "-c", script],
            env=dict(BASE_ENV, TMPDIR="/tmp"),
            files=[SandboxFile(f"{WORKDIR}/prog.cpp", source.encode("utf-8", "surrogateescape"))],
        )
        res = execute(spec, self.limits)
        binary = None
        if res.status == "passed" and res.stdout:
            binary = res.stdout
        else:
            if res.status in ("passed", "runtime_error"):
                res.status = "compile_error"
                res.detail = res.stderr.decode(errors="replace")[-2000:]
            elif res.status != "sandbox_error":
                res.detail = f"compiler {res.status}: {res.detail}"
                res.status = "compile_error"
        res.stdout = b""
        if res.status not in ("passed", "compile_error") or "compiler timeout" in res.detail:
            return binary, res  # infrastructure trouble or a slow machine: do not cache
        with _cache_lock:
            _cache[key] = (binary, res)
            while len(_cache) > 64:
                _cache.popitem(last=False)
        return binary, res

    def prepare(self, source: str) -> Prepared:
        binary, res = self.compile(source)
        if binary is None:
            return Prepared(compile_result=res)
        return Prepared(
            argv=[f"{WORKDIR}/prog"],
            files=[SandboxFile(f"{WORKDIR}/prog", binary, 0o555)],
            env=dict(BASE_ENV),
            compile_result=res,
        )
