"""Log-likelihood of texts under one fixed reference LM (transformers, batched, teacher-forced).

Two uses share the scorer: the audit's per-teacher perplexity (`audit.perplexity`), and
`select.pairs.confidence_model`, which scores a completion given its prompt for traces whose teacher reported no
logprobs. Perplexity is only comparable across teachers under the same reference model and tokenizer (methods.md §4
pitfalls), so the model name is stored next to the numbers. Sequences are sorted by length before batching (less
padding); the per-text value is the mean log-probability of the scored tokens (padding and prompt masked),
perplexity = exp(−that).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def load_lm(model_path: str, device: str = "cpu") -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    model = AutoModelForCausalLM.from_pretrained(model_path).to(device).eval()
    return tok, model


def mean_logprobs(
    model: Any, pad_id: int, seqs: list[list[int]], starts: list[int], *, batch_size: int = 8, device: str = "cpu"
) -> np.ndarray:
    """Mean log-probability of tokens `starts[i]:` of each id sequence given the tokens before them (NaN when no
    token is scored; position 0 never is: nothing predicts it)."""
    import torch

    out = np.full(len(seqs), np.nan, dtype=np.float64)
    order = np.argsort([len(s) for s in seqs], kind="stable")
    with torch.inference_mode():
        for i in range(0, len(seqs), batch_size):
            idx = order[i : i + batch_size]
            width = max(len(seqs[j]) for j in idx)
            if width < 2:
                continue
            ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(idx), width), dtype=torch.long)
            for k, j in enumerate(idx):
                ids[k, : len(seqs[j])] = torch.tensor(seqs[j], dtype=torch.long)
                mask[k, : len(seqs[j])] = 1
            ids, mask = ids.to(device), mask.to(device)
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
            lp = -torch.nn.functional.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
            first = torch.tensor([max(1, starts[j]) for j in idx], device=device)
            scored = (torch.arange(1, width, device=device)[None, :] >= first[:, None]) & (mask[:, 1:] > 0)
            count = scored.sum(1)
            mean = ((lp * scored).sum(1) / count.clamp(min=1)).cpu().numpy()
            mean[count.cpu().numpy() == 0] = np.nan
            out[idx] = mean
    return out


def text_perplexities(
    texts: list[str], model_path: str, *, batch_size: int = 8, max_tokens: int = 1024, device: str = "cpu"
) -> np.ndarray:
    """exp(mean token NLL) of each text (cut to `max_tokens`) over its own tokens."""
    tok, model = load_lm(model_path, device)
    seqs = [tok(t or "", truncation=True, max_length=max_tokens)["input_ids"] for t in texts]
    return np.exp(-mean_logprobs(model, tok.pad_token_id, seqs, [1] * len(seqs), batch_size=batch_size, device=device))


def completion_logprobs(
    prompts: list[list[dict[str, str]]],
    completions: list[str],
    model_path: str,
    *,
    batch_size: int = 4,
    max_tokens: int = 2048,
    device: str = "cpu",
) -> np.ndarray:
    """Mean token log-probability of each completion given its chat prompt (rendered with the model's chat
    template, or the turns joined by blank lines when it has none). When prompt + completion exceed `max_tokens`,
    the prompt keeps its last `max_tokens // 2` tokens and the completion is cut at the end."""
    tok, model = load_lm(model_path, device)
    templated = bool(getattr(tok, "chat_template", None))
    seqs, starts = [], []
    for msgs, completion in zip(prompts, completions):
        if templated:
            text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        else:
            text = "".join(m.get("content", "") + "\n\n" for m in msgs)
        p = tok(text, add_special_tokens=not templated)["input_ids"]
        c = tok(completion or "", add_special_tokens=False)["input_ids"]
        if len(p) + len(c) > max_tokens:
            p = p[-(max_tokens // 2) :] if len(p) > max_tokens // 2 else p
            c = c[: max_tokens - len(p)]
        seqs.append(p + c)
        starts.append(len(p))
    return mean_logprobs(model, tok.pad_token_id, seqs, starts, batch_size=batch_size, device=device)
