"""Optional: perplexity of each teacher's traces under one fixed reference LM (transformers, batched).

Only comparable across teachers under the same reference model and tokenizer (methods.md §4 pitfalls), so the
model name is stored next to the numbers. Texts are sorted by length before batching (less padding) and each is
cut to `max_tokens`; the per-text value is exp(mean token NLL) over the text's own tokens (padding masked).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl


def text_perplexities(texts: list[str], model_path: str, *, batch_size: int = 8, max_tokens: int = 1024,
                      device: str = "cpu") -> np.ndarray:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    tok.padding_side = "right"
    model = AutoModelForCausalLM.from_pretrained(model_path).to(device).eval()
    order = np.argsort([len(t) for t in texts])
    out = np.full(len(texts), np.nan, dtype=np.float64)
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            enc = tok([texts[j] or "" for j in idx], return_tensors="pt", padding=True, truncation=True,
                      max_length=max_tokens).to(device)
            logits = model(**enc).logits[:, :-1].float()
            target = enc["input_ids"][:, 1:]
            mask = enc["attention_mask"][:, 1:].float()
            nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), target, reduction="none")
            count = mask.sum(1)
            mean = (nll * mask).sum(1) / count.clamp(min=1)
            ppl = torch.exp(mean).cpu().numpy()
            ppl[count.cpu().numpy() == 0] = np.nan
            out[idx] = ppl
    return out


def teacher_perplexity(df: pl.DataFrame, model_path: str, *, text_col: str = "completion",
                       max_per_teacher: int = 200, batch_size: int = 8, max_tokens: int = 1024) -> dict[str, Any]:
    """Per-teacher mean/median perplexity over up to `max_per_teacher` traces (first by trace_id: deterministic)."""
    sample = (
        df.filter(pl.col(text_col).is_not_null() & (pl.col(text_col).str.len_chars() > 0))
        .sort("teacher", "trace_id")
        .with_columns(pl.int_range(pl.len()).over("teacher").alias("_r"))
        .filter(pl.col("_r") < max_per_teacher)
        .drop("_r")
    )
    ppl = text_perplexities(sample[text_col].to_list(), model_path, batch_size=batch_size, max_tokens=max_tokens)
    sample = sample.with_columns(pl.Series("ppl", ppl))
    by = sample.group_by("teacher").agg(
        pl.len().alias("n"), pl.col("ppl").mean().alias("ppl_mean"), pl.col("ppl").median().alias("ppl_median"),
        pl.col("ppl").quantile(0.9, interpolation="linear").alias("ppl_p90"),
    ).sort("teacher")
    return {"computed": True, "model": model_path, "max_tokens": max_tokens, "by_teacher": by,
            "values": sample.select("teacher", "trace_id", "ppl")}
