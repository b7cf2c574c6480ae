"""Resource limits of one sandboxed execution."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Limits:
    """Per-execution limits. Defaults suit one competitive-programming test or one HumanEval check."""

    time_s: float = 5.0  # wall clock; the whole process group is SIGKILLed at the deadline
    cpu_s: float | None = None  # RLIMIT_CPU; default time_s + 1 (a sleep loop is caught by the wall deadline)
    mem_mb: int = 512  # cgroup memory limit (OOM kill -> memory_limit); RLIMIT_AS gets headroom above it
    pids: int = 64  # cgroup pids.max (fork bombs, thread storms)
    stdout_mb: float = 16.0  # supervisor cap; exceeding it kills the run -> output_limit
    stderr_mb: float = 1.0
    fsize_mb: int = 64  # RLIMIT_FSIZE: largest file the program may write
    tmpfs_mb: int = 128  # size of the private /work and /tmp tmpfs (charged to the memory cgroup too)
    nofile: int = 256  # RLIMIT_NOFILE
    # RLIMIT_STACK of the main thread: what a bare interpreter gets (`ulimit -s` 8 MB). A bigger stack does not
    # make a C-stack overflow safe, only slow to reach (deep `repr` is quadratic in depth: 64 MB took minutes);
    # a test set that needs deep C recursion asks for more with its `stack_mb` key.
    stack_mb: int = 8

    def with_(self, **kw) -> Limits:
        return replace(self, **{k: v for k, v in kw.items() if v is not None})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def cpu_limit_s(self) -> int:
        return int(self.cpu_s if self.cpu_s is not None else self.time_s + 1) + 1


COMPILE_LIMITS = Limits(time_s=30.0, mem_mb=1024, pids=64, stdout_mb=64.0, stderr_mb=1.0, fsize_mb=64, tmpfs_mb=256)
