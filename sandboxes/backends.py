"""Where a prepared program runs: a fresh sandbox per execution, or a warm fork-server sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from .bwrap import WORKDIR, SandboxFile
from .languages import Language, Prepared
from .limits import Limits
from .result import Result
from .supervisor import execute


@dataclass
class Program:
    """A program prepared for a backend; `extra` are files next to it in the work dir."""

    language: Language
    source: str
    prepared: Prepared | None = None
    extra: dict[str, bytes] = field(default_factory=dict)

    @property
    def compile_failed(self) -> Result | None:
        if self.prepared is not None and self.prepared.failed:
            return self.prepared.compile_result
        return None


class FreshSandbox:
    """One new sandbox (namespaces, cgroup, seccomp...) per execution."""

    name = "sandbox"

    def prepare(self, language: Language, source: str, extra: dict[str, bytes] | None = None) -> Program:
        return Program(language, source, language.prepare(source), dict(extra or {}))

    def execute(self, program: Program, stdin: bytes, limits: Limits) -> Result:
        assert program.prepared is not None
        files = [SandboxFile(f"{WORKDIR}/{name}", data) for name, data in program.extra.items()]
        return execute(program.prepared.spec(stdin, files), limits)

    def close(self) -> None:
        pass
