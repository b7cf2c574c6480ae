"""`cotforge train sft`: TRL's SFTTrainer on `messages` rows, loss on assistant tokens only, reasoning kept."""

from __future__ import annotations

from typing import Any

from .config import SFTSpec
from .data import load_for, load_rows
from .models import load_model, load_tokenizer, lora_config
from .runner import callbacks, common_defaults, run


def build_trainer(cfg: SFTSpec) -> tuple[Any, Any]:
    from trl import SFTConfig, SFTTrainer

    from .config import trl_args

    ds = load_for("sft", cfg.data.path, cfg.data.split, cfg.data.name, cfg.data.limit)
    eval_ds = load_for("sft", cfg.data.eval_path) if cfg.data.eval_path else None
    tok = load_tokenizer(cfg.model)
    model = load_model(cfg.model, tok)
    conversational = "messages" in ds.column_names
    # Padding-free packing (best-fit decreasing) is TRL's fastest layout; assistant-only loss needs `messages`.
    args = trl_args(
        cfg,
        SFTConfig,
        **common_defaults(cfg),
        assistant_only_loss=conversational,
        packing=False,
        eos_token=tok.eos_token,
    )
    keep = [c for c in ("messages", "prompt", "completion", "text") if c in ds.column_names]
    ds = ds.select_columns(keep)
    if eval_ds is not None:
        eval_ds = eval_ds.select_columns([c for c in keep if c in eval_ds.column_names])
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=ds,
        eval_dataset=eval_ds,
        processing_class=tok,
        peft_config=lora_config(cfg.lora),
        callbacks=callbacks(cfg, tok),
    )
    return trainer, tok


def train(cfg: SFTSpec) -> dict:
    trainer, tok = build_trainer(cfg)
    return run(trainer, cfg, tok, "sft", {"rows": len(trainer.train_dataset)})


__all__ = ["build_trainer", "train", "load_rows"]
