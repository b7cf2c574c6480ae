"""Agreement of a segmentation with hand labels: boundary precision/recall/F1 and approach-verdict accuracy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PRF:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, pred: set, gold: set) -> None:
        self.tp += len(pred & gold)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)


def boundary_sets(segments: list[dict], with_kind: bool = False) -> set:
    """Segment starts after the first (a boundary is where one part ends and the next begins)."""
    return {(s["start"], s["kind"]) if with_kind else s["start"] for s in segments[1:]}


def approach_of_gold(pred: list[dict], gold_seg: dict) -> int | None:
    """The predicted approach that overlaps a gold approach span most."""
    best, best_ov = None, 0
    for s in pred:
        if s["kind"] != "approach":
            continue
        ov = min(s["end"], gold_seg["end"]) - max(s["start"], gold_seg["start"])
        if ov > best_ov:
            best, best_ov = s["approach"], ov
    return best
