"""Distillation gain: generate k samples per problem, score them with cotforge's verifiers, report the statistics.

pass@1 is the mean over k samples with the REDI paper's standard error: one benchmark score per sample index j
(the j-th sample of every problem), then std(s_1..s_k, ddof=1) / √k. pass@k uses the unbiased estimator of
Chen et al. (2021). Gap recovered = (student − base) / (teacher − base), only when the teacher beats the base.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .benchmarks import Item


@dataclass
class Samples:
    """k generations per item, with what the engine said about each."""

    completions: list[list[str]]
    tokens: list[list[int]] = field(default_factory=list)
    finish: list[list[str | None]] = field(default_factory=list)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k) / C(n, k)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per problem, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass1_with_sem(correct: list[list[bool]]) -> tuple[float, float | None]:
    """Mean pass@1 over the k samples and its standard error across sample indices (None for k = 1)."""
    k = min(len(row) for row in correct)
    per_index = [sum(row[j] for row in correct) / len(correct) for j in range(k)]
    mean = sum(per_index) / k
    if k < 2:
        return mean, None
    var = sum((s - mean) ** 2 for s in per_index) / (k - 1)
    return mean, math.sqrt(var) / math.sqrt(k)


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def correctness(items: list[Item], samples: Samples, workers: int = 2) -> list[list[bool]]:
    """Verdict of every sample: math answers by `verifiers.math`, code by running the tests in `sandboxes`."""
    from sandboxes.reward import reward as code_reward
    from verifiers.math import verify_batch

    out: list[list[bool]] = [[False] * len(c) for c in samples.completions]
    math_pairs, math_at, code_comp, code_tests, code_at = [], [], [], [], []
    for i, (it, comps) in enumerate(zip(items, samples.completions)):
        for j, c in enumerate(comps):
            if it.domain == "math":
                math_pairs.append((it.answer or "", c))
                math_at.append((i, j))
            else:
                code_comp.append(c)
                code_tests.append(it.tests)
                code_at.append((i, j))
    if math_pairs:
        for (i, j), v in zip(math_at, verify_batch(math_pairs, workers=workers)):
            out[i][j] = bool(v.equivalent)
    if code_comp:
        for (i, j), r in zip(code_at, code_reward(code_comp, code_tests, workers=workers)):
            out[i][j] = bool(r)
    return out


def summarize(
    items: list[Item], samples: Samples, ks: tuple[int, ...] = (2, 4, 8, 16), workers: int = 2
) -> dict[str, Any]:
    correct = correctness(items, samples, workers)
    n = min(len(c) for c in samples.completions)
    mean, sem = pass1_with_sem(correct)
    res: dict[str, Any] = {
        "problems": len(items),
        "samples_per_problem": n,
        "pass@1": mean,
        "pass@1_sem": sem,
        "pass@1_wilson95": wilson(mean * len(items), len(items)),
    }
    for k in ks:
        if 1 < k <= n:
            res[f"pass@{k}"] = sum(pass_at_k(len(r), sum(r), k) for r in correct) / len(correct)
    toks = [t for row in samples.tokens for t in row if t is not None]
    res["mean_tokens"] = sum(toks) / len(toks) if toks else None
    fin = [f for row in samples.finish for f in row]
    res["truncation_rate"] = sum(f == "length" for f in fin) / len(fin) if fin else None
    res["per_problem"] = [{"id": it.id, "correct": sum(r), "n": len(r)} for it, r in zip(items, correct)]
    return res


def gap_recovered(base: float, student: float, teacher: float | None) -> float | None:
    """(student − base) / (teacher − base); None when there is no teacher or it does not beat the base."""
    if teacher is None or teacher <= base:
        return None
    return (student - base) / (teacher - base)


def score_in_process(
    model: Any,
    tokenizer: Any,
    items: list[Item],
    max_new_tokens: int = 512,
    prompt_template: str = "{problem}",
    batch_size: int = 8,
) -> dict[str, Any]:
    """Greedy accuracy of a model already in memory (the trainer's periodic evaluation)."""
    import torch

    comps, toks, fin = [], [], []
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    device = next(model.parameters()).device
    try:
        for b in range(0, len(items), batch_size):
            chunk = items[b : b + batch_size]
            prompts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": prompt_template.format(problem=it.problem)}],
                    add_generation_prompt=True,
                    tokenize=False,
                )
                for it in chunk
            ]
            enc = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
            with torch.inference_mode():
                out = model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                    eos_token_id=tokenizer.eos_token_id,
                )
            for row in out[:, enc["input_ids"].shape[1] :].tolist():
                cut = row.index(tokenizer.eos_token_id) if tokenizer.eos_token_id in row else None
                ids = row[:cut] if cut is not None else [t for t in row if t != tokenizer.pad_token_id]
                comps.append([tokenizer.decode(ids, skip_special_tokens=True)])
                toks.append([len(ids)])
                fin.append(["stop" if cut is not None else "length"])
    finally:
        tokenizer.padding_side = side
    res = summarize(items, Samples(comps, toks, fin), ks=())
    return {"accuracy": res["pass@1"], "mean_tokens": res["mean_tokens"], "truncation_rate": res["truncation_rate"]}
