"""The code reward at GRPO's shape: one batched call equals the per-completion loop (repeats run once), malformed
tests give None with a warning, and a misaligned call says what to pass."""

from __future__ import annotations

import asyncio

import pytest

import sandboxes

from .conftest import skip_unless

pytestmark = skip_unless("bwrap")
ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
STDIO = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]}
HALF = "a, b = map(int, input().split())\nprint(3)\n"  # right on the first case only


def test_batched_call_equals_the_per_completion_loop():
    good, half = f"```python\n{ADD}```", f"<think>hmm</think>```python\n{HALF}```"
    comps = [good, half, good, "no code", good, half, [{"role": "assistant", "content": good}]]
    tests = [STDIO] * len(comps)
    for partial in (False, True):
        batch = sandboxes.reward(comps, tests, partial=partial)
        loop = [sandboxes.reward([c], [t], partial=partial)[0] for c, t in zip(comps, tests)]
        assert batch == loop
        assert asyncio.run(sandboxes.areward(comps, tests, partial=partial)) == batch
    assert sandboxes.reward(comps, tests) == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]
    assert sandboxes.reward(comps, tests, partial=True)[1] == 0.5


def test_malformed_tests_score_none_with_a_warning_and_misalignment_is_an_error():
    with pytest.warns(UserWarning, match="malformed"):
        out = sandboxes.reward([f"```python\n{ADD}```"] * 2, [{"kind": "stdio", "cases": []}, STDIO])
    assert out == [None, 1.0]
    with pytest.raises(ValueError, match="tests"):
        sandboxes.reward(["x", "y"], [STDIO])
