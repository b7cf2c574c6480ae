"""Build the bubblewrap command line for one sandbox: every namespace, read-only system, private tmpfs work dir."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field

WORKDIR = "/work"
# Only what dynamic linking, compilers and locale need from /etc: no passwd/shadow, no ssh, no resolv.conf.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")


@dataclass
class SandboxFile:
    dest: str  # absolute path inside the sandbox (usually under /work)
    data: bytes
    mode: int = 0o444


@dataclass
class Spec:
    """What to run. Paths in `argv` are sandbox paths."""

    argv: list[str]
    env: dict[str, str]
    files: list[SandboxFile] = field(default_factory=list)
    ro_binds: list[tuple[str, str]] = field(default_factory=list)  # (host, sandbox)
    stdin: bytes = b""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def system_binds() -> list[str]:
    """Mount the host's /usr read-only and recreate the merged-/usr symlinks (or bind the real dirs)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for d in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        p = "/" + d
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    for name in ETC_FILES:
        p = "/etc/" + name
        if os.path.exists(p):
            args += ["--ro-bind", p, p]
    return args


def build(
    spec: Spec,
    bwrap: str,
    file_fds: list[int],
    seccomp_fd: int | None,
    status_fd: int,
    uid: int,
    tmpfs_bytes: int,
    disable_userns: bool,
) -> list[str]:
    args = [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(uid),
        "--gid",
        str(uid),
        "--hostname",
        "sandbox",
    ]
    if disable_userns:
        args.append("--disable-userns")
    args += system_binds()
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(tmpfs_bytes),
        "--tmpfs",
        "/tmp",
        "--size",
        str(tmpfs_bytes),
        "--tmpfs",
        WORKDIR,
    ]
    for host, dest in spec.ro_binds:
        args += ["--ro-bind", host, dest]
    for f, fd in zip(spec.files, file_fds, strict=True):
        args += ["--perms", f"{f.mode:04o}", "--ro-bind-data", str(fd), f.dest]
    args += ["--remount-ro", "/", "--chdir", WORKDIR, "--json-status-fd", str(status_fd)]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    return args + ["--", *spec.argv]
