"""Assert-style harnesses (MBPP assert lists, HumanEval `check(candidate)`) as one Python driver process.

The driver loads the candidate, then runs each test and reports it on a dup of fd 1 as a line tagged with a random
nonce; a final `done` line comes after the last test, so an early `exit(0)` / `os._exit(0)` cannot pass.
(The nonce is in the driver file, so a program that reads its harness could forge lines: this guards against
accidents and lazy reward hacks, not against a program written to attack its own grader.)
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from .result import TestResult

DRIVER = r"""
import os as _cf_os, sys as _cf_sys, json as _cf_json, time as _cf_time
_cf_fd = _cf_os.dup(1)
_CF_NONCE = %(nonce)r
def _cf_emit(d):
    _cf_os.write(_cf_fd, ("\n" + _CF_NONCE + " " + _cf_json.dumps(d) + "\n").encode())
_cf_g = {"__name__": "__main__", "__builtins__": __builtins__}
def _cf_fail(e):
    return "memory_limit" if isinstance(e, MemoryError) else "runtime_error"
def _cf_msg(e):
    return (type(e).__name__ + ": " + str(e))[:300]
try:
    with open(%(solution)r) as _cf_f:
        _cf_src = _cf_f.read()
    exec(compile(_cf_src, "solution.py", "exec"), _cf_g)
    if %(setup)r:
        exec(compile(%(setup)r, "setup.py", "exec"), _cf_g)
except BaseException as _cf_e:
    import traceback as _cf_tb
    _cf_tb.print_exc()
    _cf_emit({"load_error": _cf_fail(_cf_e), "detail": _cf_msg(_cf_e)})
    _cf_os._exit(0)
_cf_tests = %(tests)s
for _cf_i, _cf_t in enumerate(_cf_tests):
    _cf_t0 = _cf_time.perf_counter()
    try:
        exec(compile(_cf_t, "test_%%d.py" %% _cf_i, "exec"), _cf_g)
        if %(entry)r:
            _cf_g["check"](_cf_g[%(entry)r])
        _cf_st, _cf_d = "passed", ""
    except AssertionError as _cf_e:
        _cf_st, _cf_d = "wrong_answer", _cf_msg(_cf_e)
    except BaseException as _cf_e:
        _cf_st, _cf_d = _cf_fail(_cf_e), _cf_msg(_cf_e)
    _cf_emit({"i": _cf_i, "status": _cf_st, "wall_s": round(_cf_time.perf_counter() - _cf_t0, 4), "detail": _cf_d})
    if %(early_stop)r and _cf_st != "passed":
        break
try:
    _cf_sys.stdout.flush()
except BaseException:
    pass
_cf_emit({"done": True})
_cf_os._exit(0)
"""

SOLUTION_PATH = "solution.py"  # relative: the driver runs in its work dir


def build_driver(tests: dict[str, Any], early_stop: bool) -> tuple[str, str, int]:
    """(driver source, nonce, number of tests) for an `assert` or `humaneval` test set."""
    nonce = secrets.token_hex(16)
    if tests["kind"] == "humaneval":
        srcs, entry, setup = [tests["check"]], tests["entry_point"], ""
    else:
        srcs, entry, setup = list(tests["asserts"]), "", tests.get("setup") or ""
    src = DRIVER % {
        "nonce": nonce,
        "solution": SOLUTION_PATH,
        "setup": setup,
        "tests": json.dumps(srcs),
        "entry": entry,
        "early_stop": bool(early_stop),
    }
    return src, nonce, len(srcs)


def parse_driver_output(
    stdout: bytes, nonce: str, n: int, process_status: str, process_detail: str, early_stop: bool
) -> tuple[list[TestResult], bool]:
    """Per-test results from the tagged lines; tests without a line inherit the process outcome."""
    tag = nonce.encode() + b" "
    got: dict[int, TestResult] = {}
    done = False
    load_error = None
    for line in stdout.split(b"\n"):
        if not line.startswith(tag):
            continue
        try:
            d = json.loads(line[len(tag) :])
        except ValueError:
            continue
        if d.get("done"):
            done = True
        elif "load_error" in d:
            load_error = d
        elif isinstance(d.get("i"), int) and 0 <= d["i"] < n:
            got[d["i"]] = TestResult(
                d["i"], d.get("status", "runtime_error"), d.get("wall_s", 0.0), d.get("detail", "")
            )
    results: list[TestResult] = []
    for i in range(n):
        if i in got:
            results.append(got[i])
            continue
        if load_error is not None:
            results.append(
                TestResult(i, load_error["load_error"], 0.0, "program failed to load: " + load_error.get("detail", ""))
            )
        elif early_stop and results and results[-1].status != "passed":
            break
        else:
            status = process_status if process_status != "passed" else "runtime_error"
            detail = process_detail if process_status != "passed" else "program exited before this test finished"
            results.append(TestResult(i, status, 0.0, detail))
        if early_stop:
            break
    return results, done
