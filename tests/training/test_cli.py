"""`cotforge train` and `cotforge quantify` through the real CLI entry point: exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from curation.cli import main


def test_train_sft_cli_writes_the_model_to_the_output_dir_override(recipe, tmp_path, capsys):
    out = tmp_path / "elsewhere"
    main(["train", "sft", str(recipe("trl-sft", {"max_steps": 2})), "--output-dir", str(out)])  # returns: exit 0
    assert '"global_step": 2' in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["global_step"] == 2 and (out / "config.json").exists()


def test_bad_config_exits_2_with_file_line_and_allowed_keys(recipe, tmp_path, capsys):
    path = recipe("trl-sft")
    cfg = yaml.safe_load(path.read_text())
    cfg["model"]["dtpye"] = "float32"
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit) as e:
        main(["train", "sft", str(path)])
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert "unknown key 'model.dtpye'" in err and "recipe.yaml:" in err and "dtype" in err


def test_missing_config_and_missing_data_exit_2(recipe, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["quantify", str(tmp_path / "nope.yaml")])
    assert e.value.code == 2 and "not found" in capsys.readouterr().err
    path = recipe("trl-sft")
    cfg = yaml.safe_load(path.read_text())
    cfg["data"]["path"] = str(Path(tmp_path) / "missing.jsonl")
    path.write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit) as e:
        main(["train", "sft", str(path)])
    assert e.value.code == 2 and "no such file" in capsys.readouterr().err
