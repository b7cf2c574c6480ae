"""Replay teachers: traces that a dataset already holds (to audit or re-verify published data), no model run.

Formats:
- `flat`: one trace per row (`problem`, `response`, a model-name field, …), e.g. the bundled SkyThought outputs;
- `am`: AM-Thinking-v1-Distilled style `messages` (user turn = problem; assistant turn = completion, with
  `info.think_content` / `info.answer_content` / `info.model_name`);
- `openr1`: OpenR1-Math style parallel lists (`generations`, `finish_reasons`) for one problem per row.
The teacher name comes from the data (the model-name field) when there is one, else from the manifest entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.collect import FieldMap, SourceConfig
from ..config.distill import ReplayOptions, TeacherConfig
from ..sources.fields import get_field
from ..sources.readers import RawError, iter_source


@dataclass
class ReplayRow:
    teacher: str
    problem: str | None
    source_id: str | None
    completion: str
    reasoning: str | None
    answer: str | None
    finish_reason: str | None
    completion_tokens: int | None
    sampling: Any
    location: str
    generation_index: int = 0  # position inside an OpenR1 generation list
    mean_logprob: float | None = None  # teacher confidence, when the dataset has it (replay.mean_logprob)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _int(v: Any) -> int | None:
    try:
        return int(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _logprob(v: Any, field: str) -> float | None:
    """A stored mean log-probability, checked: a value above 0 is not one (a perplexity? a probability?)."""
    if v is None:
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"replay.mean_logprob field {field!r} holds {v!r}, not a number") from None
    if not x <= 0:  # also catches NaN
        raise ValueError(
            f"replay.mean_logprob field {field!r} holds {x}: a mean log-probability is ≤ 0 (is the "
            "field a perplexity or a probability?)"
        )
    return x


def _source(teacher: TeacherConfig) -> SourceConfig:
    r = teacher.replay
    assert r is not None
    return SourceConfig(name=teacher.name.replace("/", "_"), kind=r.kind, path=r.path, hf=r.hf, fields=FieldMap())


def _rows_am(row: dict[str, Any], r: ReplayOptions, default_teacher: str, loc: str) -> Iterator[ReplayRow]:
    msgs = row.get("messages") or []
    user = next((m for m in msgs if isinstance(m, dict) and m.get("role") == "user"), None)
    asst = next((m for m in reversed(msgs) if isinstance(m, dict) and m.get("role") == "assistant"), None)
    if user is None or asst is None:
        raise ValueError("AM row needs a user and an assistant message in `messages`")
    info = asst.get("info") or {}
    name = _text(info.get("model_name")) or (_text(get_field(row, r.teacher)) if r.teacher else None)
    yield ReplayRow(
        teacher=name or default_teacher,
        problem=_text(user.get("content")),
        source_id=_text(get_field(row, r.source_id)) if r.source_id else None,
        completion=_text(asst.get("content")) or "",
        reasoning=_text(info.get("think_content")),
        answer=_text(info.get("answer_content")),
        finish_reason=None,
        completion_tokens=None,
        sampling={k: info[k] for k in ("source", "verify_score") if k in info} or None,
        location=loc,
        mean_logprob=_logprob(_first(get_field(info, r.mean_logprob), get_field(row, r.mean_logprob)), r.mean_logprob)
        if r.mean_logprob
        else None,
    )


def _rows_openr1(row: dict[str, Any], r: ReplayOptions, default_teacher: str, loc: str) -> Iterator[ReplayRow]:
    field = r.completion if r.completion != "response" else "generations"
    gens = get_field(row, field)
    if not isinstance(gens, list):
        raise ValueError(f"OpenR1 row needs a list in {field!r}")  # noqa: TRY004 — caught as a bad row
    finish = get_field(row, r.finish_reason or "finish_reasons")
    name = (_text(get_field(row, r.teacher)) if r.teacher else None) or default_teacher
    lps = get_field(row, r.mean_logprob) if r.mean_logprob else None
    if lps is not None and not isinstance(lps, list):
        raise ValueError(
            f"OpenR1 row needs a list parallel to the generations in {r.mean_logprob!r} "  # noqa: TRY004 — caught as a bad row
            "(replay.mean_logprob)"
        )
    for i, g in enumerate(gens):
        if g is None:
            continue
        yield ReplayRow(
            teacher=name,
            problem=_text(get_field(row, r.problem)),
            source_id=_text(get_field(row, r.source_id)) if r.source_id else None,
            completion=_text(g) or "",
            reasoning=None,
            answer=None,
            finish_reason=_text(finish[i]) if isinstance(finish, list) and i < len(finish) else None,
            completion_tokens=None,
            sampling=get_field(row, r.sampling) if r.sampling else None,
            location=f"{loc}#generation={i}",
            generation_index=i,
            mean_logprob=_logprob(lps[i], r.mean_logprob) if lps is not None and i < len(lps) else None,
        )


def _rows_flat(row: dict[str, Any], r: ReplayOptions, default_teacher: str, loc: str) -> Iterator[ReplayRow]:
    completion = get_field(row, r.completion)
    if completion is None:
        raise ValueError(f"row has no {r.completion!r} field (replay.completion)")
    yield ReplayRow(
        teacher=(_text(get_field(row, r.teacher)) if r.teacher else None) or default_teacher,
        problem=_text(get_field(row, r.problem)),
        source_id=_text(get_field(row, r.source_id)) if r.source_id else None,
        completion=_text(completion) or "",
        reasoning=_text(get_field(row, r.reasoning)) if r.reasoning else None,
        answer=_text(get_field(row, r.answer)) if r.answer else None,
        finish_reason=_text(get_field(row, r.finish_reason)) if r.finish_reason else None,
        completion_tokens=_int(get_field(row, r.completion_tokens)) if r.completion_tokens else None,
        sampling=get_field(row, r.sampling) if r.sampling else None,
        location=loc,
        mean_logprob=_logprob(get_field(row, r.mean_logprob), r.mean_logprob) if r.mean_logprob else None,
    )


_FORMATS = {"flat": _rows_flat, "am": _rows_am, "openr1": _rows_openr1}


def iter_replay(teacher: TeacherConfig, base_dir: Path) -> Iterator[ReplayRow | tuple[str, str]]:
    """Every trace of the dataset, in file order, or `(location, problem)` for rows that cannot be read."""
    r = teacher.replay
    assert r is not None
    to_rows = _FORMATS[r.format]
    n = 0
    for loc, row in iter_source(_source(teacher), base_dir, batch_size=1024):
        if r.limit is not None and n >= r.limit:
            break
        n += 1
        if isinstance(row, RawError):
            yield (loc, f"{row.reason}: {row.detail}")
            continue
        try:
            for t in to_rows(row, r, teacher.name, loc):
                if r.models is None or t.teacher in r.models:
                    yield t
        except ValueError as e:
            yield (loc, str(e))
