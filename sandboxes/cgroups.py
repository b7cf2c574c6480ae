"""A cgroup per run (memory + pids, cpu accounting), on cgroup v1 or v2, reused from a pool.

Groups are created under the caller's own cgroup (the delegated subtree in containers and systemd units), so
host accounting of the caller still covers the sandboxes. The whole group is SIGKILLed after each run.
"""

from __future__ import annotations

import atexit
import os
import signal
import threading
import time

V1_ROOT = "/sys/fs/cgroup"
_PREFIX = "cotforge-sbx"


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _own_cgroups() -> dict[str, str]:
    """controller -> path relative to its hierarchy ('' key for the v2 unified hierarchy)."""
    out: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else [""]:
                out[c] = path
    return out


class Cgroup:
    """One run's group. `procs_files` are written with b'0' by the child before exec (attach itself)."""

    def __init__(self, dirs: dict[str, str], version: int):
        self.dirs = dirs  # controller -> absolute directory
        self.version = version
        self.procs_files = [os.path.join(d, "cgroup.procs") for d in dict.fromkeys(dirs.values())]
        self._mem = self._pids = None
        self._oom0 = 0
        self._cpu0 = 0

    # -- limits -------------------------------------------------------------------------------------------
    def configure(self, mem_bytes: int, pids: int) -> None:
        if self.version == 1:
            m = self.dirs.get("memory")
            if m and self._mem != mem_bytes:
                sw = os.path.join(m, "memory.memsw.limit_in_bytes")
                for order in (("memory.limit_in_bytes", sw), (sw, "memory.limit_in_bytes")):
                    try:  # memsw must stay >= mem: the right order depends on raising or lowering
                        for name in order:
                            if os.path.exists(os.path.join(m, name)):
                                _write(os.path.join(m, name), str(mem_bytes))
                        break
                    except OSError:
                        continue
                self._mem = mem_bytes
            if m:
                for name in ("memory.max_usage_in_bytes", "memory.failcnt"):
                    try:
                        _write(os.path.join(m, name), "0")
                    except OSError:
                        pass
            p = self.dirs.get("pids")
            if p and self._pids != pids:
                _write(os.path.join(p, "pids.max"), str(pids))
                self._pids = pids
        else:
            d = self.dirs[""]
            if self._mem != mem_bytes:
                _write(os.path.join(d, "memory.max"), str(mem_bytes))
                try:
                    _write(os.path.join(d, "memory.swap.max"), "0")
                except OSError:
                    pass
                self._mem = mem_bytes
            if self._pids != pids:
                _write(os.path.join(d, "pids.max"), str(pids))
                self._pids = pids
            try:
                _write(os.path.join(d, "memory.peak"), "0")  # resettable since Linux 6.12
            except OSError:
                pass
        self._oom0 = self.oom_kills()
        self._cpu0 = self._cpu_ns()

    # -- accounting ---------------------------------------------------------------------------------------
    def oom_kills(self) -> int:
        try:
            if self.version == 1:
                text = _read(os.path.join(self.dirs["memory"], "memory.oom_control"))
            else:
                text = _read(os.path.join(self.dirs[""], "memory.events"))
        except (OSError, KeyError):
            return 0
        for line in text.splitlines():
            k, _, v = line.partition(" ")
            if k == "oom_kill":
                return int(v)
        return 0

    def oom_since_configure(self) -> bool:
        return self.oom_kills() > self._oom0

    def peak_memory_mb(self) -> float | None:
        try:
            if self.version == 1:
                v = _read(os.path.join(self.dirs["memory"], "memory.max_usage_in_bytes"))
            else:
                v = _read(os.path.join(self.dirs[""], "memory.peak"))
            return round(int(v) / 2**20, 2)
        except (OSError, KeyError, ValueError):
            return None

    def _cpu_ns(self) -> int:
        try:
            if self.version == 1:
                d = self.dirs.get("cpuacct")
                return int(_read(os.path.join(d, "cpuacct.usage"))) if d else 0
            for line in _read(os.path.join(self.dirs[""], "cpu.stat")).splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) * 1000
        except (OSError, ValueError):
            pass
        return 0

    def cpu_s(self) -> float | None:
        if self.version == 1 and "cpuacct" not in self.dirs:
            return None
        return round((self._cpu_ns() - self._cpu0) / 1e9, 4)

    # -- killing ------------------------------------------------------------------------------------------
    def pids(self) -> list[int]:
        out: set[int] = set()
        for f in self.procs_files:
            try:
                out.update(int(x) for x in _read(f).split())
            except OSError:
                pass
        return sorted(out)

    def kill_all(self, timeout: float = 5.0) -> bool:
        """SIGKILL every member until the group is empty. The pids limit bounds how fast a bomb can refill it."""
        if self.version == 2:
            try:
                _write(os.path.join(self.dirs[""], "cgroup.kill"), "1")
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        while True:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    def pids_current(self) -> int | None:
        d = self.dirs.get("pids") if self.version == 1 else self.dirs.get("")
        if not d:
            return None
        try:
            return int(_read(os.path.join(d, "pids.current")))
        except (OSError, ValueError):
            return None

    def settled(self, reap=None, timeout: float = 0.5) -> bool:
        """Wait until nothing is charged to the group, reaping our orphans meanwhile; False if it stays charged."""
        deadline = time.monotonic() + timeout
        while True:
            n = self.pids_current()
            if not n:
                return True
            if reap is not None:
                reap()
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)

    def remove(self) -> None:
        self.kill_all(timeout=2.0)
        for d in dict.fromkeys(self.dirs.values()):
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


class CgroupPool:
    """Creates groups on demand, hands them out one run at a time, removes them all at exit."""

    def __init__(self):
        self._lock = threading.Lock()
        self._free: list[Cgroup] = []
        self._all: list[Cgroup] = []
        self._n = 0
        self.version, self.parents, self.problem = self._detect()
        if self.parents:
            self._sweep_stale()
            atexit.register(self.close)

    @staticmethod
    def _detect() -> tuple[int, dict[str, str], str]:
        try:
            own = _own_cgroups()
        except OSError as e:
            return 0, {}, f"cannot read /proc/self/cgroup: {e}"
        v1 = {
            c: os.path.join(V1_ROOT, c, own[c].lstrip("/"))
            for c in ("memory", "pids", "cpuacct")
            if c in own and os.path.isdir(os.path.join(V1_ROOT, c))
        }
        if "memory" in v1 and "pids" in v1:
            ok = all(os.access(p, os.W_OK) for p in v1.values())
            return (1, v1, "") if ok else (0, {}, "cgroup v1 memory/pids not writable (need root or delegation)")
        if "" in own:
            base = next(
                (
                    m
                    for m in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
                    if os.path.exists(os.path.join(m, "cgroup.controllers"))
                ),
                None,
            )
            if base:
                parent = os.path.join(base, own[""].lstrip("/"))
                try:
                    ctrls = _read(os.path.join(parent, "cgroup.controllers")).split()
                except OSError:
                    ctrls = []
                if "memory" in ctrls and "pids" in ctrls and os.access(parent, os.W_OK):
                    try:
                        _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids +cpu")
                    except OSError:
                        try:
                            _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
                        except OSError as e:
                            return 0, {}, f"cgroup v2: cannot enable memory/pids for children of {parent}: {e}"
                    return 2, {"": parent}, ""
                return 0, {}, "cgroup v2 without delegated memory+pids controllers, and no writable v1 memory+pids"
        return 0, {}, "no usable memory+pids cgroup controllers"

    def _sweep_stale(self) -> None:
        """Remove groups left by dead processes (a crash skips atexit)."""
        for parent in self.parents.values():
            try:
                names = os.listdir(parent)
            except OSError:
                continue
            for name in names:
                if not name.startswith(_PREFIX + "-"):
                    continue
                try:
                    pid = int(name.split("-")[2])
                except (IndexError, ValueError):
                    continue
                if pid != os.getpid() and not os.path.exists(f"/proc/{pid}"):
                    Cgroup({"x": os.path.join(parent, name)}, self.version).remove()

    @property
    def available(self) -> bool:
        return bool(self.parents)

    def acquire(self) -> Cgroup:
        with self._lock:
            if self._free:
                return self._free.pop()
            self._n += 1
            name = f"{_PREFIX}-{os.getpid()}-{self._n}"
        dirs = {}
        for ctrl, parent in self.parents.items():
            d = os.path.join(parent, name)
            os.makedirs(d, exist_ok=True)
            dirs[ctrl] = d
        cg = Cgroup(dirs, self.version)
        with self._lock:
            self._all.append(cg)
        return cg

    def release(self, cg: Cgroup, reap=None) -> None:
        """Back to the pool only when empty *and* no longer charged (a zombie still counts against pids.max)."""
        if cg.kill_all() and cg.settled(reap):
            with self._lock:
                self._free.append(cg)
        else:  # could not empty it: do not hand it out again
            with self._lock:
                self._all.remove(cg)

    def close(self) -> None:
        with self._lock:
            groups, self._all, self._free = list(self._all), [], []
        for cg in groups:
            cg.remove()


_pool: CgroupPool | None = None
_pool_lock = threading.Lock()


def pool() -> CgroupPool:
    global _pool
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _set_pool(CgroupPool())
        return _pool


_pool_pid = -1


def _set_pool(p: CgroupPool) -> None:
    global _pool, _pool_pid
    _pool, _pool_pid = p, os.getpid()
