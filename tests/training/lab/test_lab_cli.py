"""`cotforge lab build`: writes a lab folder; a bad difficulty setting is a clear usage error (exit 2)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from curation.cli import app, main


def test_lab_build_writes_the_folder(tmp_path):
    res = CliRunner().invoke(
        app, ["lab", "build", "--out", str(tmp_path), "--train", "30", "--test", "10", "--no-student"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "build.json").read_text())
    assert summary["counts"]["test"] == 10
    assert sum(1 for _ in (tmp_path / "test.jsonl").open()) == 10
    pool = [json.loads(line) for line in (tmp_path / "pool.jsonl").open()]
    assert sum(r["origin"] == "train" for r in pool) == 30
    n_traces = sum(1 for _ in (tmp_path / "traces.jsonl").open())
    assert n_traces == sum(summary["counts"]["traces"].values()) == len(pool) * 10  # 5 teachers x 2 samples


def test_bad_difficulty_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["lab", "build", "--out", str(tmp_path), "--max-number", "2", "--no-student"])
    assert e.value.code == 2
    assert "max_number" in capsys.readouterr().err


def test_lab_run_rejects_bad_options_before_any_work(tmp_path, capsys):
    for args, word in (
        (["--workers", "0"], "workers"),
        (["--arms", "A9"], "A9"),
        (["--recipe", "huge"], "huge"),
        (["--seeds", "a,b"], "seeds"),
    ):
        with pytest.raises(SystemExit) as e:
            main(["lab", "run", "--out", str(tmp_path / "lab"), *args])
        assert e.value.code == 2, args
        assert word in capsys.readouterr().err
    assert not (tmp_path / "lab").exists()
