"""Worker process entry point: `python -m verifiers.math._worker MEMORY_MB`.

Protocol on private pipes: parent -> child: 4-byte length + pickle((gold, prediction, opts));
child -> parent: b'R' once warm, then 4-byte length + pickle(verdict dict) per task.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys


def _read_exact(fd: int, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def main() -> None:
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    out_fd = os.dup(1)
    os.dup2(2, 1)  # library prints must not corrupt the protocol
    in_fd = 0
    from . import _preload  # noqa: F401  (imports sympy + parser and warms them)
    from .core import make_options, verify_local
    from .verdict import Verdict
    from .workers import _set_memory_cap

    _set_memory_cap(memory_mb)
    os.write(out_fd, b"R")
    while True:
        try:
            (n,) = struct.unpack("<I", _read_exact(in_fd, 4))
            gold, pred, opts = pickle.loads(_read_exact(in_fd, n))
        except (EOFError, OSError):
            return
        try:
            v = verify_local(gold, pred, make_options(**opts))
        except MemoryError:
            v = Verdict(None, "too_large", method="memory_cap", detail=f"exceeded the {memory_mb} MB memory cap")
        except RecursionError:
            v = Verdict(None, "too_large", method="recursion", detail="recursion limit")
        except BaseException as e:  # noqa: BLE001 - report, never die silently
            v = Verdict(None, "error", method="worker", detail=f"{type(e).__name__}: {str(e)[:200]}")
        data = pickle.dumps(v.to_dict())
        os.write(out_fd, struct.pack("<I", len(data)) + data)


if __name__ == "__main__":
    main()
