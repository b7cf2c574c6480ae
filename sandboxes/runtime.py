"""A world-readable view of this package's Python interpreter for the unprivileged sandbox uid.

The interpreter often lives under a mode-700 home (pyenv, conda), which uid 65534 cannot traverse, and bwrap
resolves bind sources as that uid. We mirror the interpreter and its stdlib (no site-packages) into a shared
directory with hard links (no extra disk; copies if linking is not allowed), once per interpreter.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import sysconfig
import tempfile

SKIP_DIRS = {
    "site-packages",
    "dist-packages",
    "test",
    "tests",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "__phello__",
}
ROOT = os.environ.get("COTFORGE_SANDBOX_RUNTIME", "/var/tmp/cotforge-sandbox")


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    st = os.stat(dst)
    if not st.st_mode & 0o004:
        os.chmod(dst, st.st_mode | 0o444 | (0o111 if st.st_mode & 0o100 else 0))


class PythonRuntime:
    """Paths of the mirrored interpreter. Inside the sandbox it is mounted at `/opt/python`."""

    MOUNT = "/opt/python"

    def __init__(self, executable: str | None = None):
        exe = os.path.realpath(executable or sys.executable)
        self.version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        self.prefix = sys.base_prefix
        self.exe = exe
        key = hashlib.sha256(f"{exe}|{self.prefix}|{os.stat(exe).st_mtime_ns}".encode()).hexdigest()[:12]
        self.host_dir = os.path.join(ROOT, f"{self.version}-{key}")
        self.stdlib = sysconfig.get_paths()["stdlib"]
        self.libdir = sysconfig.get_config_var("LIBDIR") or os.path.join(self.prefix, "lib")
        self.ldlibrary = (
            sysconfig.get_config_var("INSTSONAME") if sysconfig.get_config_var("Py_ENABLE_SHARED") else None
        )

    @property
    def sandbox_exe(self) -> str:
        return f"{self.MOUNT}/bin/{self.version}"

    def ensure(self) -> str:
        if os.path.exists(os.path.join(self.host_dir, ".complete")):
            return self.host_dir
        os.makedirs(ROOT, mode=0o755, exist_ok=True)
        os.chmod(ROOT, 0o755)
        tmp = tempfile.mkdtemp(prefix=".build-", dir=ROOT)
        os.chmod(tmp, 0o755)
        os.makedirs(os.path.join(tmp, "bin"), mode=0o755)
        os.makedirs(os.path.join(tmp, "lib"), mode=0o755)
        _link_or_copy(self.exe, os.path.join(tmp, "bin", self.version))
        if self.ldlibrary and os.path.exists(os.path.join(self.libdir, self.ldlibrary)):
            _link_or_copy(
                os.path.realpath(os.path.join(self.libdir, self.ldlibrary)), os.path.join(tmp, "lib", self.ldlibrary)
            )
        for root, dirs, files in os.walk(self.stdlib):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
            rel = os.path.relpath(root, self.stdlib)
            out = os.path.normpath(os.path.join(tmp, "lib", self.version, rel))
            os.makedirs(out, mode=0o755, exist_ok=True)
            os.chmod(out, 0o755)
            for f in files:
                src = os.path.join(root, f)
                if os.path.isfile(src) and not os.path.islink(src):
                    _link_or_copy(src, os.path.join(out, f))
        open(os.path.join(tmp, ".complete"), "w").close()
        try:
            os.rename(tmp, self.host_dir)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
        return self.host_dir


_runtime: PythonRuntime | None = None


def python_runtime() -> PythonRuntime:
    global _runtime
    if _runtime is None:
        _runtime = PythonRuntime()
        _runtime.ensure()
    return _runtime
