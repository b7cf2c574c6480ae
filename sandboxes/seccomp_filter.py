"""Seccomp filter (libseccomp via pyseccomp), exported as BPF for bwrap's --seccomp.

Denies sockets other than AF_UNIX (network namespaces already cut the wire; this also stops loopback use when no
namespace is available) and kernel interfaces a test program never needs.
"""

from __future__ import annotations

import errno
import functools
import os
import socket

DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "setns",
    "unshare",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "syslog",
    "settimeofday",
    "clock_settime",
    "adjtimex",
)


@functools.lru_cache(maxsize=1)
def bpf_program() -> bytes | None:
    """The compiled filter, or None when pyseccomp/libseccomp is not available."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError, RuntimeError):
        return None
    try:
        f = sc.SyscallFilter(defaction=sc.ALLOW)
        f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
        for name in DENIED:
            try:
                f.add_rule(sc.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):  # syscall unknown on this arch/libseccomp
                pass
        fd = os.memfd_create("seccomp-export")
        try:
            with os.fdopen(os.dup(fd), "wb") as fobj:
                f.export_bpf(fobj)
            os.lseek(fd, 0, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
        finally:
            os.close(fd)
        data = b"".join(chunks)
        return data or None
    except Exception:  # noqa: BLE001 - any libseccomp failure means "layer unavailable", reported as such
        return None


def load_in_process() -> bool:
    """Install the filter on the current process (fallback path without bwrap)."""
    try:
        import pyseccomp as sc

        f = sc.SyscallFilter(defaction=sc.ALLOW)
        f.add_rule(sc.ERRNO(errno.EACCES), "socket", sc.Arg(0, sc.NE, socket.AF_UNIX))
        for name in DENIED:
            try:
                f.add_rule(sc.ERRNO(errno.EPERM), name)
            except Exception:  # noqa: BLE001
                pass
        f.load()
        return True
    except Exception:  # noqa: BLE001
        return False
