"""Trainer callbacks shared by every trainer: a metrics log on disk and periodic benchmark evaluation."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from transformers import TrainerCallback


class MetricsFile(TrainerCallback):
    """Appends every log record to `<output_dir>/metrics.jsonl` (the lab and reports read it; stdout is for people)."""

    def __init__(self, output_dir: str):
        self.path = Path(output_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def on_log(self, args, state, control, logs=None, **kw):
        if not logs or not state.is_world_process_zero:
            return
        rec = {"step": state.global_step, "epoch": state.epoch,
               **{k: v for k, v in logs.items() if isinstance(v, (int, float)) and not math.isnan(float(v))}}
        with self.path.open("a") as f:
            f.write(json.dumps(rec) + "\n")


class BenchmarkEval(TrainerCallback):
    """Greedy accuracy on a benchmark slice every `every_steps` (and at the end), scored by cotforge's verifiers."""

    def __init__(self, spec: Any, tokenizer: Any):
        from .quantify.benchmarks import load_benchmark

        self.spec, self.tokenizer = spec, tokenizer
        self.items = load_benchmark(spec.benchmark, limit=spec.limit)
        self.trainer: Any = None  # set by the runner, so results go through trainer.log like every other metric

    def _run(self, model: Any, state: Any) -> dict[str, float]:
        from .quantify.gain import score_in_process

        was_training = model.training
        model.eval()
        res = score_in_process(model, self.tokenizer, self.items, max_new_tokens=self.spec.max_new_tokens,
                               prompt_template=self.spec.prompt_template)
        if was_training:
            model.train()
        if self.trainer is not None:
            self.trainer.log({"eval_accuracy": res["accuracy"], "eval_mean_tokens": res["mean_tokens"]})
        return res

    def on_step_end(self, args, state, control, model=None, **kw):
        if model is not None and state.global_step % self.spec.every_steps == 0:
            self._run(model, state)

    def on_train_end(self, args, state, control, model=None, **kw):
        if model is not None and state.global_step % self.spec.every_steps != 0:
            self._run(model, state)
