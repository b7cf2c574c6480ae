"""Python: the interpreter this package runs on, mirrored for the sandbox uid, isolated mode (`-I -B`); the mirror has no site-packages, so
`site` only adds exit()/quit()."""

from __future__ import annotations

from ..bwrap import WORKDIR, SandboxFile
from ..runtime import PythonRuntime, python_runtime
from .base import BASE_ENV, Language, Prepared

PROGRAM = f"{WORKDIR}/prog.py"


class Python(Language):
    name = "python"
    extensions = (".py",)

    def prepare(self, source: str) -> Prepared:
        rt = python_runtime()
        env = dict(BASE_ENV, LD_LIBRARY_PATH=f"{PythonRuntime.MOUNT}/lib", PYTHONHASHSEED="0")
        return Prepared(
            argv=[rt.sandbox_exe, "-I", "-B", PROGRAM],
            files=[SandboxFile(PROGRAM, source.encode("utf-8", "surrogateescape"))],
            env=env,
            ro_binds=[(rt.host_dir, PythonRuntime.MOUNT)],
        )
