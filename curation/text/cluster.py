"""Clusters from verified similarity edges, without chaining.

Connected components alone chain: A~B and B~C merges A and C even when A and C differ (with templated queries,
"3+5" ~ "3+5 " ~ … drifts to a different problem). So each component is re-cut into stars: the best-ranked member
is the representative and only members that are themselves similar to it (above the threshold, checked directly,
not through the chain) join its cluster; the rest form further stars. Every cluster therefore has radius 1 around
its kept representative (diameter ≤ 2 verified hops).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def star_clusters(
    n: int,
    pairs: np.ndarray,
    rank: np.ndarray,
    sim_to: Callable[[int, np.ndarray], np.ndarray],
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (rep, sim): rep[i] = index of i's representative (itself when kept), sim[i] = similarity to it.

    `rank`: lower is better (the representative rule); `sim_to(center, members)` gives direct similarities."""
    rep = np.arange(n, dtype=np.int64)
    sim = np.ones(n, dtype=np.float32)
    if len(pairs) == 0:
        return rep, sim
    g = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(g, directed=False)
    order = np.lexsort((rank, label))  # by component, then by rank
    lab_sorted = label[order]
    bounds = np.flatnonzero(np.diff(lab_sorted)) + 1
    for members in np.split(order, bounds):
        if len(members) < 2:
            continue
        if len(members) == 2:  # the one edge was verified; the better-ranked one is kept
            a, b = members
            rep[b] = a
            sim[b] = sim_to(int(a), np.array([b]))[0]
            continue
        remaining = members  # already in rank order
        while len(remaining) > 1:
            center, rest = remaining[0], remaining[1:]
            s = sim_to(int(center), rest)
            join = s >= threshold
            rep[rest[join]] = center
            sim[rest[join]] = s[join]
            remaining = rest[~join]
    return rep, sim
