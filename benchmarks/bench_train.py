"""Training throughput on this machine: cotforge's trainers against plain TRL / transformers in the same run.

1. `cotforge train sft` vs a plain TRL SFTTrainer built by hand (same model, data, batch, steps, precision): the
   wrapper must cost nothing (ratio ≥ 1.0 within noise). On CPU it also times TRL with its own defaults (bf16
   autocast), which cotforge turns off there.
2. SFT with padding-free packing vs padded batches on the demo's length distribution (target ≥ 1.3×), in real
   (non-padding) tokens per second.
3. `cotforge train redi` vs a plain `transformers.Trainer` doing a causal-LM loss over the same stacked
   chosen+rejected batches (the cheapest thing that touches the same tokens).

Each measurement is the best of --repeat runs after a warm-up, timed around `trainer.train()` only (model loading
and tokenization excluded). Needs `make demo` first (its exports and SmolLM2 folder); `--tiny` swaps SmolLM2-135M for
a 2-layer model with the same tokenizer so the whole benchmark takes a few minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _spec(args, kind: str, data: str, trainer: dict, out: str, **extra):
    from training.config import KINDS

    model = (
        {"path": args.model, "dtype": "float32"}
        if not args.tiny
        else {
            "init": {
                "tokenizer": args.model,
                "hidden_size": 256,
                "intermediate_size": 512,
                "num_hidden_layers": 4,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
            },
            "dtype": "float32",
        }
    )
    cfg = KINDS[kind].model_validate(
        {
            "model": model,
            "data": {"path": data, "limit": args.rows},
            "trainer": {
                "max_steps": args.steps,
                "per_device_train_batch_size": args.batch,
                "gradient_checkpointing": False,
                "learning_rate": 1e-5,
                **trainer,
            },
            "output_dir": out,
            **extra,
        }
    )
    return cfg


def _timed(trainer) -> tuple[float, float]:
    """(seconds, real tokens) of trainer.train()."""
    counter = {"tokens": 0}
    inner = trainer.get_train_dataloader

    def counting():
        for batch in inner():
            mask = batch.get("attention_mask")
            if mask is not None:
                counter["tokens"] += int(mask.sum())
            elif "position_ids" in batch:  # padding-free: every position is a real token
                counter["tokens"] += int(batch["position_ids"].numel())
            else:
                counter["tokens"] += int(batch["input_ids"].numel())
            yield batch

    trainer.get_train_dataloader = lambda: counting()
    t0 = time.perf_counter()
    trainer.train()
    return time.perf_counter() - t0, counter["tokens"]


def best(make, repeat: int) -> float:
    make_trainer = make
    _timed(make_trainer())  # warm-up: first-call costs (kernels, allocator) out of the numbers
    rates = []
    for _ in range(repeat):
        s, tok = _timed(make_trainer())
        rates.append(tok / s)
    return max(rates)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "runs/models/SmolLM2-135M-Instruct"))
    ap.add_argument("--export", default=str(ROOT / "runs/demo/export"))
    ap.add_argument("--tiny", action="store_true", help="a 4-layer model with the same tokenizer")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", help="write the numbers as JSON here")
    args = ap.parse_args()
    if not Path(args.model).exists() or not Path(args.export).exists():
        sys.exit(f"needs {args.model} and {args.export}: run `make demo` first")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import Trainer, TrainingArguments
    from trl import SFTConfig, SFTTrainer

    from training import redi, sft
    from training.data import load_for
    from training.models import load_model, load_tokenizer

    torch.manual_seed(0)
    tmp = tempfile.mkdtemp()
    sft_data, pref_data = f"{args.export}/trl-sft", f"{args.export}/trl-preference"
    res: dict[str, float] = {}

    def ours_sft(packing: bool):
        cfg = _spec(args, "sft", sft_data, {"max_length": args.max_length, "packing": packing}, tmp)
        return lambda: sft.build_trainer(cfg)[0]

    def plain_sft(trl_defaults: bool = False):
        """TRL's SFTTrainer built by hand; `trl_defaults` keeps TRL's bf16 autocast, which cotforge turns off on CPU."""
        cfg = _spec(args, "sft", sft_data, {"max_length": args.max_length, "packing": True}, tmp)
        tok = load_tokenizer(cfg.model)
        ds = load_for("sft", sft_data, limit=args.rows).select_columns(["messages"])

        def make():
            model = load_model(cfg.model, tok)
            targs = SFTConfig(
                output_dir=tmp,
                max_steps=args.steps,
                per_device_train_batch_size=args.batch,
                learning_rate=1e-5,
                max_length=args.max_length,
                packing=True,
                assistant_only_loss=True,
                gradient_checkpointing=False,
                report_to=[],
                use_cpu=True,
                save_strategy="no",
                disable_tqdm=True,
                eos_token=tok.eos_token,
                **({} if trl_defaults or torch.cuda.is_available() else {"bf16": False}),
            )
            return SFTTrainer(model=model, args=targs, train_dataset=ds, processing_class=tok)

        return make

    res["sft_cotforge_tok_s"] = best(ours_sft(True), args.repeat)
    res["sft_plain_trl_tok_s"] = best(plain_sft(), args.repeat)
    res["sft_padded_tok_s"] = best(ours_sft(False), args.repeat)
    if not torch.cuda.is_available():
        res["sft_plain_trl_bf16_default_tok_s"] = best(plain_sft(trl_defaults=True), args.repeat)
    res["sft_wrapper_ratio"] = res["sft_cotforge_tok_s"] / res["sft_plain_trl_tok_s"]
    res["packing_vs_padded_ratio"] = res["sft_cotforge_tok_s"] / res["sft_padded_tok_s"]

    rcfg = _spec(args, "redi", pref_data, {}, tmp, max_completion_length=args.max_length, max_prompt_length=800)
    res["redi_cotforge_tok_s"] = best(lambda: redi.build_trainer(rcfg)[0], args.repeat)

    tok = load_tokenizer(rcfg.model)
    pairs, _ = redi.tokenize_pairs(load_for("redi", pref_data, limit=args.rows), tok, rcfg)

    def plain_redi():
        model = load_model(rcfg.model, tok)
        targs = TrainingArguments(
            output_dir=tmp,
            max_steps=args.steps,
            per_device_train_batch_size=args.batch,
            learning_rate=1e-5,
            report_to=[],
            use_cpu=True,
            save_strategy="no",
            disable_tqdm=True,
            remove_unused_columns=False,
        )
        return Trainer(model=model, args=targs, train_dataset=pairs, data_collator=redi.PairCollator(tok.pad_token_id))

    res["redi_plain_trainer_tok_s"] = best(plain_redi, args.repeat)
    res["redi_wrapper_ratio"] = res["redi_cotforge_tok_s"] / res["redi_plain_trainer_tok_s"]
    res.update(
        {
            "model": "tiny-4layer" if args.tiny else Path(args.model).name,
            "steps": args.steps,
            "batch": args.batch,
            "max_length": args.max_length,
            "rows": args.rows,
            "threads": torch.get_num_threads(),
        }
    )
    for k, v in res.items():
        print(f"{k:28s} {v:.3f}" if isinstance(v, float) else f"{k:28s} {v}")
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
