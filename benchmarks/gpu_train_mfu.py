"""GPU check for a lent device: SFT and REDI model-FLOPs utilisation on a ~1.5B-parameter Qwen2-shaped model.

bf16, sequence length 4096 (REDI: 2 × 2048 per pair), random weights built from a config (nothing downloaded),
synthetic token data in the export formats. MFU = (6·N + 12·L·d·S) FLOPs per token × tokens/s ÷ the GPU's dense
bf16 peak (H100 SXM 989 TFLOPS, H100 PCIe 756, H200 989; override with --peak-tflops). Compared against plain
`transformers.Trainer` (causal-LM loss) on the same model, batch and tokens in the same run. Target: ≥ 0.45 on an
H100/H200, where plain HF training measured 0.40.

    python benchmarks/gpu_train_mfu.py --steps 10 --out bench_out/gpu_mfu.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PEAKS = {"H100 PCIe": 756e12, "H100": 989e12, "H200": 989e12, "A100": 312e12}


def flops_per_token(cfg, seq: int) -> float:
    n = cfg.vocab_size * cfg.hidden_size + cfg.num_hidden_layers * (
        4 * cfg.hidden_size * cfg.hidden_size + 3 * cfg.hidden_size * cfg.intermediate_size
    )
    return 6 * n + 12 * cfg.num_hidden_layers * cfg.hidden_size * seq


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seq", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--peak-tflops", type=float)
    ap.add_argument("--out")
    args = ap.parse_args()
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM, Trainer, TrainingArguments

    from training import redi
    from training.config import REDISpec
    from training.tiny import train_tokenizer

    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this benchmark is for a lent GPU machine")
    name = torch.cuda.get_device_name()
    peak = args.peak_tflops * 1e12 if args.peak_tflops else next((v for k, v in PEAKS.items() if k in name), 989e12)
    tmp = Path(tempfile.mkdtemp())
    tok_dir = train_tokenizer(
        [f"step {i} of the reasoning: {i * 7} + {i} = {i * 8}" for i in range(2000)], tmp / "tok", vocab_size=2048
    )
    tok = AutoTokenizer.from_pretrained(tok_dir)
    cfg = Qwen2Config(
        vocab_size=151936,
        hidden_size=1536,
        intermediate_size=8960,
        num_hidden_layers=28,
        num_attention_heads=12,
        num_key_value_heads=2,
        max_position_embeddings=32768,
        tie_word_embeddings=True,
    )
    ids = torch.randint(10, len(tok), (args.batch * args.steps * 2, args.seq // 2))

    def model():
        m = Qwen2ForCausalLM(cfg).to(torch.bfloat16).cuda()
        m.config.use_cache = False
        return m

    pairs = [
        {
            "chosen_input_ids": r.tolist(),
            "chosen_labels": [-100] * 64 + r[64:].tolist(),
            "rejected_input_ids": s.tolist(),
            "rejected_labels": [-100] * 64 + s[64:].tolist(),
        }
        for r, s in zip(ids[0::2], ids[1::2])
    ]
    common = dict(
        output_dir=str(tmp),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch // 2,
        bf16=True,
        gradient_checkpointing=True,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    res = {"device": name, "peak_flops": peak, "params": None}
    spec = REDISpec.model_validate({"model": {"path": "unused"}, "data": {"path": "unused"}})
    for label, make in (
        (
            "redi_cotforge",
            lambda m: redi.REDITrainer(
                model=m,
                args=TrainingArguments(**common),
                train_dataset=pairs,
                data_collator=redi.PairCollator(tok.pad_token_id),
                alpha=spec.alpha,
            ),
        ),
        (
            "plain_trainer",
            lambda m: Trainer(
                model=m,
                args=TrainingArguments(**common),
                train_dataset=pairs,
                data_collator=redi.PairCollator(tok.pad_token_id),
            ),
        ),
    ):
        m = model()
        res["params"] = m.num_parameters()
        tr = make(m)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        tr.train()
        torch.cuda.synchronize()
        secs = time.perf_counter() - t0
        tokens = args.steps * args.batch * args.seq
        res[f"{label}_tok_s"] = tokens / secs
        res[f"{label}_mfu"] = tokens / secs * flops_per_token(cfg, args.seq) / peak
        del tr, m
        torch.cuda.empty_cache()
    res["ratio"] = res["redi_cotforge_tok_s"] / res["plain_trainer_tok_s"]
    print(json.dumps(res, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
