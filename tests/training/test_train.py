"""Each trainer runs a few steps on a tiny from-scratch student with the real TRL / transformers machinery."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation.errors import UserError
from training.config import load_config


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_sft_loss_falls_on_a_memorizable_batch_and_the_checkpoint_reloads(recipe, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training import sft

    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"problem": "What is 2 + 3?", "answer": "5"}) + "\n")
    cfg = load_config(
        recipe(
            "trl-sft",
            {"max_steps": 12, "per_device_train_batch_size": 6},
            evaluation={"benchmark": str(bench), "every_steps": 6, "max_new_tokens": 8},
        ),
        "sft",
    )
    summary = sft.train(cfg)
    metrics = _metrics(Path(cfg.output_dir))
    losses = [m["loss"] for m in metrics if "loss" in m]
    assert len(losses) == 12 and losses[-1] < 0.7 * losses[0]
    evals = [m for m in metrics if "eval_accuracy" in m]  # the periodic benchmark evaluation, at steps 6 and 12
    assert [m["step"] for m in evals] == [6, 12] and all(0.0 <= m["eval_accuracy"] <= 1.0 for m in evals)
    model = AutoModelForCausalLM.from_pretrained(cfg.output_dir)
    tok = AutoTokenizer.from_pretrained(cfg.output_dir)
    assert summary["global_step"] == 12 and model.num_parameters() > 0
    assert "{% generation" in tok.chat_template.replace("{%-", "{%")  # the training template travels with the model


def test_sft_masks_everything_but_the_assistant_turn_and_stage_two_tokenizes_identically(recipe):
    from training import sft
    from training.models import tokenize_conversation

    cfg = load_config(recipe("trl-sft"), "sft")
    trainer, tok = sft.build_trainer(cfg)
    row = trainer.train_dataset[0]
    msgs = json.loads((Path(cfg.data.path) / "train.jsonl").read_text().splitlines()[0])["messages"]
    ids, mask = tokenize_conversation(tok, msgs)  # what `train redi` feeds the model for the same conversation
    assert row["input_ids"] == ids
    assert row["labels"] == [t if m else -100 for t, m in zip(ids, mask)]  # TRL folds the mask into labels
    assistant = tok.decode([t for t, m in zip(ids, mask) if m])
    assert "<think>" in assistant and "boxed" in assistant and "What is" not in assistant


def test_redi_raises_chosen_over_rejected_and_logs_the_collapse_signals(recipe):
    from training import redi

    cfg = load_config(recipe("trl-preference", {"max_steps": 8, "learning_rate": 5e-3}, alpha=0.8), "redi")
    summary = redi.train(cfg)
    assert summary["dropped"] == {"truncated_negative": 1} and summary["pairs"] == 5
    logs = [m for m in _metrics(Path(cfg.output_dir)) if "logps_chosen" in m]
    assert len(logs) == 8
    assert {"logps_rejected", "logps_gap", "update_norm", "grad_norm"} <= set(logs[0])
    assert logs[-1]["logps_gap"] > logs[0]["logps_gap"]
    assert logs[-1]["logps_chosen"] > logs[0]["logps_chosen"]


def test_redi_keeps_truncated_negatives_when_asked(recipe):
    from training import redi

    cfg = load_config(recipe("trl-preference", exclude_truncated_negatives=False), "redi")
    trainer, _, info = redi.build_trainer(cfg)
    assert info["pairs"] == 6 and info["dropped"] == {}


@pytest.mark.parametrize("loss", ["dpo", "simpo"])
def test_trl_preference_baselines_run_on_the_same_pairs(recipe, loss):
    from training import redi

    cfg = load_config(recipe("trl-preference", {"max_steps": 2}, loss=loss), "redi")
    summary = redi.train(cfg)
    assert summary["global_step"] == 2 and summary["pairs"] == 5 and summary["loss"] == loss


def test_grpo_runs_with_the_real_verifier_reward(recipe):
    from training import rl

    cfg = load_config(
        recipe(
            "trl-prompt",
            {
                "max_steps": 2,
                "per_device_train_batch_size": 4,
                "num_generations": 4,
                "max_completion_length": 12,
                "generation_batch_size": 4,
            },
            rewards=[{"name": "accuracy"}, {"name": "format", "weight": 0.5}],
        ),
        "rl",
    )
    summary = rl.train(cfg)
    logs = [m for m in _metrics(Path(cfg.output_dir)) if any(k.startswith("rewards/") for k in m)]
    assert summary["global_step"] == 2 and logs
    assert any("rewards/accuracy/mean" in m for m in logs)


def test_unknown_trainer_option_names_the_line_and_suggests(recipe):
    from training import sft

    path = recipe("trl-sft", {"learnig_rate": 1e-4})
    with pytest.raises(UserError, match=r"recipe.yaml:\d+: trainer.learnig_rate .*did you mean learning_rate"):
        sft.build_trainer(load_config(path, "sft"))


def test_data_with_the_wrong_columns_says_what_was_found_and_expected(recipe):
    from training import redi

    with pytest.raises(UserError, match=r"columns \[.*'messages'.*\] do not fit `cotforge train redi`.*trl-preference"):
        redi.build_trainer(load_config(recipe("trl-sft"), "redi"))
