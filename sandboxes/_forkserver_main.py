"""Runs INSIDE one long-lived sandbox: forks a fresh child per request and execs the program in it.

Stdlib only (it runs on the mirrored interpreter without site-packages). Protocol on fds 0/1: 4-byte big-endian
length + JSON. The server is non-dumpable so children (same uid) cannot open its fds or ptrace it, and after each
request it SIGKILLs every other process in the sandbox's pid namespace (kill(-1)), so nothing outlives a test.
"""

import base64
import ctypes
import io
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time
import traceback
import types

for _m in (
    "math",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "re",
    "string",
    "random",
    "typing",
    "fractions",
    "decimal",
    "statistics",
    "copy",
    "operator",
    "array",
    "datetime",
    "dataclasses",
    "enum",
    "hashlib",
    "textwrap",
    "unicodedata",
    "cmath",
    "queue",
    "abc",
    "numbers",
):
    try:
        __import__(_m)
    except ImportError:
        pass

PR_SET_DUMPABLE = 4
LIBC = ctypes.CDLL(None)
LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

IN, OUT = os.dup(0), os.dup(1)
_null = os.open("/dev/null", os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)


def read_exact(n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(IN, n - len(buf))
        if not chunk:
            sys.exit(0)
        buf += chunk
    return buf


def send(obj):
    data = json.dumps(obj).encode()
    data = struct.pack(">I", len(data)) + data
    while data:
        data = data[os.write(OUT, data) :]


def child(req, workdir, stdin_fd, out_w, err_w):
    try:
        os.dup2(stdin_fd, 0)
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        os.closerange(3, 4096)
        os.setsid()
        os.chdir(workdir)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # own /proc/self again (the server stays non-dumpable)
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # the OOM killer takes the test, not the server
        for r, v in req["rlimits"]:
            resource.setrlimit(r, (v, v))
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="surrogateescape")
        sys.stdout = io.TextIOWrapper(
            io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="surrogateescape"
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
        )
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
        main = req["main"]
        mod = types.ModuleType("__main__")
        mod.__file__ = os.path.join(workdir, main)
        mod.__builtins__ = __builtins__
        sys.modules["__main__"] = mod
        sys.argv = [main]
        sys.path.insert(0, workdir)
        with open(main, "rb") as f:
            code = compile(f.read(), mod.__file__, "exec")
        rc = 0
        try:
            exec(code, mod.__dict__)
        except SystemExit as e:
            if e.code is None:
                rc = 0
            elif isinstance(e.code, int):
                rc = e.code & 0xFF
            else:
                print(e.code, file=sys.stderr)
                rc = 1
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
            rc = 1
        for s in (sys.stdout, sys.stderr):
            try:
                s.flush()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(rc)
    except BaseException as e:  # noqa: BLE001 - setup failed: say why on the test's stderr
        try:
            os.write(2, f"fork-server child setup failed: {type(e).__name__}: {e}\n".encode())
        finally:
            os._exit(101)


def kill_others(reaped):
    """SIGKILL every process in this pid namespace but us and init, until none is left (a process forking while
    kill(-1) walks the task list can slip through one pass)."""
    me = os.getpid()
    for _ in range(5000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        while True:
            try:
                got, status, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if got == 0:
                break
            reaped[got] = (status, ru)
        others = [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            return
        time.sleep(0.0005)


def handle(req, n):
    workdir = f"/work/r{n}"
    os.mkdir(workdir)
    for name, b64 in req["files"].items():
        with open(os.path.join(workdir, name), "wb") as f:
            f.write(base64.b64decode(b64))
    stdin_fd = os.memfd_create("stdin")
    os.write(stdin_fd, base64.b64decode(req["stdin"]))
    os.lseek(stdin_fd, 0, 0)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        child(req, workdir, stdin_fd, out_w, err_w)
    for fd in (stdin_fd, out_w, err_w):
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    caps = {out_r: req["stdout_cap"], err_r: req["stderr_cap"]}
    bufs = {out_r: [], err_r: []}
    sizes = {out_r: 0, err_r: 0}
    deadline = t0 + req["time_s"]
    open_fds = [out_r, err_r, pidfd]
    timed_out = over = exited = False
    while not (exited or over):
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select(open_fds, [], [], left)
        for fd in ready:
            if fd == pidfd:
                exited = True
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                open_fds.remove(fd)
                continue
            bufs[fd].append(chunk)
            sizes[fd] += len(chunk)
            if sizes[fd] > caps[fd]:
                over = True
    reaped = {}
    kill_others(reaped)
    wstatus, ru = reaped[pid] if pid in reaped else os.wait4(pid, 0)[1:]
    wall = time.monotonic() - t0
    for fd in (out_r, err_r):
        os.set_blocking(fd, False)
        while sizes[fd] <= caps[fd]:
            try:
                chunk = os.read(fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not chunk:
                break
            bufs[fd].append(chunk)
            sizes[fd] += len(chunk)
        over = over or sizes[fd] > caps[fd]
        os.close(fd)
    os.close(pidfd)
    shutil.rmtree(workdir, ignore_errors=True)
    out = b"".join(bufs[out_r])[: caps[out_r]]
    err = b"".join(bufs[err_r])[: caps[err_r]]
    return {
        "exit_code": os.WEXITSTATUS(wstatus) if os.WIFEXITED(wstatus) else None,
        "signal": os.WTERMSIG(wstatus) if os.WIFSIGNALED(wstatus) else None,
        "timed_out": timed_out,
        "over": over,
        "wall_s": round(wall, 5),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 5),
        "maxrss_mb": round(ru.ru_maxrss / 1024, 2),
        "stdout": base64.b64encode(out).decode(),
        "stderr": base64.b64encode(err).decode(),
    }


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    send({"ready": True, "pid": os.getpid()})
    n = 0
    while True:
        (size,) = struct.unpack(">I", read_exact(4))
        req = json.loads(read_exact(size))
        n += 1
        try:
            resp = handle(req, n)
        except Exception as e:  # noqa: BLE001
            resp = {"error": f"{type(e).__name__}: {e}"}
        resp["id"] = req.get("id")
        send(resp)


main()
