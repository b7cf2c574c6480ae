"""Response similarity (RSE, arXiv:2501.12619) between two models' answers to the same prompts.

The paper scores similarity with an LLM judge on a 1–5 scale at three granularities (response style, logical
structure, content detail). Without a judge, cotforge reports three deterministic **proxies**, each labelled so:
surface (ROUGE-L F1), embedding cosine (MiniLM sentence embeddings), and reasoning structure (the DLCoT
segmentation of both responses: the similarity of their part sequences — understanding, approaches, checks,
conclusion — by difflib's ratio, plus the approach and check counts side by side).
"""

from __future__ import annotations

import difflib
import re
from statistics import mean
from typing import Any, Callable

GRANULARITIES = ("response style", "logical structure", "content detail")
JUDGE_PROMPT = (
    "Compare a test response with a reference response to the same prompt and rate how similar they are on a "
    "1-5 scale (5 = indistinguishable) for each of: response style (tone, formatting, organization), logical "
    "structure (order and shape of the reasoning steps), content detail (the specific facts, examples, steps).\n\n"
    "Prompt:\n{prompt}\n\nReference response:\n{reference}\n\nTest response:\n{test}\n\n"
    "Answer exactly as: style=<1-5> structure=<1-5> content=<1-5>"
)


def rouge_l(a: list[str], b: list[str]) -> list[float]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return [scorer.score(x, y)["rougeL"].fmeasure for x, y in zip(a, b)]


def embedding_cosine(a: list[str], b: list[str], embedder: Any = None) -> list[float]:
    import numpy as np

    from curation.text.embeddings import Embedder

    emb = embedder or Embedder()
    va, vb = emb.encode(a), emb.encode(b)
    va = va / np.maximum(np.linalg.norm(va, axis=1, keepdims=True), 1e-12)
    vb = vb / np.maximum(np.linalg.norm(vb, axis=1, keepdims=True), 1e-12)
    return [float(x) for x in (va * vb).sum(axis=1)]


def structure(text: str, problem: str | None, segmenter: Any) -> list[str]:
    """The sequence of DLCoT parts, approaches numbered by order of appearance (checks keep their kind)."""
    return [s.kind for s in segmenter.segment(text, problem)]


def structure_similarity(
    a: list[str], b: list[str], problems: list[str | None], segmenter: Any = None
) -> tuple[list[float], list[dict[str, int]]]:
    if segmenter is None:
        from curation.cot.segment import HeuristicSegmenter

        segmenter = HeuristicSegmenter()
    sims, counts = [], []
    for x, y, p in zip(a, b, problems):
        sx, sy = structure(x, p, segmenter), structure(y, p, segmenter)
        sims.append(difflib.SequenceMatcher(a=sx, b=sy, autojunk=False).ratio() if sx or sy else 1.0)
        counts.append(
            {
                "approaches_a": sx.count("approach"),
                "approaches_b": sy.count("approach"),
                "checks_a": sx.count("check"),
                "checks_b": sy.count("check"),
            }
        )
    return sims, counts


def parse_judge(text: str) -> dict[str, int] | None:
    out = {}
    for key in ("style", "structure", "content"):
        m = re.search(rf"{key}\s*=\s*([1-5])", text)
        if m is None:
            return None
        out[key] = int(m.group(1))
    return out


def compare(
    prompts: list[str],
    reference: list[str],
    test: list[str],
    problems: list[str | None] | None = None,
    judge: Callable[[list[str]], list[str]] | None = None,
    embedder: Any = None,
) -> dict[str, Any]:
    """Proxies always; the 1–5 judge scores when a judge (prompts → answers) is given."""
    problems = problems or list(prompts)
    rl = rouge_l(reference, test)
    cos = embedding_cosine(reference, test, embedder)
    st, counts = structure_similarity(reference, test, problems)
    res: dict[str, Any] = {
        "n": len(prompts),
        "proxy_surface_rougeL": mean(rl),
        "proxy_embedding_cosine": mean(cos),
        "proxy_structure": mean(st),
        "note": "proxy_* are deterministic proxies, not the paper's LLM-judge similarity",
        "structure_counts": {k: mean(c[k] for c in counts) for k in counts[0]} if counts else {},
    }
    if judge is not None:
        answers = judge(
            [JUDGE_PROMPT.format(prompt=p, reference=r, test=t) for p, r, t in zip(prompts, reference, test)]
        )
        parsed = [parse_judge(a) for a in answers]
        ok = [p for p in parsed if p]
        res["judge"] = {
            "scored": len(ok),
            "unparsed": len(parsed) - len(ok),
            **({k: mean(p[k] for p in ok) for k in ("style", "structure", "content")} if ok else {}),
        }
        if ok:
            res["judge"]["overall"] = mean(mean(p.values()) for p in ok)
    return res
