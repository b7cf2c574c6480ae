"""`cotforge train rl`: TRL's GRPOTrainer on prompt-only rows with verifier- and sandbox-backed rewards.

Generation goes through TRL: vLLM when `trainer.use_vllm` is set (GPU nodes), transformers otherwise. AceReason's
strict on-policy recipe is TRL's default (`num_iterations` 1, `beta` 0: no reference model).
"""

from __future__ import annotations

from typing import Any

from .config import RLSpec, trl_args
from .data import load_for
from .models import load_model, load_tokenizer, lora_config
from .rewards import build
from .runner import callbacks, common_defaults, run

_COLUMNS = ("prompt", "solution", "tests")


def build_trainer(cfg: RLSpec) -> tuple[Any, Any]:
    from trl import GRPOConfig, GRPOTrainer

    ds = load_for("rl", cfg.data.path, cfg.data.split, cfg.data.name, cfg.data.limit)
    ds = ds.select_columns([c for c in _COLUMNS if c in ds.column_names])
    tok = load_tokenizer(cfg.model)
    model = load_model(cfg.model, tok)
    funcs, weights = build(cfg.rewards, cfg.code_partial_credit, cfg.length_target)
    if any(r.name == "accuracy" for r in cfg.rewards):
        from verifiers.math.reward import start_workers

        start_workers()  # warm verifier processes now, not inside the first training step
    args = trl_args(cfg, GRPOConfig, **common_defaults(cfg), reward_weights=weights)
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=ds,
        processing_class=tok,
        peft_config=lora_config(cfg.lora),
        callbacks=callbacks(cfg, tok),
    )
    return trainer, tok


def train(cfg: RLSpec) -> dict:
    trainer, tok = build_trainer(cfg)
    return run(trainer, cfg, tok, "rl", {"prompts": len(trainer.train_dataset)})
