"""select: labels, pass-rate difficulty, AM/AceReason selections, response filters, and REDI/DPO pairs.

Labels: correct → positive, incorrect → negative, truncated → truncated, unverifiable and error → unverifiable.
Nothing is dropped for its label. Traces are removed only by opt-in response filters (repetition loops, language
mixing, missing think tags, length caps), each with its reason and evidence in `removed`.

Pass rates are computed over every sample of a query (all teachers, before filters): pass = verdict correct;
the denominator is correct + incorrect + truncated (unverifiable/error samples say nothing about difficulty).
`cv` = std/mean of the scores (ddof configurable; null when the mean is 0, "hopeless" in DeepDistill's terms).

Pairs: `rejected: most_confident` is the hardest negative in the confidence sense: the wrong trace the teacher
wrote with the highest mean token logprob (`traces.mean_logprob`, recorded at distill time when asked for), or,
where a query's negatives lack it, as scored by `pairs.confidence_model`.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from .. import records
from ..config.select import PairsConfig, SelectConfig
from ..cot import filters as F
from ..errors import UserError
from ..stage import StageContext

LABEL = {
    "correct": "positive",
    "incorrect": "negative",
    "truncated": "truncated",
    "unverifiable": "unverifiable",
    "error": "unverifiable",
}
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
    if f.think_tags.enabled and (
        ev := F.missing_think_tags(row.get("completion"), f.think_tags.open_tags, f.think_tags.close_tags)
    ):
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


def _order(rows: list[dict], how: str, rng: random.Random, confidence: dict[str, float]) -> list[dict]:
    rows = sorted(rows, key=lambda r: (r.get("sample_index") or 0, r["teacher"], r["trace_id"]))  # generation order
    if how == "first":
        return rows
    if how == "shortest":
        return sorted(rows, key=_length)
    if how == "longest":
        return sorted(rows, key=_length, reverse=True)
    if how == "highest_score":
        return sorted(rows, key=lambda r: -(r.get("score") or 0.0))
    if how == "most_confident":  # highest mean token logprob first; unscored ones last, in generation order
        return sorted(rows, key=lambda r: (r["trace_id"] not in confidence, -confidence.get(r["trace_id"], 0.0)))
    if how == "fewest_reconsiderations":
        if not any(r.get("segments") for r in rows):
            raise UserError(
                "select.pairs.rejected 'fewest_reconsiderations' ranks negatives by their approach + "
                "verification segments, which the segment stage writes; enable `segment:` or pick "
                "another rule"
            )
        return sorted(rows, key=_n_reconsiderations)
    rows = list(rows)
    rng.shuffle(rows)
    return rows


def confident_negative(row: dict, two_checks: bool = False) -> bool:
    """An `incorrect` trace that is a real negative: its final answer was found and compared, and differs from the
    reference (not "no answer found" or an unparseable one: a missed answer may well be right, and REDI pushes
    every negative down). two_checks: an independent verifier (`verify.second_check`) must also call it wrong."""
    if row.get("verdict") != "incorrect":
        return False
    verifier = row.get("verifier") or ""
    details = row.get("verify_details") or {}
    if isinstance(details, str):
        details = json.loads(details) if details else {}
    if verifier.startswith("verifiers.math"):
        if (
            details.get("status") != "ok"
            or details.get("equivalent") is not False
            or not (details.get("extracted_pred") or "").strip()
        ):
            return False
    elif verifier == "sandboxes:no_code":
        return False
    if two_checks:
        second = details.get("second_check") or {}
        return second.get("equivalent") is False
    return True


def _negative_ok(row: dict, cfg: PairsConfig) -> bool:
    if row["label"] == "truncated":
        return cfg.truncated_as_negative
    if row["label"] != "negative":
        return False
    return cfg.negatives == "any" or confident_negative(row, two_checks=cfg.negatives == "two_checks")


def _by_query(rows: list[dict]) -> dict[str, list[dict]]:
    by_q: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_q[r["query_id"]].append(r)
    return by_q


def _scored_text(row: dict) -> str:
    """The completion as the teacher wrote it (servers that split reasoning out return it separately)."""
    completion, reasoning = row.get("completion") or "", row.get("reasoning")
    if reasoning and reasoning not in completion:
        return f"<think>{reasoning}</think>{completion}"
    return completion


def confidences(rows: list[dict], cfg: PairsConfig, model: Path | None = None) -> tuple[dict[str, float], dict]:
    """trace_id → the confidence `most_confident` ranks by, for the candidate negatives of every query that has a
    positive, with how each query was scored.

    A query uses the teacher's `mean_logprob` when all its negatives have one; otherwise, with a confidence model,
    the model scores all of them (one scale per query: teacher and reference-model logprobs are not comparable);
    without one, the negatives that have a value come first. No value on any candidate is an error, not a silent
    fall back to generation order."""
    conf: dict[str, float] = {}
    to_score: list[dict] = []
    stats = {"candidates": 0, "teacher_queries": 0, "model_queries": 0, "partial_queries": 0}
    for rs in _by_query(rows).values():
        negs = [r for r in rs if _negative_ok(r, cfg)]
        if not negs or not any(r["label"] == "positive" for r in rs):
            continue
        stats["candidates"] += len(negs)
        have = {r["trace_id"]: float(r["mean_logprob"]) for r in negs if r.get("mean_logprob") is not None}
        if len(have) == len(negs):
            conf.update(have)
            stats["teacher_queries"] += 1
        elif model is not None:
            to_score.extend(negs)
            stats["model_queries"] += 1
        else:
            conf.update(have)
            stats["partial_queries"] += 1
    if stats["candidates"] and not conf and not to_score:
        raise UserError(
            f"select.pairs.rejected 'most_confident' ranks negatives by the teacher's mean token logprob, but none "
            f"of the {stats['candidates']} candidate negatives has one (traces.mean_logprob is null). Set "
            "`logprobs: true` on the teachers (`teachers[].logprobs`; a replayed dataset: `replay.mean_logprob`) "
            "and re-run distill, or set `select.pairs.confidence_model` to a local transformers causal-LM folder "
            "that scores them, or pick another rule (first, longest, fewest_reconsiderations, …)"
        )
    if to_score:
        scores = _model_scores(to_score, cfg, model)
        conf.update({r["trace_id"]: float(v) for r, v in zip(to_score, scores) if math.isfinite(v)})
        stats.update(model=str(model), model_scored=len(to_score))
    return conf, stats


def _model_scores(rows: list[dict], cfg: PairsConfig, model: Path | None) -> Any:
    import torch

    from ..text.lm_scoring import completion_logprobs

    assert model is not None
    if not model.exists():
        raise UserError(
            f"select.pairs.confidence_model: folder {model} does not exist (relative paths resolve "
            "from the manifest's folder)"
        )
    prompts = [json.loads(r.get("messages") or "[]") for r in rows]
    try:
        return completion_logprobs(
            prompts,
            [_scored_text(r) for r in rows],
            str(model),
            batch_size=cfg.confidence_batch_size,
            max_tokens=cfg.confidence_max_tokens,
            device="cuda" if torch.cuda.is_available() else "cpu",
        )
    except OSError as e:
        raise UserError(f"select.pairs.confidence_model: cannot load {model} with transformers: {e}") from e


def make_pairs(rows: list[dict], cfg: PairsConfig, confidence: dict[str, float] | None = None) -> list[dict]:
    """Per query, chosen = positive, rejected = a confident negative (`pairs.negatives`; truncated only when
    allowed), by the configured rules.

    `confidence` (from `confidences`) is what `most_confident` ranks by; by default the teachers' mean_logprob."""
    if cfg.rejected == "most_confident" and confidence is None:
        confidence, _ = confidences(rows, cfg)
    rng = random.Random(cfg.seed)
    by_q = _by_query(rows)
    out = []
    for qid in sorted(by_q):
        rs = by_q[qid]
        pos = _order([r for r in rs if r["label"] == "positive"], cfg.chosen, rng, {})
        neg = _order([r for r in rs if _negative_ok(r, cfg)], cfg.rejected, rng, confidence or {})
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
                out.append(
                    {
                        "query_id": qid,
                        "chosen_trace_id": c["trace_id"],
                        "rejected_trace_id": r["trace_id"],
                        "strategy": f"{cfg.chosen}/{cfg.rejected}/{cfg.teachers}",
                        "chosen_teacher": c["teacher"],
                        "rejected_teacher": r["teacher"],
                    }
                )
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
                r["am_selected"] = bool(
                    best > am.pass_threshold and acv is not None and acv > am.cv_threshold and passing
                )


def run(ctx: StageContext) -> None:
    cfg: SelectConfig = ctx.config
    table = ctx.read("traces", records.SEGMENTED_TRACES)
    rows = table.to_pylist()
    label_rows(rows, cfg)
    kept, removed = [], []
    for r in rows:
        reasons = filter_reasons(r, cfg)
        if reasons:
            removed.append(
                {
                    "query_id": r["query_id"],
                    "trace_id": r["trace_id"],
                    "reason": reasons[0][0],
                    "source": r["teacher"],
                    "evidence": records.canonical_json({"filters": {k: v for k, v in reasons}, "label": r["label"]}),
                    "problem": r.get("completion"),
                }
            )
        else:
            kept.append(r)
    if removed:
        ctx.remove(removed)
    out = (
        pa.Table.from_pylist(kept, schema=records.extend(table.schema, records.SELECT_COLUMNS))
        if kept
        else records.extend(table.schema, records.SELECT_COLUMNS).empty_table()
    )
    ctx.write("traces", records.conform(out, records.SELECTED_TRACES))
    pairs = _pairs(ctx, kept, cfg.pairs) if cfg.pairs.enabled else []
    ctx.write("pairs", pa.Table.from_pylist(pairs, schema=records.PAIRS) if pairs else records.PAIRS.empty_table())
    ctx.stats.update(select_stats(rows, kept, removed, pairs))


def _pairs(ctx: StageContext, kept: list[dict], cfg: PairsConfig) -> list[dict]:
    confidence = None
    if cfg.rejected == "most_confident":
        model = ctx.manifest.resolve(cfg.confidence_model) if cfg.confidence_model else None
        confidence, stats = confidences(kept, cfg, model)
        ctx.stats["confidence"] = stats
        if stats["partial_queries"]:
            ctx.log(
                f"[yellow]select.pairs most_confident: in {stats['partial_queries']} queries some negatives "
                "have no mean_logprob and are ranked last (set select.pairs.confidence_model to score them)[/]"
            )
    return make_pairs(kept, cfg, confidence)


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
