"""Long⊗Short thought chunking and Monte-Carlo importance (arXiv:2505.11827, methods.md §5).

Chunks: the DLCoT segments merged into at most `max_chunks` consecutive blocks (verbatim spans). Importance:
from each prefix P_i = problem + chunks 1..i, K continuations are sampled by a live teacher and verified;
acc_i = share correct; e_i = acc_i − acc_{i−1}; c_i = token share of chunk i; s_i = e_i / (|e_i| + c_i).
The formula is cotforge's own (the paper's exact metric was not available) and is named in the output
("cotforge-v1").
"""

from __future__ import annotations

from typing import Callable, Sequence

from .segment import Segment

Generate = Callable[[list[str]], list[str]]
FORMULA = "cotforge-v1: s_i = e_i / (|e_i| + c_i), e_i = acc_i - acc_{i-1}, c_i = token share"

CONTINUE_PROMPT = """Solve the problem. Part of the reasoning is already written; continue it from where it stops \
and finish with the final answer in \\boxed{{}}.

Problem:
{problem}

Reasoning so far:
{prefix}"""


def chunk_spans(segments: Sequence[Segment], max_chunks: int = 10) -> list[tuple[int, int]]:
    """Consecutive blocks from segments; the smallest neighbours are merged until at most max_chunks remain."""
    spans = [(s.start, s.end) for s in segments]
    while len(spans) > max_chunks:
        sizes = [spans[i + 1][1] - spans[i][0] for i in range(len(spans) - 1)]
        i = min(range(len(sizes)), key=sizes.__getitem__)
        spans[i : i + 2] = [(spans[i][0], spans[i + 1][1])]
    return spans


def importance(
    problem: str,
    text: str,
    spans: list[tuple[int, int]],
    generate: Generate,
    check: Callable[[list[str]], list[bool | None]],
    k: int = 8,
    token_counts: list[int] | None = None,
) -> dict:
    """Per-chunk acc, e, c, s. `check(continuations) -> correct?`; `generate` is called once for all prefixes."""
    prefixes = [text[: spans[i - 1][1]] if i else "" for i in range(len(spans) + 1)]
    prompts = [CONTINUE_PROMPT.format(problem=problem, prefix=p) for p in prefixes for _ in range(k)]
    replies = generate(prompts)
    # Only the continuation's own final answer counts: an interim answer already in the prefix must not make a
    # rollout that never reached an answer look correct.
    oks = check(list(replies))
    acc = [sum(bool(x) for x in oks[i * k : (i + 1) * k]) / k for i in range(len(prefixes))]
    sizes = token_counts or [b - a for a, b in spans]
    total = sum(sizes) or 1
    chunks = []
    for i, (a, b) in enumerate(spans):
        e = acc[i + 1] - acc[i]
        c = sizes[i] / total
        chunks.append(
            {
                "start": a,
                "end": b,
                "acc": acc[i + 1],
                "e": e,
                "c": round(c, 4),
                "s": round(e / (abs(e) + c), 4) if (abs(e) + c) > 0 else 0.0,
            }
        )
    return {"formula": FORMULA, "k": k, "acc_prefix0": acc[0], "chunks": chunks}
