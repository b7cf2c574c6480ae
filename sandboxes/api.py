"""Public entry points: run one program, run a program against a test set."""

from __future__ import annotations

from typing import Any

from .backends import FreshSandbox
from .compare import compare_output
from .harness import build_driver, parse_driver_output
from .isolation import detect
from .languages import get_language
from .limits import Limits
from .result import Result, TestReport, TestResult, first_failure
from .tests_format import TestsError, parse_tests

_fresh = FreshSandbox()


def _as_bytes(x: str | bytes | None) -> bytes:
    if x is None:
        return b""
    return x if isinstance(x, bytes) else x.encode("utf-8", "surrogateescape")


def run(
    program: str,
    language: str = "python",
    stdin: str | bytes = "",
    limits: Limits | None = None,
    expected: str | bytes | None = None,
    policy: str = "default",
    backend=None,
) -> Result:
    """Run `program` once. With `expected`, `verdict` is passed/wrong_answer (or the failure status)."""
    iso = detect()
    iso.check(policy)
    limits = limits or Limits()
    backend = backend or _fresh
    prog = backend.prepare(get_language(language), program)
    failed = prog.compile_failed
    if failed is not None:
        res = Result(status="compile_error", stderr=failed.stderr, detail=failed.detail, isolation=iso.layers)
    else:
        res = backend.execute(prog, _as_bytes(stdin), limits)
    if expected is not None:
        if res.status == "passed":
            ok, why = compare_output(_as_bytes(expected), res.stdout)
            res.verdict = "passed" if ok else "wrong_answer"
            if not ok:
                res.detail = why
        else:
            res.verdict = res.status
    return res


def run_tests(
    program: str,
    tests: Any,
    language: str = "python",
    limits: Limits | None = None,
    early_stop: bool = False,
    policy: str = "default",
    backend=None,
) -> TestReport:
    """Run `program` against normalized tests (see `sandboxes.tests_format`).

    stdio: one sandboxed process per case (compiled once). assert/humaneval: one driver process for all tests,
    with a deadline of `time_s` per test.
    """
    iso = detect()
    iso.check(policy)
    t = parse_tests(tests)
    limits = (limits or Limits()).with_(
        time_s=t.get("time_s"), mem_mb=t.get("mem_mb"), stack_mb=int(t["stack_mb"]) if t.get("stack_mb") else None
    )
    lang = get_language(language)
    backend = backend or _fresh
    if t["kind"] == "stdio":
        prog = backend.prepare(lang, program)
        failed = prog.compile_failed
        if failed is not None:
            tests_out = [TestResult(i, "compile_error", 0.0, "") for i in range(len(t["cases"]))]
            return TestReport("compile_error", tests_out, iso.layers, compile=failed, detail=failed.detail)
        results: list[TestResult] = []
        layers = iso.layers
        for i, case in enumerate(t["cases"]):
            r = backend.execute(prog, _as_bytes(case["input"]), limits)
            layers = r.isolation or layers
            status, detail = r.status, r.detail
            if status == "passed":
                ok, why = compare_output(case["output"], r.stdout)
                status, detail = ("passed", "") if ok else ("wrong_answer", why)
            results.append(TestResult(i, status, r.wall_s, detail))
            if early_stop and status != "passed":
                break
        return TestReport(first_failure([x.status for x in results]), results, layers)
    if lang.name != "python":
        raise TestsError(f"{t['kind']} tests run Python functions; language {language!r} needs stdio tests")
    driver, nonce, n = build_driver(t, early_stop)
    prog = backend.prepare(lang, driver, extra={"solution.py": _as_bytes(program)})
    r = backend.execute(prog, b"", limits.with_(time_s=limits.time_s * n, cpu_s=(limits.cpu_s or limits.time_s) * n))
    results, done = parse_driver_output(r.stdout, nonce, n, r.status, r.detail, early_stop)
    status = first_failure([x.status for x in results])
    detail = ""
    if status == "passed" and not done:
        status, detail = (r.status if r.status != "passed" else "runtime_error"), "driver did not finish (no nonce)"
    if r.status == "sandbox_error":
        status, detail = "sandbox_error", r.detail
    return TestReport(status, results, r.isolation or iso.layers, detail=detail)
