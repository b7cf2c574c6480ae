"""Every shipped recipe validates: cotforge's keys by pydantic, `trainer:` by the TRL / transformers config class."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.config import load_config, load_quantify, trl_args

RECIPES = sorted((Path(__file__).parents[2] / "manifests" / "training").glob("*.yaml"))


def _kind(name: str) -> str:
    return "sft" if "sft" in name else "rl" if name.startswith(("rl", "grpo")) else "redi"


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_recipe_validates(path):
    import transformers
    import trl

    if path.name.startswith("quantify"):
        cfg = load_quantify(path)
        assert {"base", "student"} <= set(cfg.models)
        return
    kind = _kind(path.name)
    cfg = load_config(path, kind)
    config_class = {"sft": trl.SFTConfig, "rl": trl.GRPOConfig}.get(kind, transformers.TrainingArguments)
    args = trl_args(cfg, config_class, use_cpu=True)
    assert Path(args.output_dir).is_absolute()


def test_paper_recipes_carry_the_published_settings():
    stage1 = load_config(RECIPES[0].parent / "redi-qwen2.5-math-1.5b-sft.yaml", "sft")
    stage2 = load_config(RECIPES[0].parent / "redi-qwen2.5-math-1.5b.yaml", "redi")
    assert stage1.trainer["learning_rate"] == 5e-5 and stage1.trainer["num_train_epochs"] == 3
    assert stage2.alpha == 0.8 and stage2.trainer["learning_rate"] == 1e-6 and stage2.trainer["num_train_epochs"] == 1
    assert (stage2.max_prompt_length, stage2.max_completion_length) == (800, 19000)
    assert stage2.model.path == stage1.output_dir  # stage 2 starts from the stage-1 checkpoint


def test_hub_ids_stay_ids_and_relative_paths_resolve_against_the_recipe(tmp_path):
    from training.config import _local_or_id

    assert _local_or_id("Qwen/Qwen2.5-Math-1.5B", tmp_path) == "Qwen/Qwen2.5-Math-1.5B"
    assert _local_or_id("../runs/x/export/trl-sft", tmp_path / "recipes") == str(tmp_path / "runs/x/export/trl-sft")
    assert _local_or_id("org/pairs.jsonl", tmp_path) == str(tmp_path / "org/pairs.jsonl")
    (tmp_path / "org" / "model").mkdir(parents=True)
    assert _local_or_id("org/model", tmp_path) == str(tmp_path / "org/model")  # a local folder wins
