"""The main-thread stack: an overflow crashes (runtime_error) like a bare interpreter, never waits for the deadline;
a test set that needs deep C recursion asks for a bigger stack."""

from __future__ import annotations

import pytest

import sandboxes
from sandboxes import Limits

from .conftest import processes_with, skip_unless
from .test_adversarial import _spawn_marked

pytestmark = skip_unless("bwrap", "cgroup:memory", "cgroup:pids")

# Issue 19's case: deep `repr` with the recursion guard raised. CPython 3.11's repr is quadratic in depth, so a
# 64 MB stack took minutes to overflow (reported `timeout`); with the default stack it crashes in seconds.
OVERFLOW = (
    "import sys\nsys.setrecursionlimit(10**6)\nx = []\nfor _ in range(10**6):\n    x = [x]\nrepr(x)\n"
    "print('survived')\n"
)


def test_c_stack_overflow_is_a_runtime_error_and_leaves_nothing(backend, marker):
    # The deadline is generous so that a slow, loaded machine cannot turn a crash into a timeout.
    r = sandboxes.run(_spawn_marked(marker) + OVERFLOW, limits=Limits(time_s=60, mem_mb=512), backend=backend)
    assert r.status in ("runtime_error", "memory_limit"), (r.status, r.detail)
    assert r.status != "timeout" and b"survived" not in r.stdout
    assert processes_with(marker) == []
    assert sandboxes.run("print(1)", backend=backend).stdout == b"1\n"  # the backend still works


DEEP = (
    "import sys\nfrom functools import lru_cache\nsys.setrecursionlimit(10**6)\n@lru_cache(None)\n"
    "def f(i):\n    return 0 if i == 0 else f(i - 1) + 1\nprint(f(50000))\n"
)


def test_deep_c_recursion_needs_and_gets_a_bigger_stack(backend):
    cases = [{"input": "", "output": "50000\n"}]
    small = sandboxes.run_tests(DEEP, {"kind": "stdio", "cases": cases}, backend=backend)
    big = sandboxes.run_tests(DEEP, {"kind": "stdio", "cases": cases, "stack_mb": 256}, backend=backend)
    assert small.status == "runtime_error"
    assert big.status == "passed", big.to_dict()


def test_stack_mb_must_be_a_positive_number():
    with pytest.raises(sandboxes.TestsError, match="stack_mb"):
        sandboxes.parse_tests({"kind": "stdio", "cases": [{"input": "", "output": ""}], "stack_mb": "big"})
