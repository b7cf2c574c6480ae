"""Test harnesses end to end: stdio, assert lists, HumanEval check(), nonce, statuses, C++, CLI, reward."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
import typer
from typer.testing import CliRunner

import sandboxes
from sandboxes.isolation import Isolation

from .conftest import ISO, skip_unless

pytestmark = skip_unless("bwrap")
ADD = "a, b = map(int, input().split())\nprint(a + b)\n"
STDIO = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10"}]}


def test_stdio_pass_and_wrong_answer(backend):
    assert sandboxes.run_tests(ADD, STDIO, backend=backend).passed
    rep = sandboxes.run_tests(ADD.replace("a + b", "a * b"), STDIO, backend=backend)
    assert not rep.passed and [t.status for t in rep.tests] == ["wrong_answer", "wrong_answer"]
    rep = sandboxes.run_tests(ADD.replace("a + b", "a * b"), STDIO, early_stop=True, backend=backend)
    assert len(rep.tests) == 1


def test_assert_tests_per_test_status(backend):
    tests = {
        "kind": "assert",
        "setup": "import math",
        "asserts": ["assert f(2) == 4", "assert f(3) == 7", "assert g(1)", "assert math.isclose(f(0.5), 1.0)"],
    }
    rep = sandboxes.run_tests("def f(x):\n    return 2 * x\n", tests, backend=backend)
    assert [t.status for t in rep.tests] == ["passed", "wrong_answer", "runtime_error", "passed"]
    assert rep.status == "wrong_answer" and rep.isolation == ISO.layers + (["forkserver"] if backend else [])


@pytest.mark.parametrize("escape", ["import sys\nsys.exit(0)", "import os\nos._exit(0)", "exit(0)"])
def test_early_exit_cannot_pass(backend, escape):
    tests = {"kind": "assert", "asserts": ["assert f(1) == 2"]}
    rep = sandboxes.run_tests(f"def f(x):\n    {escape.replace(chr(10), chr(10) + '    ')}\n", tests, backend=backend)
    assert not rep.passed
    rep = sandboxes.run_tests(escape, tests, backend=backend)
    assert not rep.passed


def test_printing_fake_success_cannot_pass(backend):
    tests = {"kind": "assert", "asserts": ["assert f(1) == 2"]}
    src = 'print(\'passed\')\nprint(\'{"i": 0, "status": "passed"}\')\nimport os\nos._exit(0)\n'
    assert not sandboxes.run_tests(src, tests, backend=backend).passed


def test_timeout_and_memory_statuses_in_tests(backend):
    tests = {"kind": "assert", "asserts": ["assert f() == 1"], "time_s": 1}
    assert sandboxes.run_tests("def f():\n    while True: pass", tests, backend=backend).status == "timeout"
    rep = sandboxes.run_tests("def f():\n    return len(bytearray(10**11))", tests, backend=backend)
    assert rep.status == "memory_limit"


def test_humaneval_style():
    tests = {
        "kind": "humaneval",
        "entry_point": "add",
        "check": "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(0, 0) == 0\n",
    }
    assert sandboxes.run_tests("def add(a, b):\n    return a + b\n", tests).passed
    assert not sandboxes.run_tests("def add(a, b):\n    return a - b\n", tests).passed


@pytest.mark.skipif(not shutil.which("g++"), reason="g++ not installed")
def test_cpp_stdio_and_compile_error():
    src = '#include <cstdio>\nint main(){long a,b; scanf("%ld %ld",&a,&b); printf("%ld\\n", a+b);}\n'
    assert sandboxes.run_tests(src, STDIO, language="cpp").passed
    rep = sandboxes.run_tests("int main(){ return x; }", STDIO, language="cpp")
    assert rep.status == "compile_error" and "x" in rep.compile.detail
    with pytest.raises(sandboxes.TestsError):
        sandboxes.run_tests(src, {"kind": "assert", "asserts": ["assert 1"]}, language="cpp")


def test_bad_tests_json_is_a_clear_error():
    with pytest.raises(sandboxes.TestsError, match="unknown key"):
        sandboxes.parse_tests({"kind": "stdio", "cases": [{"input": "", "output": ""}], "typo": 1})
    with pytest.raises(sandboxes.TestsError, match="kind"):
        sandboxes.parse_tests('{"cases": []}')


def test_strict_policy_refuses_missing_layers():
    fake = Isolation(layers=["clean_env"], missing={"bwrap": "not installed"})
    with pytest.raises(sandboxes.SandboxUnavailable, match="bwrap"):
        fake.check("strict")
    fake.check("default")
    if not ISO.missing:
        ISO.check("strict")  # every layer is active on a fully equipped host


def test_batch_async_and_reward():
    items = [{"program": ADD, "tests": STDIO}, {"program": "print(3)", "tests": STDIO}]
    reps = sandboxes.run_tests_batch(items, workers=2)
    assert [r.passed for r in reps] == [True, False]
    rep = asyncio.run(sandboxes.run_tests_async(ADD, json.dumps(STDIO)))
    assert rep.passed
    completions = [f"Here:\n```python\n{ADD}```", [{"role": "assistant", "content": "```py\nprint(3)\n```"}], "no code"]
    assert sandboxes.reward(completions, [STDIO] * 3) == [1.0, 0.0, 0.0]
    assert sandboxes.reward(completions[1:2], [STDIO], partial=True) == [0.5]


def _app() -> typer.Typer:
    from curation.commands.sandbox import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keeps `sandbox` a sub-command rather than the root
    return app


def test_cli_run_and_test(tmp_path):
    prog = tmp_path / "add.py"
    prog.write_text(ADD)
    exp = tmp_path / "exp.txt"
    exp.write_text("3\n")
    res = tmp_path / "res.json"
    runner = CliRunner()
    out = runner.invoke(
        _app(),
        ["sandbox", "run", "--time", "2", "--mem", "256", "--result", str(res), "--expected", str(exp), str(prog)],
        input="1 2\n",
    )
    assert out.exit_code == 0, out.output
    doc = json.loads(res.read_text())
    assert doc["status"] == "passed" and doc["verdict"] == "passed" and doc["isolation"] == ISO.layers
    assert {"exit_code", "wall_s", "cpu_s", "peak_memory_mb"} <= doc.keys()
    tests = tmp_path / "t.json"
    tests.write_text(json.dumps(STDIO))
    out = runner.invoke(_app(), ["sandbox", "test", str(prog), "--tests", str(tests)])
    assert out.exit_code == 0 and "test 1: passed" in out.output
    out = runner.invoke(_app(), ["sandbox", "run", "--result", str(res), str(tmp_path / "loop.py")])
    assert out.exit_code != 0  # missing file: a user error
    (tmp_path / "loop.py").write_text("while True: pass")
    out = runner.invoke(_app(), ["sandbox", "run", "--time", "1", "--result", str(res), str(tmp_path / "loop.py")])
    assert out.exit_code == 0 and json.loads(res.read_text())["status"] == "timeout"
