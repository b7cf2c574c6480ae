"""Reap the sandbox's orphaned processes ourselves.

bwrap's outer process can exit before it reaps the pid-namespace init it forked; that init is then reparented
to the host's pid 1. Where pid 1 does not reap (minimal container/VM inits do not), the zombie stays charged to the
run's pids cgroup forever, so a reused cgroup fills up (measured here: +1 per run, every run failing with
"bwrap: Can't fork for pid 1: Resource temporarily unavailable" after ~62 runs). As a child subreaper we inherit
those orphans and reap them — only zombies owned by the sandbox uid, so the host application's own children are
never touched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

PR_SET_CHILD_SUBREAPER = 36
_lock = threading.Lock()
_enabled: bool | None = None
# Processes we started and will wait for ourselves: never reaped here. Spawning happens under `_spawn_lock` so a
# just-started process is registered before any reaper can see it.
_spawn_lock = threading.RLock()
_active: set[int] = set()


def enable() -> bool:
    """Become a child subreaper (once per process); False where prctl is unavailable."""
    global _enabled
    with _lock:
        if _enabled is None:
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
                _enabled = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
            except OSError:
                _enabled = False
        return _enabled


def spawn(start):
    """Run `start()` (returns a Popen) and register its pid, atomically with respect to `reap_orphans`."""
    with _spawn_lock:
        proc = start()
        _active.add(proc.pid)
        return proc


def done(pid: int) -> None:
    with _spawn_lock:
        _active.discard(pid)


def _children() -> list[int]:
    pids: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return pids
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                pids.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return pids


def reap_orphans(uid: int) -> int:
    """waitpid every zombie child owned by `uid` (the sandbox's unprivileged uid); returns how many."""
    reaped = 0
    with _spawn_lock:
        for pid in _children():
            if pid not in _active:
                reaped += _reap_if_orphan(pid, uid)
    return reaped


def _reap_if_orphan(pid: int, uid: int) -> int:
    try:
        owner = os.stat(f"/proc/{pid}").st_uid
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return 0
    if state == "Z" and owner == uid:
        try:
            os.waitpid(pid, os.WNOHANG)
            return 1
        except ChildProcessError:
            pass
    return 0
