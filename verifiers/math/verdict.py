"""The structured result every verifier entry point returns (one shape for API, CLI, reward and workers)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Optional

Status = Literal["ok", "no_answer", "parse_error", "timeout", "too_large", "error", "wrong_form"]
STATUSES = ("ok", "no_answer", "parse_error", "timeout", "too_large", "error", "wrong_form")


@dataclass
class Verdict:
    """`equivalent` is True/False when a comparison was made, None when it could not be (never True on failure)."""

    equivalent: Optional[bool]
    status: Status = "ok"
    extracted_gold: Optional[str] = None
    extracted_pred: Optional[str] = None
    method: str = ""
    pred_source: str = ""  # where in the prediction the answer came from (boxed, final_answer, ...)
    pred_span: Optional[tuple[int, int]] = None  # character offsets in the raw prediction
    detail: str = ""
    elapsed_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status != "ok" and self.equivalent:
            # Safety invariant: a failed or partial verification never counts as a match.
            self.equivalent = None

    @property
    def extracted(self) -> dict[str, Optional[str]]:
        return {"gold": self.extracted_gold, "prediction": self.extracted_pred}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pred_span"] = list(self.pred_span) if self.pred_span else None
        d.pop("extra", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Verdict":
        d = dict(d)
        if d.get("pred_span") is not None:
            d["pred_span"] = tuple(d["pred_span"])
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)
