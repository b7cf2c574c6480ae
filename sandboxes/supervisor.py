"""Spawn one sandbox, enforce the deadline and output caps from outside, kill the whole group, classify.

Never waits for pipe EOF (an orphan may hold the pipe): the end of the run is the exit of the process we
started (a pidfd), then the cgroup / pid namespace is killed and the pipes are drained without blocking.
"""

from __future__ import annotations

import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import tempfile
import time

from . import bwrap as bw
from . import reaper
from .cgroups import Cgroup
from .cgroups import pool as cgroup_pool
from .isolation import Isolation, detect
from .limits import Limits
from .result import Result
from .seccomp_filter import bpf_program, load_in_process

_MEM_MARKERS = (b"MemoryError", b"std::bad_alloc", b"Cannot allocate memory", b"out of memory")


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, 0)
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _rlimits(limits: Limits, has_cgroup: bool) -> list[tuple[int, tuple[int, int]]]:
    mem = limits.mem_mb * 2**20
    # The cgroup is the real memory limit (OOM counter -> memory_limit); AS only stops absurd reservations.
    as_bytes = mem + 2 * 2**30 if has_cgroup else mem
    cpu = limits.cpu_limit_s
    out = [
        (resource.RLIMIT_AS, (as_bytes, as_bytes)),
        (resource.RLIMIT_FSIZE, (limits.fsize_mb * 2**20, limits.fsize_mb * 2**20)),
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_NOFILE, (limits.nofile, limits.nofile)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_STACK, (limits.stack_mb * 2**20, limits.stack_mb * 2**20)),
    ]
    return out


# The launcher between us and bwrap: join the run's cgroups, set the rlimits, drop to the sandbox uid, exec.
# A shell + setpriv instead of Popen's preexec_fn, because preexec_fn forces a fork() of this (possibly huge,
# threaded: a trainer) Python process and runs Python in the child, under the reaper's spawn lock. Without it Popen
# uses vfork, whatever the size of the caller (measured: the caller's CPU per run 2 ms lower; the two small execs
# cost about as much, so the gain grows with the caller's size). Same layers, same order, same values.
_LAUNCH = (
    'while [ "$1" != -- ]; do echo 0 > "$1" || { echo "cotforge launcher: cannot join cgroup $1" >&2; exit 121; };'
    " shift; done; shift; "
    'ulimit -v "$1" && ulimit -f "$2" && ulimit -t "$4" && ulimit -S -t "$3" && ulimit -n "$5" && ulimit -c 0 &&'
    ' ulimit -s "$6" || { echo "cotforge launcher: cannot set rlimits" >&2; exit 122; }; '
    'shift 6; unset PWD OLDPWD; exec "$@"'
)


def launcher_argv(argv: list[str], cg: Cgroup | None, limits: Limits, uid: int | None) -> list[str] | None:
    """argv that applies the preexec steps by exec (vfork-friendly); None where a needed tool is missing."""
    sh, setpriv = shutil.which("sh", path="/usr/bin:/bin"), shutil.which("setpriv", path="/usr/bin:/bin")
    if sh is None or (uid is not None and setpriv is None):
        return None
    rl = dict(_rlimits(limits, cg is not None))
    kb = 1024
    vals = [
        rl[resource.RLIMIT_AS][0] // kb,
        rl[resource.RLIMIT_FSIZE][0] // 512,
        rl[resource.RLIMIT_CPU][0],
        rl[resource.RLIMIT_CPU][1],
        rl[resource.RLIMIT_NOFILE][0],
        rl[resource.RLIMIT_STACK][0] // kb,
    ]
    drop = [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] if uid is not None else []
    procs = list(cg.procs_files) if cg else []
    return [sh, "-c", _LAUNCH, "sh", *procs, "--", *map(str, vals), *drop, *argv]


def _preexec(cg: Cgroup | None, rlimits, uid: int | None, in_process_seccomp: bool):
    procs = list(cg.procs_files) if cg else []

    def fn():
        for p in procs:  # join the run's cgroup before anything else happens
            fd = os.open(p, os.O_WRONLY)
            os.write(fd, b"0")
            os.close(fd)
        os.setsid()
        for r, v in rlimits:
            resource.setrlimit(r, v)
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        if in_process_seccomp:
            load_in_process()

    return fn


class _Reader:
    def __init__(self, cap: int):
        self.cap = cap
        self.parts: list[bytes] = []
        self.n = 0
        self.over = False

    def add(self, chunk: bytes) -> None:
        room = self.cap - self.n
        if len(chunk) > room:
            self.over = True
            chunk = chunk[: max(room, 0)]
        self.parts.append(chunk)
        self.n += len(chunk)

    def data(self) -> bytes:
        return b"".join(self.parts)


def _parse_status(raw: bytes) -> dict:
    out: dict = {}
    dec = json.JSONDecoder()
    text = raw.decode(errors="replace")
    i = 0
    while i < len(text):
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            break
        if isinstance(obj, dict):
            out.update(obj)
    return out


def _read_nonblocking(fd: int, sink: _Reader | None, limit: int = 1 << 26) -> bytes:
    os.set_blocking(fd, False)
    got = []
    total = 0
    while total < limit:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        except OSError:
            break
        if not chunk:
            break
        total += len(chunk)
        if sink is not None:
            sink.add(chunk)
            if sink.over:
                break
        else:
            got.append(chunk)
    return b"".join(got)


def execute(
    spec: bw.Spec, limits: Limits, iso: Isolation | None = None, passthrough: tuple[int, int] | None = None
) -> Result:
    """Run `spec` under every available layer. `passthrough`: fds that receive stdout/stderr as it arrives."""
    reaper.enable()  # before anything starts bwrap, so its orphans come to us
    iso = iso or detect()
    layers = list(iso.layers)
    cgp = cgroup_pool()
    cg = cgp.acquire() if cgp.available else None
    fds: list[int] = []
    hostdir = None
    try:
        if cg is not None:
            cg.configure(limits.mem_mb * 2**20, limits.pids)
        stdin_fd = _memfd("stdin", spec.stdin)
        fds.append(stdin_fd)
        status_r, status_w = os.pipe()
        fds += [status_r, status_w]
        if iso.bwrap:
            file_fds = [_memfd("file", f.data) for f in spec.files]
            fds += file_fds
            bpf = bpf_program()
            sec_fd = _memfd("seccomp", bpf) if bpf else None
            if sec_fd is not None:
                fds.append(sec_fd)
            tmpfs = limits.tmpfs_mb * 2**20
            argv = bw.build(
                spec,
                iso.bwrap,
                file_fds,
                sec_fd,
                status_w,
                iso.uid if iso.uid is not None else os.geteuid(),
                tmpfs,
                iso.disable_userns,
            )
            pass_fds = tuple(file_fds) + ((sec_fd,) if sec_fd is not None else ()) + (status_w,)
            cwd = "/"
            in_proc_sec = False
        else:  # degraded: no namespaces; a private host dir stands in for /work
            hostdir = tempfile.mkdtemp(prefix="cotforge-sbx-")
            if iso.uid is not None:
                os.chown(hostdir, iso.uid, iso.uid)
            mapping = {bw.WORKDIR: hostdir, **{dest: host for host, dest in spec.ro_binds}}

            def host_path(p: str) -> str:
                for src, dst in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
                    if p == src or p.startswith(src + "/"):
                        return dst + p[len(src) :]
                return p

            for f in spec.files:
                hp = host_path(f.dest)
                with open(hp, "wb") as fh:
                    fh.write(f.data)
                os.chmod(hp, f.mode)
            argv = [host_path(a) for a in spec.argv]
            pass_fds = ()
            cwd = hostdir
            in_proc_sec = iso.has("seccomp")
        launch = launcher_argv(argv, cg, limits, iso.uid) if iso.bwrap else None
        if launch is not None:
            argv, pre = launch, None
        else:  # degraded (in-process seccomp) or no sh/setpriv: the same steps in a preexec_fn
            pre = _preexec(cg, _rlimits(limits, cg is not None), iso.uid, in_proc_sec)
        t0 = time.monotonic()
        try:
            proc = reaper.spawn(
                lambda: subprocess.Popen(
                    argv,
                    stdin=stdin_fd,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=dict(spec.env),
                    cwd=cwd,
                    pass_fds=pass_fds,
                    preexec_fn=pre,
                    start_new_session=pre is None,
                    close_fds=True,
                )
            )
        except (OSError, subprocess.SubprocessError) as e:
            return Result(status="sandbox_error", detail=f"cannot start sandbox: {e}", isolation=layers)
        os.close(status_w)
        fds.remove(status_w)
        for fd in list(fds):
            if fd != status_r:
                os.close(fd)
                fds.remove(fd)
        out, err = _Reader(int(limits.stdout_mb * 2**20)), _Reader(int(limits.stderr_mb * 2**20))
        pidfd = os.pidfd_open(proc.pid)
        sel = selectors.DefaultSelector()
        streams = {
            proc.stdout.fileno(): (out, passthrough[0] if passthrough else None),
            proc.stderr.fileno(): (err, passthrough[1] if passthrough else None),
        }
        for fd in streams:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        sel.register(pidfd, selectors.EVENT_READ)
        deadline = t0 + limits.time_s
        timed_out = exited = over = False
        try:
            while not (exited or over):
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(left):
                    if key.fd == pidfd:
                        exited = True
                        continue
                    reader, tee = streams[key.fd]
                    try:
                        chunk = os.read(key.fd, 65536)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        sel.unregister(key.fd)
                        continue
                    reader.add(chunk)
                    if tee is not None:
                        os.write(tee, chunk[: max(0, len(chunk))])
                    if reader.over:
                        over = True
                        break
        finally:
            sel.close()
        # Kill everything the run left: the cgroup, else the session/process group.
        if cg is not None:
            cg.kill_all()
        else:
            for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), lambda: os.kill(proc.pid, signal.SIGKILL)):
                try:
                    target()
                except (ProcessLookupError, PermissionError):
                    pass
        try:
            _, wstatus, rusage = os.wait4(proc.pid, 0)
        finally:
            reaper.done(proc.pid)
        wall = time.monotonic() - t0
        os.close(pidfd)
        for fd, (reader, tee) in streams.items():
            if not reader.over:
                before = reader.n
                _read_nonblocking(fd, reader)
                if tee is not None and reader.n > before:
                    os.write(tee, reader.data()[before:])
            over = over or reader.over
        proc.stdout.close()
        proc.stderr.close()
        proc.returncode = os.waitstatus_to_exitcode(wstatus)
        status_doc = _parse_status(_read_nonblocking(status_r, None))
        return _classify(proc.returncode, status_doc, iso, cg, out, err, timed_out, over, wall, rusage, layers)
    finally:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass
        sandbox_uid = iso.uid if iso.uid is not None else os.geteuid()
        if sandbox_uid != 0:
            reaper.reap_orphans(sandbox_uid)
        if cg is not None:
            cgp.release(cg, reap=(lambda: reaper.reap_orphans(sandbox_uid)) if sandbox_uid != 0 else None)
        if hostdir:
            shutil.rmtree(hostdir, ignore_errors=True)


def _classify(rc, status_doc, iso, cg, out, err, timed_out, over, wall, rusage, layers) -> Result:
    stderr = err.data()
    res = Result(status="passed", stdout=out.data(), stderr=stderr, wall_s=round(wall, 4), isolation=layers)
    res.cpu_s = cg.cpu_s() if cg is not None else None
    if res.cpu_s is None:
        res.cpu_s = round(rusage.ru_utime + rusage.ru_stime, 4)
    res.peak_memory_mb = cg.peak_memory_mb() if cg is not None else round(rusage.ru_maxrss / 1024, 2)
    if iso.bwrap:
        code = status_doc.get("exit-code")
        if code is None and not (timed_out or over):
            if cg is not None and cg.oom_since_configure():
                res.status, res.detail = "memory_limit", "OOM-killed by the memory cgroup"
                return res
            res.status = "sandbox_error"
            res.detail = "sandbox did not start: " + stderr.decode(errors="replace").strip()[-500:]
            return res
    else:
        code = rc
    if code is not None:
        if code < 0:
            res.signal = -code
        elif iso.bwrap and code > 128:
            res.signal = code - 128
        else:
            res.exit_code = code
    oom = cg is not None and cg.oom_since_configure()
    tail = stderr[-4096:]
    if over:
        res.status, res.detail = "output_limit", "stdout/stderr cap exceeded; run killed"
    elif oom:
        res.status, res.detail = "memory_limit", "OOM-killed by the memory cgroup"
    elif timed_out:
        res.status, res.detail = "timeout", "wall-clock deadline reached; process group killed"
    elif res.signal == signal.SIGXCPU:
        res.status, res.detail = "timeout", "CPU time limit (RLIMIT_CPU)"
    elif res.signal == signal.SIGXFSZ:
        res.status, res.detail = "output_limit", "file size limit (RLIMIT_FSIZE)"
    elif res.signal is not None or res.exit_code not in (0, None):
        if any(m in tail for m in _MEM_MARKERS):
            res.status, res.detail = "memory_limit", "allocation refused (address-space limit)"
        else:
            res.status = "runtime_error"
            res.detail = f"killed by signal {res.signal}" if res.signal else f"exit code {res.exit_code}"
    return res


class LongLived:
    """A sandbox that stays up (fork-server): same layers, no deadline or CPU limit on the sandbox itself."""

    def __init__(self, spec: bw.Spec, limits: Limits, iso: Isolation | None = None, stack_hard_mb: int | None = None):
        self.iso = iso or detect()
        if not self.iso.bwrap:
            raise RuntimeError("fork-server mode needs bubblewrap")
        self.cgp = cgroup_pool()
        self.cg = self.cgp.acquire() if self.cgp.available else None
        if self.cg is not None:
            self.cg.configure(limits.mem_mb * 2**20, limits.pids)
        fds = [_memfd("file", f.data) for f in spec.files]
        bpf = bpf_program()
        sec_fd = _memfd("seccomp", bpf) if bpf else None
        status_r, status_w = os.pipe()
        argv = bw.build(
            spec,
            self.iso.bwrap,
            fds,
            sec_fd,
            status_w,
            self.iso.uid if self.iso.uid is not None else os.geteuid(),
            limits.tmpfs_mb * 2**20,
            self.iso.disable_userns,
        )
        rl = [(r, v) for r, v in _rlimits(limits, self.cg is not None) if r != resource.RLIMIT_CPU]
        if stack_hard_mb:  # children may raise their stack up to this (the soft limit stays the default)
            rl = [(r, (v[0], max(v[1], stack_hard_mb * 2**20)) if r == resource.RLIMIT_STACK else v) for r, v in rl]
        pass_fds = tuple(fds) + ((sec_fd,) if sec_fd is not None else ()) + (status_w,)
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=dict(spec.env),
                cwd="/",
                pass_fds=pass_fds,
                preexec_fn=_preexec(self.cg, rl, self.iso.uid, False),
                close_fds=True,
            )
        finally:
            for fd in [*fds, status_w] + ([sec_fd] if sec_fd is not None else []):
                os.close(fd)
        self.status_r = status_r  # bwrap writes its status here: closing it early would SIGPIPE bwrap
        self.pidfd = os.pidfd_open(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.cg is not None:
            self.cg.kill_all()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        for fd in (self.pidfd, self.status_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.cg is not None:
            self.cgp.release(self.cg)
            self.cg = None
