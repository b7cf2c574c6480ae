"""Detect, once per process, which isolation layers this host allows; every result reports the active ones."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
from dataclasses import dataclass, field

from . import bwrap as bw
from .cgroups import pool as cgroup_pool
from .seccomp_filter import bpf_program

SANDBOX_UID = int(os.environ.get("COTFORGE_SANDBOX_UID", "65534"))

# Every layer we know; `strict` requires all of them.
ALL_LAYERS = (
    "bwrap",
    "ns:user",
    "ns:net",
    "ns:pid",
    "ns:ipc",
    "ns:uts",
    "ns:mount",
    "ns:cgroup",
    "ro_system",
    "private_tmpfs",
    "no_home",
    "clean_env",
    "unprivileged_uid",
    "cgroup:memory",
    "cgroup:pids",
    "rlimits",
    "seccomp",
    "wall_deadline",
    "output_caps",
)


class SandboxUnavailable(RuntimeError):
    """The `strict` policy was asked for and a layer is missing."""


@dataclass
class Isolation:
    layers: list[str]
    missing: dict[str, str] = field(default_factory=dict)  # layer -> why
    bwrap: str | None = None
    uid: int | None = None  # uid to drop to before exec (None: keep ours, already unprivileged)
    cgroup_version: int = 0
    disable_userns: bool = False

    def has(self, layer: str) -> bool:
        return layer in self.layers

    def check(self, policy: str) -> None:
        if policy not in ("default", "strict"):
            raise ValueError(f"unknown sandbox policy {policy!r}: use 'default' or 'strict'")
        if policy == "strict" and self.missing:
            why = "; ".join(f"{k}: {v}" for k, v in self.missing.items())
            raise SandboxUnavailable(f"strict sandbox policy refuses to run, missing layers: {why}")

    def to_dict(self) -> dict:
        return {
            "layers": self.layers,
            "missing": self.missing,
            "cgroup_version": self.cgroup_version,
            "uid": self.uid if self.uid is not None else os.geteuid(),
        }


def drop_privileges_fn(uid: int | None):
    def _drop():
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return _drop


def _probe_bwrap(path: str, uid: int | None) -> tuple[bool, bool, str]:
    """(works, supports --disable-userns, error)."""
    base = [
        path,
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--uid",
        str(uid if uid is not None else os.geteuid()),
        "--gid",
        str(uid if uid is not None else os.getegid()),
    ]
    tail = [*bw.system_binds(), "--proc", "/proc", "--dev", "/dev", "--tmpfs", bw.WORKDIR, "--", "/usr/bin/true"]
    err = ""
    for extra in (["--disable-userns"], []):
        try:
            r = subprocess.run(
                base + extra + tail,
                env={"PATH": "/usr/bin:/bin"},
                cwd="/",
                capture_output=True,
                timeout=20,
                preexec_fn=drop_privileges_fn(uid),
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, False, str(e)
        if r.returncode == 0:
            return True, bool(extra), ""
        err = r.stderr.decode(errors="replace").strip()[:300]
    return False, False, err or "bwrap probe failed"


_lock = threading.Lock()
_cached: Isolation | None = None


def detect(refresh: bool = False) -> Isolation:
    global _cached
    with _lock:
        if _cached is not None and not refresh:
            return _cached
        from . import reaper

        reaper.enable()  # the probe below starts bwrap: its orphans must come to us, not to a non-reaping pid 1
        layers = ["clean_env", "wall_deadline", "output_caps", "rlimits"]
        missing: dict[str, str] = {}
        try:
            resource.getrlimit(resource.RLIMIT_AS)
        except (ValueError, OSError) as e:
            layers.remove("rlimits")
            missing["rlimits"] = str(e)
        if os.geteuid() == 0:
            uid: int | None = SANDBOX_UID
            layers.append("unprivileged_uid")
        else:
            uid = None  # we already are an unprivileged user
            layers.append("unprivileged_uid")
        path = bw.bwrap_path()
        disable_userns = False
        if path:
            ok, disable_userns, err = _probe_bwrap(path, uid)
            if ok:
                layers += [
                    "bwrap",
                    "ns:user",
                    "ns:net",
                    "ns:pid",
                    "ns:ipc",
                    "ns:uts",
                    "ns:mount",
                    "ns:cgroup",
                    "ro_system",
                    "private_tmpfs",
                    "no_home",
                ]
            else:
                path = None
                for k in (
                    "bwrap",
                    "ns:user",
                    "ns:net",
                    "ns:pid",
                    "ns:ipc",
                    "ns:uts",
                    "ns:mount",
                    "ns:cgroup",
                    "ro_system",
                    "private_tmpfs",
                    "no_home",
                ):
                    missing[k] = f"bwrap does not run here: {err}"
        else:
            for k in (
                "bwrap",
                "ns:user",
                "ns:net",
                "ns:pid",
                "ns:ipc",
                "ns:uts",
                "ns:mount",
                "ns:cgroup",
                "ro_system",
                "private_tmpfs",
                "no_home",
            ):
                missing[k] = "bubblewrap not installed (apt-get install -y bubblewrap)"
        cg = cgroup_pool()
        if cg.available:
            layers += ["cgroup:memory", "cgroup:pids"]
        else:
            missing["cgroup:memory"] = missing["cgroup:pids"] = cg.problem
        if bpf_program() is not None:
            layers.append("seccomp")
        else:
            missing["seccomp"] = "pyseccomp/libseccomp not available (pip install pyseccomp; apt libseccomp2)"
        order = {k: i for i, k in enumerate(ALL_LAYERS)}
        layers.sort(key=lambda k: order.get(k, 99))
        _cached = Isolation(
            layers=layers,
            missing=missing,
            bwrap=path,
            uid=uid,
            cgroup_version=cg.version,
            disable_userns=disable_userns,
        )
        return _cached
