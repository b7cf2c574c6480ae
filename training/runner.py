"""What every `cotforge train` kind does around its trainer: callbacks, progress, the final save and a summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .config import TrainConfig


def callbacks(cfg: TrainConfig, tokenizer: Any) -> list[Any]:
    from .callbacks import BenchmarkEval, MetricsFile

    cbs: list[Any] = []
    if cfg.evaluation is not None:  # before MetricsFile: it adds its numbers to the log record MetricsFile writes
        cbs.append(BenchmarkEval(cfg.evaluation, tokenizer))
    return cbs + [MetricsFile(cfg.output_dir)]


def common_defaults(cfg: TrainConfig) -> dict[str, Any]:
    """Defaults cotforge picks where TRL's suit a GPU node but not a laptop (all overridable in `trainer:`)."""
    import torch

    cpu = not torch.cuda.is_available()
    # TRL's configs autocast to bf16 by default; CPUs without bf16 matrix units run that on a slow scalar path.
    return {
        "report_to": [],
        "logging_steps": 1,
        "save_strategy": "no",
        "use_cpu": cpu,
        "disable_tqdm": True,
        **({"bf16": False} if cpu else {}),
    }


def run(trainer: Any, cfg: TrainConfig, tokenizer: Any, kind: str, extra: dict[str, Any] | None = None) -> dict:
    """Train with rich progress, save model + tokenizer (training template included) and write summary.json."""
    from trl.trainer.callbacks import RichProgressCallback

    for cb in trainer.callback_handler.callbacks:
        if hasattr(cb, "trainer") and getattr(cb, "trainer", 0) is None:
            cb.trainer = trainer
    if not any(isinstance(cb, RichProgressCallback) for cb in trainer.callback_handler.callbacks):
        trainer.add_callback(RichProgressCallback())
    t0 = time.time()
    result = trainer.train()
    out = Path(cfg.output_dir)
    trainer.save_model(str(out))
    tokenizer.save_pretrained(str(out))
    summary = {
        "kind": kind,
        "output_dir": str(out),
        "global_step": result.global_step,
        "train_loss": result.training_loss,
        "seconds": round(time.time() - t0, 2),
        "metrics": result.metrics,
        **(extra or {}),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
