"""A GPU-friendly encode path for mean-pooled sentence-transformers models.

`SentenceTransformer.encode` tokenizes each batch on the calling thread, then waits for the GPU: on an H200 plain
MiniLM fp16 tops out near 7.7k sentences/s, bound by single-threaded tokenization (~17k/s alone). Here batches are
length-sorted (little padding), tokenized ahead in worker threads (the Rust tokenizer releases the GIL) with a
bounded look-ahead (memory stays flat on millions of texts), and the transformer runs under fp16 autocast on CUDA.
The result equals `encode(..., normalize_embeddings=True)` up to float rounding (tested on CPU).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np


def supports_fast_path(model: Any) -> bool:
    """Only the common layout (Transformer → mean Pooling [→ Normalize]) is reimplemented; anything else falls back."""
    names = [type(m).__name__ for m in model]
    if names[:2] != ["Transformer", "Pooling"] or any(n not in ("Transformer", "Pooling", "Normalize") for n in names):
        return False
    cfg = model[1].get_config_dict()
    return cfg.get("pooling_mode", "mean") == "mean" and hasattr(model[0], "auto_model")


def encode_fast(
    model: Any,
    texts: list[str],
    batch_size: int = 512,
    fp16: bool | None = None,
    tokenize_threads: int = 4,
    lookahead: int = 8,
) -> np.ndarray:
    """(len(texts), dim) float32 L2-normalized embeddings, in input order."""
    import torch

    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    transformer, tokenizer = model[0], model.tokenizer
    net = transformer.auto_model
    device = next(net.parameters()).device
    use_fp16 = (device.type == "cuda") if fp16 is None else (fp16 and device.type == "cuda")
    max_len = transformer.max_seq_length or 512
    order = np.argsort([-len(t) for t in texts], kind="stable")
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]

    def tokenize(idx: np.ndarray) -> dict[str, Any]:
        enc = tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        return {k: v.pin_memory() if device.type == "cuda" else v for k, v in enc.items()}

    out: np.ndarray | None = None
    net.eval()
    with ThreadPoolExecutor(max_workers=tokenize_threads) as pool, torch.inference_mode():
        pending: deque = deque()
        nxt = 0
        for idx in batches:
            while nxt < len(batches) and len(pending) < lookahead:
                pending.append(pool.submit(tokenize, batches[nxt]))
                nxt += 1
            enc = {k: v.to(device, non_blocking=True) for k, v in pending.popleft().result().items()}
            with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_fp16):
                hidden = net(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            emb = torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy()
            if out is None:
                out = np.empty((len(texts), emb.shape[1]), dtype=np.float32)
            out[idx] = emb
    assert out is not None
    return out
