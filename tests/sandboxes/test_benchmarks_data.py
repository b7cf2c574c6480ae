"""Reference solutions pass and mutated ones fail: HumanEval (all 164) and an MBPP sample."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import sandboxes

from .conftest import skip_unless

DATA = Path(__file__).resolve().parents[1] / "data" / "code"
pytestmark = skip_unless("bwrap")


def _load(name):
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _humaneval_items(mutate=False):
    items = []
    for r in _load("humaneval.jsonl"):
        body = r["canonical_solution"]
        if mutate:  # every function now returns None: a real, silent bug
            body = "    return None\n"
        items.append(
            {
                "program": r["prompt"] + body,
                "tests": {"kind": "humaneval", "check": r["tests"], "entry_point": r["entry_point"]},
            }
        )
    return items


def _mbpp_items(n=None, mutate=False):
    rows = _load("mbpp_test.jsonl")[:n]
    items = []
    for r in rows:
        code = r["reference_solution"]
        if mutate:  # rename the function under test so every call fails
            code = re.sub(r"\bdef (\w+)", r"def \1_mutated", code)
        items.append(
            {"program": code, "tests": {"kind": "assert", "asserts": r["tests"], "setup": r["test_setup_code"] or None}}
        )
    return items


def test_humaneval_canonical_solutions_all_pass():
    reps = sandboxes.run_tests_batch(_humaneval_items(), workers=2)
    failed = [(i, r.status, r.tests[0].detail if r.tests else r.detail) for i, r in enumerate(reps) if not r.passed]
    assert len(reps) == 164 and failed == []


def test_humaneval_mutated_solutions_fail():
    reps = sandboxes.run_tests_batch(_humaneval_items(mutate=True), workers=2)
    assert not any(r.passed for r in reps)


@pytest.mark.parametrize("mode", ["forkserver", "sandbox"])
def test_mbpp_references_pass(mode):
    n = 500 if mode == "forkserver" else 40
    reps = sandboxes.run_tests_batch(_mbpp_items(n), workers=2, mode=mode)
    assert [i for i, r in enumerate(reps) if not r.passed] == []


def test_mbpp_mutated_fail():
    reps = sandboxes.run_tests_batch(_mbpp_items(100, mutate=True), workers=2)
    assert not any(r.passed for r in reps)
