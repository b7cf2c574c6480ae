"""DLCoT simplification as deletions of whole spans (arXiv:2503.16385 §simplification, methods.md §1).

Items are the approaches (all `approach` segments with one number) and the verification steps (each
`verification` segment), in text order, each with a cluster id (first member = leader) and, for approaches, a
verdict. The rules mark items (or quoted error spans) for deletion and name the rule; the simplified text is the
original with those spans cut, so it is exact and auditable. Question restatement, understanding and conclusion
are never deleted.

Strategies:
- redundancy_only: every non-leader member of every cluster goes (the authors' redundancy_deduction).
- full: trunk = approaches up to the first correct one; redundant members of trunk clusters go unless they are
  correct trunk approaches; after the trunk one item per cluster survives; wrong (incorrect/incomplete) approaches
  after the trunk go; quoted error spans are cut. Needs at least one correct approach (else nothing changes).
- keep_last_k: full, then of the surviving items after the trunk only the last k are kept.
Every strategy deletes the verification steps of an approach it deletes (`check_of_deleted`): a kept check of a
deleted approach refers to text that is gone.
`strength` < 1 keeps the earliest redundant members of each cluster and deletes only the latest share of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .segment import Segment


@dataclass
class Item:
    index: int  # position among items
    kind: str  # approach | verification
    approach: int | None
    spans: list[tuple[int, int]]
    verdict: str | None = None
    cluster: int = -1
    error_spans: list[tuple[int, int]] = field(default_factory=list)  # quoted calculation errors (optional judge)

    @property
    def start(self) -> int:
        return self.spans[0][0]

    @property
    def end(self) -> int:
        return self.spans[-1][1]


def items_from_segments(segments: list[Segment]) -> list[Item]:
    items: list[Item] = []
    by_approach: dict[int, Item] = {}
    for s in segments:
        if s.kind == "approach" and s.approach is not None:
            it = by_approach.get(s.approach)
            if it is None:
                it = Item(len(items), "approach", s.approach, [], s.verdict)
                by_approach[s.approach] = it
                items.append(it)
            it.spans.append((s.start, s.end))
        elif s.kind == "verification":
            items.append(Item(len(items), "verification", s.approach, [(s.start, s.end)], s.verdict))
    return items


def item_text(text: str, item: Item) -> str:
    return "".join(text[a:b] for a, b in item.spans)


@dataclass
class Plan:
    deletions: list[dict]  # {"start", "end", "rule", "item"}
    skipped: str | None = None  # why nothing could be done (e.g. no_correct_approach)
    trunk_end: int | None = None


def _redundant(items: list[Item], candidates: list[Item], strength: float) -> list[Item]:
    """Of the candidate redundant members, per cluster, the latest ceil(strength·n) ones."""
    by_cluster: dict[int, list[Item]] = {}
    for it in candidates:
        by_cluster.setdefault(it.cluster, []).append(it)
    out: list[Item] = []
    for members in by_cluster.values():
        members.sort(key=lambda x: x.index)
        n = math.ceil(strength * len(members) - 1e-9)
        out.extend(members[len(members) - n :] if n else [])
    return out


def plan(items: list[Item], strategy: str, strength: float = 1.0, k: int = 1) -> Plan:
    if strategy == "none" or not items:
        return Plan([])
    leaders = {it.cluster: it for it in sorted(items, key=lambda x: -x.index)}  # earliest wins
    dels: dict[int, str] = {}
    if strategy == "redundancy_only":
        cands = [it for it in items if leaders[it.cluster] is not it]
        for it in _redundant(items, cands, strength):
            dels[it.index] = "redundant"
        _with_dependents(items, dels)
        return _materialize(items, dels, None)

    approaches = [it for it in items if it.kind == "approach"]
    first_ok = next((it for it in approaches if it.verdict == "correct"), None)
    if first_ok is None:
        return Plan([], skipped="no_correct_approach")
    trunk_end = first_ok.end
    on_trunk = {it.index for it in items if it.start < trunk_end}
    trunk_approaches = [it for it in approaches if it.index in on_trunk]
    trunk_clusters = {it.cluster for it in trunk_approaches}
    cands: list[Item] = []
    for it in items:
        if leaders[it.cluster] is it:
            continue
        if it.cluster in trunk_clusters:
            if it.kind == "approach" and it.index in on_trunk and it.verdict == "correct":
                continue
            cands.append(it)
        elif it.index not in on_trunk:
            cands.append(it)
    for it in _redundant(items, cands, strength):
        dels[it.index] = "redundant_trunk_cluster" if it.cluster in trunk_clusters else "redundant_after_trunk"
    for it in approaches:
        if it.index not in on_trunk and it.verdict in ("incorrect", "incomplete") and it.index not in dels:
            dels[it.index] = "wrong_off_trunk"
    _with_dependents(items, dels)
    if strategy == "keep_last_k":
        post = [it for it in items if it.index not in on_trunk and it.index not in dels]
        for it in post[: max(0, len(post) - k)]:
            dels[it.index] = "keep_last_k"
    _with_dependents(items, dels)
    p = _materialize(items, dels, trunk_end)
    for it in items:  # error spans of surviving items (trunk, or off-trunk correct ones)
        if it.index not in dels:
            for a, b in it.error_spans:
                p.deletions.append({"start": a, "end": b, "rule": "error_span", "item": it.index})
    p.deletions.sort(key=lambda d: d["start"])
    return p


def _with_dependents(items: list[Item], dels: dict[int, str]) -> None:
    """A check of a deleted approach goes with it: kept, it would refer to reasoning that is no longer there
    ("f''(x) = -8" with no f'(x) anywhere). Nothing kept may depend on a deleted span."""
    gone = {it.approach for it in items if it.kind == "approach" and it.index in dels}
    for it in items:
        if it.kind == "verification" and it.approach in gone and it.index not in dels:
            dels[it.index] = "check_of_deleted"


def _materialize(items: list[Item], dels: dict[int, str], trunk_end: int | None) -> Plan:
    out = []
    for it in items:
        rule = dels.get(it.index)
        if rule:
            for a, b in it.spans:
                out.append({"start": a, "end": b, "rule": rule, "item": it.index})
    out.sort(key=lambda d: d["start"])
    return Plan(out, trunk_end=trunk_end)


def apply_deletions(text: str, deletions: list[dict]) -> str:
    """The text with the spans cut (overlaps merged)."""
    spans = sorted((d["start"], d["end"]) for d in deletions)
    out, pos = [], 0
    for a, b in spans:
        if a > pos:
            out.append(text[pos:a])
        pos = max(pos, b)
    out.append(text[pos:])
    return "".join(out)
