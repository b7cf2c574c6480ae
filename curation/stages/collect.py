"""collect: stream every source, map fields into the queries schema, normalize, validate.

Invalid rows go to `removed` with the reason and their file:line / row, never on the floor. Work is written in
keyed parts (source, batch), so a killed run resumes at the first unwritten batch.
"""

from __future__ import annotations

import json
from itertools import islice
from typing import Any, Iterator

import pyarrow as pa

from .. import records
from ..config.collect import SourceConfig
from ..manifest import Manifest
from ..sources.fields import get_field
from ..sources.readers import RawError, iter_source
from ..sources.tests_format import TestsFormatError, normalize_tests
from ..stage import StageContext
from ..text.basic import normalize_text


def enabled(manifest: Manifest) -> bool:
    return True


def fingerprint_config(manifest: Manifest) -> Any:
    return {
        "sources": [s.model_dump(mode="json") for s in manifest.sources],
        "collect": manifest.collect.model_dump(mode="json"),
        "needs_answers": needs_answers(manifest),
    }


def needs_answers(manifest: Manifest) -> bool:
    mode = manifest.collect.require_reference_answer
    if mode == "auto":
        return manifest.verify is not None and manifest.verify.enabled
    return mode == "always"


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else str(value)
    value = value.strip()
    return value or None


def to_query(row: dict[str, Any], source: SourceConfig, nfkc: bool, require_answer: bool) -> dict[str, Any]:
    """One raw row → a queries row, or raise ValueError(reason, detail) for `removed`."""
    f = source.fields
    raw_problem = get_field(row, f.problem)
    if raw_problem is not None and not isinstance(raw_problem, str):
        raise ValueError("invalid_problem", f"field {f.problem!r} is {type(raw_problem).__name__}, not text")
    problem = normalize_text(raw_problem or "", nfkc=nfkc)
    if not problem:
        raise ValueError("empty_problem", f"field {f.problem!r} is missing or empty")
    domain = _as_text(get_field(row, f.domain)) if f.domain else None
    if domain not in records.DOMAINS:
        domain = source.domain
    answer = _as_text(get_field(row, f.reference_answer))
    if answer is not None and nfkc:
        answer = normalize_text(answer)
    tests = None
    raw_tests = get_field(row, f.tests)
    if raw_tests is not None:
        try:
            tests = normalize_tests(
                raw_tests,
                source.tests_format,
                setup=_as_text(get_field(row, source.test_setup_field)),
                entry_point=_as_text(get_field(row, source.entry_point_field)),
            )
        except TestsFormatError as e:
            raise ValueError("invalid_tests", str(e)) from None
    if require_answer and domain == "math" and answer is None:
        raise ValueError("missing_reference_answer", f"math query without {f.reference_answer!r}; verify needs one")
    if require_answer and domain == "code" and tests is None:
        raise ValueError("missing_tests", f"code query without tests ({f.tests!r}); verify needs them")
    metadata = {k: get_field(row, k) for k in f.metadata}
    if source.license:
        metadata["license"] = source.license
    return {
        "query_id": records.query_id(problem),
        "problem": problem,
        "domain": domain,
        "source": source.name,
        "source_id": _as_text(get_field(row, f.source_id)),
        "reference_answer": answer,
        "tests": tests,
        "metadata": records.canonical_json(metadata) if metadata else "{}",  # the same text, without json.dumps
    }


def _batches(it: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(islice(it, size)):
        yield batch


def run(ctx: StageContext) -> None:
    manifest = ctx.manifest
    cfg = manifest.collect
    require = needs_answers(manifest)
    per_source: dict[str, dict[str, int]] = {}
    with ctx.progress("reading sources") as advance:
        for si, source in enumerate(manifest.sources):
            counts = per_source.setdefault(source.name, {"read": 0, "kept": 0, "removed": 0})
            rows = iter_source(source, manifest.base_dir, cfg.batch_size)
            if source.limit is not None:
                rows = islice(rows, source.limit)
            for bi, batch in enumerate(_batches(rows, cfg.batch_size)):
                key = f"{si:03d}-{bi:06d}"
                counts["read"] += len(batch)
                advance(len(batch))
                if ctx.has_part("queries", key) and ctx.has_part("removed", key):
                    counts["kept"] += ctx.store.count_part(ctx.name, "queries", key)
                    counts["removed"] += ctx.store.count_part(ctx.name, "removed", key)
                    continue
                kept, removed = [], []
                for loc, row in batch:
                    if isinstance(row, RawError):
                        removed.append(
                            {
                                "reason": row.reason,
                                "source": source.name,
                                "location": loc,
                                "evidence": records.canonical_json({"detail": row.detail}),
                                "problem": row.raw,
                            }
                        )
                        continue
                    try:
                        kept.append(to_query(row, source, cfg.nfkc, require))
                    except ValueError as e:
                        reason, detail = e.args if len(e.args) == 2 else ("invalid", str(e))
                        problem = get_field(row, source.fields.problem)
                        removed.append(
                            {
                                "reason": reason,
                                "source": source.name,
                                "location": loc,
                                "evidence": records.canonical_json({"detail": detail}),
                                "problem": problem if isinstance(problem, str) else None,
                            }
                        )
                counts["kept"] += len(kept)
                counts["removed"] += len(removed)
                # queries first, removed last: the pair of keyed parts marks the batch done.
                ctx.write("queries", pa.Table.from_pylist(kept, schema=records.QUERIES), key=key)
                ctx.remove(removed, key=key)
            if counts["read"] == 0:
                ctx.log(f"[yellow]source {source.name!r} yielded no rows[/]")
    ctx.stats["sources"] = per_source
