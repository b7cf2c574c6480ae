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

    def on_train_begin(self, args, state, control, **kw):
        if state.is_world_process_zero:
            self.path.write_text("")  # one run per file: a re-run into the same folder starts it afresh

    def on_log(self, args, state, control, logs=None, **kw):
        if not logs or not state.is_world_process_zero:
            return
        rec = {
            "step": state.global_step,
            "epoch": state.epoch,
            **{k: v for k, v in logs.items() if isinstance(v, (int, float)) and not math.isnan(float(v))},
        }
        with self.path.open("a") as f:
            f.write(json.dumps(rec) + "\n")


class BenchmarkEval(TrainerCallback):
    """Greedy accuracy on a benchmark slice every `every_steps` and at the last step, scored by cotforge's verifiers;
    the numbers join that step's log record (so metrics.jsonl and any report_to backend get them)."""

    def __init__(self, spec: Any, tokenizer: Any):
        from .quantify.benchmarks import load_benchmark

        self.spec, self.tokenizer = spec, tokenizer
        self.items = load_benchmark(spec.benchmark, limit=spec.limit)
        self.pending: dict[str, float] = {}

    def on_step_end(self, args, state, control, model=None, **kw):
        step = state.global_step
        if model is None or not (step % self.spec.every_steps == 0 or step == state.max_steps):
            return
        from .quantify.gain import score_in_process

        was_training = model.training
        model.eval()
        res = score_in_process(
            model,
            self.tokenizer,
            self.items,
            max_new_tokens=self.spec.max_new_tokens,
            prompt_template=self.spec.prompt_template,
        )
        if was_training:
            model.train()
        self.pending = {"eval_accuracy": res["accuracy"], "eval_mean_tokens": res["mean_tokens"]}
        control.should_log = True

    def on_log(self, args, state, control, logs=None, **kw):
        if self.pending and logs is not None:
            logs.update(self.pending)
            self.pending = {}
