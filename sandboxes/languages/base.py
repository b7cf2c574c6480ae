"""The runner interface: a language prepares a program once (maybe compiling it) and then builds specs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ..bwrap import SandboxFile, Spec
from ..result import Result

BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


@dataclass
class Prepared:
    """A program ready to run: argv + files, or the compile failure."""

    argv: list[str] = field(default_factory=list)
    files: list[SandboxFile] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    ro_binds: list[tuple[str, str]] = field(default_factory=list)
    compile_result: Result | None = None  # set when there was a compile step

    @property
    def failed(self) -> bool:
        return self.compile_result is not None and self.compile_result.status != "passed"

    def spec(self, stdin: bytes = b"", extra_files: list[SandboxFile] | None = None) -> Spec:
        return Spec(
            argv=list(self.argv),
            env=dict(self.env),
            files=list(self.files) + list(extra_files or []),
            ro_binds=list(self.ro_binds),
            stdin=stdin,
        )


class Language(ABC):
    """A runnable language: `prepare` turns source into argv/files (compiling first where the language needs it)."""

    name: str = ""
    extensions: tuple[str, ...] = ()

    @abstractmethod
    def prepare(self, source: str) -> Prepared: ...


_REGISTRY: dict[str, Language] = {}
_ALIASES = {"py": "python", "python3": "python", "c++": "cpp", "cxx": "cpp", "cc": "cpp"}


def register_language(lang: Language) -> None:
    """Plug in another language (e.g. Rust, Java): implement `prepare` and register an instance."""
    _REGISTRY[lang.name] = lang


def get_language(name: str) -> Language:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise ValueError(f"unknown sandbox language {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[key]
