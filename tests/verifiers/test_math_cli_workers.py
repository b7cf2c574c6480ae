"""CLI contract and worker isolation (deadline kill + replacement, threads, asyncio, reward)."""

import asyncio
import json
import threading

import pytest
import typer
from typer.testing import CliRunner

from curation.commands.verify import register
from verifiers.math import averify, reward, verify, verify_batch


def _app():
    app = typer.Typer()

    @app.callback()
    def main():  # keep `verify` a sub-command
        pass

    register(app)
    return app


@pytest.mark.timeout(300)
def test_cli_file_contract(tmp_path):
    inp = tmp_path / "cases.jsonl"
    rows = [
        {"id": 1, "gold": "\\frac{1}{2}", "prediction": "so \\boxed{0.5}"},
        {"id": 2, "gold": "x+1", "prediction": "\\boxed{x+2}"},
        {"id": 3, "gold": "7", "prediction": "\\boxed{7"},
    ]
    inp.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(
        _app(), ["verify", "math", "--input", str(inp), "--output", str(out), "--workers", "2", "--timeout-ms", "5000"]
    )
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["id"] for g in got] == [1, 2, 3]
    assert [g["equivalent"] for g in got] == [True, False, False]
    assert got[2]["status"] == "no_answer"
    assert got[0]["extracted"]["prediction"] == "0.5"


def test_cli_single_pair_and_bad_input(tmp_path):
    res = CliRunner().invoke(_app(), ["verify", "math", "--gold", "3", "--prediction", "The answer is $3$."])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["equivalent"] is True
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"gold": "1"}\n')
    res = CliRunner().invoke(_app(), ["verify", "math", "--input", str(bad), "--output", str(tmp_path / "o.jsonl")])
    assert res.exit_code != 0


@pytest.mark.timeout(300)
def test_deadline_kills_and_replaces_worker():
    r = verify("x^2+2x+1", "\\boxed{(x+1)^2}", timeout_ms=1)
    assert r.status == "timeout" and r.equivalent is None
    r2 = verify("x^2+2x+1", "\\boxed{(x+1)^2}", timeout_ms=20000)
    assert r2.equivalent is True


@pytest.mark.timeout(300)
def test_threads_asyncio_batch_and_reward():
    res = {}

    def run(i):
        res[i] = verify("\\sqrt{8}", "\\boxed{2\\sqrt{2}}", timeout_ms=20000).equivalent

    ts = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    assert set(res.values()) == {True}
    assert asyncio.run(averify("\\pi", "\\boxed{\\pi}", timeout_ms=20000)).equivalent is True
    vs = verify_batch(
        [("2", "\\boxed{2}"), ("x", "\\boxed{y}"), ("1/3", "\\boxed{\\frac{2}{6}}")], workers=2, timeout_ms=20000
    )
    assert [x.equivalent for x in vs] == [True, False, True]
    r = reward(
        ["\\boxed{2}", [{"role": "assistant", "content": "The answer is \\boxed{3}"}], "\\boxed{1}"],
        ["2", "2", ""],
        timeout_ms=20000,
    )
    assert r == [1.0, 0.0, None]
