"""select: labels, pass-rate difficulty, AM/AceReason selections, response filters, and REDI/DPO pairs.

Labels: correct → positive, incorrect → negative, truncated → truncated, unverifiable and error → unverifiable.
Nothing is dropped for its label. Traces are removed only by opt-in response filters (repetition loops, language
mixing, missing think tags, length caps), each with its reason and evidence in `removed`.

Pass rates are computed over every sample of a query (all teachers, before filters): pass = verdict correct;
the denominator is correct + incorrect + truncated (unverifiable/error samples say nothing about difficulty).
`cv` = std/mean of the scores (ddof configurable; null when the mean is 0, "hopeless" in DeepDistill's terms).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from typing import Any

import pyarrow as pa

from .. import records
from ..config.verify import PairsConfig, SelectConfig
from ..cot import filters as F
from ..stage import StageContext

VERSION = 1
LABEL = {"correct": "positive", "incorrect": "negative", "truncated": "truncated", "unverifiable": "unverifiable",
         "error": "unverifiable"}
DECIDED = ("correct", "incorrect", "truncated")


def cv(scores: list[float], ddof: int = 1) -> float | None:
    """Coefficient of variation std/mean; None when undefined (mean 0, or fewer than ddof+1 samples)."""
    n = len(scores)
    if n <= ddof:
        return None
    mu = sum(scores) / n
    if mu == 0:
        return None
    var = sum((x - mu) ** 2 for x in scores) / (n - ddof)
    return math.sqrt(var) / mu


def filter_reasons(row: dict, cfg: SelectConfig) -> list[tuple[str, dict]]:
    f = cfg.filters
    text = row.get("completion") or row.get("reasoning") or ""
    out = []
    if f.ngram_loop.enabled and (ev := F.ngram_loop(text, f.ngram_loop.n, f.ngram_loop.max_repeats)):
        out.append(("repetition_loop", ev))
    if f.language_mixing.enabled and (ev := F.language_mixing(text, f.language_mixing.max_ratio)):
        out.append(("language_mixing", ev))
    if f.think_tags.enabled and (ev := F.missing_think_tags(row.get("completion"), f.think_tags.open_tags,
                                                            f.think_tags.close_tags)):
        out.append(("missing_think_tags", ev))
    if f.length.enabled:
        tokens = row.get("completion_tokens") or row.get("reasoning_tokens")
        if ev := F.length(tokens, f.length.max_tokens, f.length.min_tokens):
            out.append(("length_cap", ev))
    return out


def _n_reconsiderations(row: dict) -> int:
    segs = row.get("segments") or []
    return sum(s["kind"] in ("approach", "verification") for s in segs)


def _length(row: dict) -> int:
    return row.get("completion_tokens") or len(row.get("completion") or row.get("reasoning") or "")


def _order(rows: list[dict], how: str, rng: random.Random, chosen: bool) -> list[dict]:
    rows = sorted(rows, key=lambda r: (r.get("sample_index") or 0, r["teacher"], r["trace_id"]))  # generation order
    if how == "first":
        return rows
    if how == "shortest":
        return sorted(rows, key=_length)
    if how == "longest":
        return sorted(rows, key=_length, reverse=True)
    if how == "highest_score":
        return sorted(rows, key=lambda r: -(r.get("score") or 0.0))
    if how == "most_confident":
        if not any(r.get("segments") for r in rows):
            from ..errors import UserError

            raise UserError("select.pairs.rejected 'most_confident' needs the segment stage (it ranks negatives by "
                            "fewest approaches + verification steps); enable `segment:` or pick another rule")
        return sorted(rows, key=_n_reconsiderations)
    rows = list(rows)
    rng.shuffle(rows)
    return rows


def make_pairs(rows: list[dict], cfg: PairsConfig) -> list[dict]:
    """Per query, chosen = positive, rejected = negative (truncated only when allowed), by the configured rules."""
    rng = random.Random(cfg.seed)
    by_q: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_q[r["query_id"]].append(r)
    neg_labels = {"negative", "truncated"} if cfg.truncated_as_negative else {"negative"}
    out = []
    for qid in sorted(by_q):
        rs = by_q[qid]
        pos = _order([r for r in rs if r["label"] == "positive"], cfg.chosen, rng, True)
        neg = _order([r for r in rs if r["label"] in neg_labels], cfg.rejected, rng, False)
        if not pos or not neg:
            continue
        used_c: set[str] = set()
        used_r: set[str] = set()
        n = 0
        for c in pos:
            for r in neg:
                if n >= cfg.per_query:
                    break
                if c["trace_id"] in used_c or r["trace_id"] in used_r:
                    continue
                if cfg.teachers == "same" and c["teacher"] != r["teacher"]:
                    continue
                if cfg.teachers == "cross" and c["teacher"] == r["teacher"]:
                    continue
                out.append({"query_id": qid, "chosen_trace_id": c["trace_id"], "rejected_trace_id": r["trace_id"],
                            "strategy": f"{cfg.chosen}/{cfg.rejected}/{cfg.teachers}",
                            "chosen_teacher": c["teacher"], "rejected_teacher": r["teacher"]})
                used_c.add(c["trace_id"])
                used_r.add(r["trace_id"])
                n += 1
                break
    return out


def label_rows(rows: list[dict], cfg: SelectConfig) -> None:
    """Adds label, pass_rate, difficulty, teacher_pass_rate, cv, rl_pool, am_selected in place."""
    by_q: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        r["label"] = LABEL.get(r.get("verdict") or "unverifiable", "unverifiable")
        by_q[r["query_id"]].append(r)
    am = cfg.am_selection
    for rs in by_q.values():
        decided = [r for r in rs if r.get("verdict") in DECIDED]
        pr = sum(r["verdict"] == "correct" for r in decided) / len(decided) if decided else None
        scores = [float(r["score"]) if r.get("score") is not None else 0.0 for r in decided]
        qcv = cv(scores, cfg.cv_ddof)
        per_t: dict[str, list[dict]] = defaultdict(list)
        for r in decided:
            per_t[r["teacher"]].append(r)
        for r in rs:
            r["pass_rate"] = pr
            r["difficulty"] = None if pr is None else 1 - pr
            td = per_t.get(r["teacher"])
            r["teacher_pass_rate"] = sum(x["verdict"] == "correct" for x in td) / len(td) if td else None
            r["cv"] = qcv
            r["rl_pool"] = None if pr is None else (0 < pr < 1)
            r["am_selected"] = None
        if am.enabled:
            acv = cv(scores, am.cv_ddof)
            best = max(scores) if scores else 0.0
            for r in rs:
                passing = r.get("score") is not None and float(r["score"]) > am.pass_threshold
                # stage I: hopeless queries go; unstable ones (CV > threshold) keep their passing responses
                r["am_selected"] = bool(best > am.pass_threshold and acv is not None and acv > am.cv_threshold
                                        and passing)


def run(ctx: StageContext) -> None:
    cfg: SelectConfig = ctx.config
    table = ctx.read("traces", records.SEGMENTED_TRACES)
    rows = table.to_pylist()
    label_rows(rows, cfg)
    kept, removed = [], []
    for r in rows:
        reasons = filter_reasons(r, cfg)
        if reasons:
            removed.append({"query_id": r["query_id"], "trace_id": r["trace_id"], "reason": reasons[0][0],
                            "source": r["teacher"],
                            "evidence": records.canonical_json({"filters": {k: v for k, v in reasons},
                                                                "label": r["label"]}),
                            "problem": r.get("completion")})
        else:
            kept.append(r)
    if removed:
        ctx.remove(removed)
    out = pa.Table.from_pylist(kept, schema=records.extend(table.schema, records.SELECT_COLUMNS)) if kept else \
        records.extend(table.schema, records.SELECT_COLUMNS).empty_table()
    ctx.write("traces", records.conform(out, records.SELECTED_TRACES))
    pairs = make_pairs(kept, cfg.pairs) if cfg.pairs.enabled else []
    ctx.write("pairs", pa.Table.from_pylist(pairs, schema=records.PAIRS) if pairs else records.PAIRS.empty_table())
    ctx.stats.update(select_stats(rows, kept, removed, pairs))


def select_stats(rows: list[dict], kept: list[dict], removed: list[dict], pairs: list[dict]) -> dict[str, Any]:
    labels: dict[str, int] = defaultdict(int)
    per_t: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in kept:
        labels[r["label"]] += 1
    for r in rows:
        per_t[r["teacher"]][r.get("verdict") or "none"] += 1
    queries = {r["query_id"]: r for r in rows}
    removed_by: dict[str, int] = defaultdict(int)
    for r in removed:
        removed_by[r["reason"]] += 1
    teacher = {}
    for t, c in sorted(per_t.items()):
        d = sum(c.get(k, 0) for k in DECIDED)
        teacher[t] = {"pass_rate": round(c.get("correct", 0) / d, 4) if d else None, "samples": sum(c.values())}
    return {
        "labels": dict(labels),
        "per_teacher": teacher,
        "queries": len(queries),
        "rl_pool_queries": sum(1 for r in queries.values() if r.get("rl_pool")),
        "unsolved_queries": sum(1 for r in queries.values() if r.get("pass_rate") == 0),
        "pairs": len(pairs),
        "removed_by_filter": dict(removed_by),
    }
