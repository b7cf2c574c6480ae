"""Embedding throughput: plain `SentenceTransformer.encode` (fp16 on CUDA) vs cotforge's fast path, same run.

    python benchmarks/bench_embed.py [--n 200000] [--device auto] [--batch-size 512] [--model all-MiniLM-L6-v2]

On a GPU the baseline is the model in fp16 (`model.half()`) with sentence-transformers' own encode; the fast path
tokenizes ahead in threads and runs under fp16 autocast. On CPU both run fp32 (the fast path's gains are GPU ones).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def corpus(n: int, seed: int = 0) -> list[str]:
    from synth_corpus import generate  # the dedup benchmark's seeded math/code generator

    texts = [r["problem"] for r in generate(n, seed=seed)]
    random.Random(seed).shuffle(texts)
    return texts[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import numpy as np
    import torch

    from curation.text.embeddings import Embedder
    from curation.text.fast_encode import encode_fast

    emb = Embedder(args.model, device=args.device, batch_size=args.batch_size)
    model = emb.model()
    if emb.device.startswith("cuda"):
        model.half()
    texts = corpus(args.n)
    model.encode(texts[:1024], batch_size=args.batch_size)  # warm-up (CUDA context, kernels)
    sync = torch.cuda.synchronize if emb.device.startswith("cuda") else (lambda: None)
    sync()
    t = time.perf_counter()
    ref = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True, normalize_embeddings=True)
    sync()
    base_s = time.perf_counter() - t
    if emb.device.startswith("cuda"):
        model.float()  # the fast path autocasts itself
    t = time.perf_counter()
    got = encode_fast(model, texts, batch_size=args.batch_size)
    sync()
    fast_s = time.perf_counter() - t
    cos = float((np.asarray(ref, dtype=np.float32) * got).sum(1).min())
    res = {
        "device": emb.device,
        "gpu": torch.cuda.get_device_name() if emb.device.startswith("cuda") else None,
        "n": len(texts),
        "baseline_sentences_per_s": round(len(texts) / base_s),
        "fast_sentences_per_s": round(len(texts) / fast_s),
        "speedup": round(base_s / fast_s, 2),
        "min_cosine_vs_baseline": round(cos, 5),
    }
    print(json.dumps(res))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
