"""Result types shared by runs and test harnesses."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal[
    "passed",
    "wrong_answer",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "compile_error",
    "sandbox_error",
]
STATUSES: tuple[str, ...] = (
    "passed",
    "wrong_answer",
    "runtime_error",
    "timeout",
    "memory_limit",
    "output_limit",
    "compile_error",
    "sandbox_error",
)


@dataclass
class Result:
    """One execution. `status` is `passed` when the program exited 0 within every limit (no output check)."""

    status: str
    exit_code: int | None = None
    signal: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    wall_s: float = 0.0
    cpu_s: float | None = None
    peak_memory_mb: float | None = None
    isolation: list[str] = field(default_factory=list)
    detail: str = ""
    verdict: str | None = None  # set when an expected output was compared

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_dict(self, with_output: bool = False, max_chars: int = 2000) -> dict[str, Any]:
        d = asdict(self)
        for k in ("stdout", "stderr"):
            raw = d.pop(k)
            if with_output:
                d[k] = raw[:max_chars].decode("utf-8", "replace")
        return d


@dataclass
class TestResult:
    index: int
    status: str
    wall_s: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TestReport:
    """Outcome of a program against a test set. `status` is the first non-passed test status, or `passed`."""

    status: str
    tests: list[TestResult]
    isolation: list[str] = field(default_factory=list)
    compile: Result | None = None
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed" and bool(self.tests) and all(t.status == "passed" for t in self.tests)

    @property
    def pass_rate(self) -> float:
        return sum(t.status == "passed" for t in self.tests) / len(self.tests) if self.tests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "passed": self.passed,
            "pass_rate": self.pass_rate,
            "tests": [t.to_dict() for t in self.tests],
            "isolation": list(self.isolation),
            "compile": self.compile.to_dict(with_output=True) if self.compile else None,
            "detail": self.detail,
        }


def first_failure(statuses: list[str]) -> str:
    for s in statuses:
        if s != "passed":
            return s
    return "passed"
