"""Segment → approach verdicts → clusters → error spans → simplification → checks, batched over many traces.

Shared by the `segment` stage and `cotforge segment`; every expensive call (verifier, embedder, LLM) is made
once per batch, not per trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ..config.segment import SegmentConfig
from .answers import (
    ApproachVerdict,
    answer_fits,
    approach_answer,
    checked_answer,
    concluded_answer,
    not_final,
    question_ask,
    screen,
    settle,
)
from .cluster import embed, leader_clusters, llm_clusters
from .crf_segment import CRFSegmenter, ParallelSegmenter
from .llm_segment import LLMSegmenter
from .segment import HeuristicSegmenter, abandoned_approaches, approach_spans
from .simplify import apply_deletions, item_text, items_from_segments, plan
from .tokens import TokenCounter, get_counter
from .verify import check_pairs

Generate = Callable[[list[str]], list[str]]


@dataclass
class TraceIn:
    text: str | None
    problem: str | None = None
    reference: str | None = None
    correct: bool | None = None  # trace-level verdict; None = unknown (then checked here when a reference exists)
    answer: str | None = None  # the visible answer after the thinking part (for the final-answer check)


@dataclass
class TraceOut:
    segments: list[dict]
    simplified: str | None
    reasoning_tokens: int
    simplified_tokens: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Generators:
    segment: Generate | None = None
    cluster: Generate | None = None
    rewrite: Generate | None = None
    error_judge: Generate | None = None  # DLCoT label2: quoted calculation errors, cut by `full`


class DLCoT:
    def __init__(
        self,
        cfg: SegmentConfig | None = None,
        generators: Generators | None = None,
        counter: TokenCounter | None = None,
        checker=None,
    ):
        self.cfg = cfg or SegmentConfig()
        self.gen = generators or Generators()
        self.counter = counter or get_counter(self.cfg.tokenizer)
        self._check = checker or (lambda pairs: check_pairs(pairs, self.cfg.workers, self.cfg.timeout_ms))
        if self.cfg.segmenter == "llm":
            if self.gen.segment is None:
                raise ValueError("segmenter 'llm' needs a generate function")
            self.segmenter: Any = LLMSegmenter(self.gen.segment, retries=self.cfg.llm_retries)
        else:
            base = CRFSegmenter() if self.cfg.segmenter == "crf" else HeuristicSegmenter()
            self.segmenter = ParallelSegmenter(base, workers=self.cfg.workers)

    # -------------------------------------------------------------------------------------------------------
    def process(self, traces: list[TraceIn]) -> list[TraceOut]:
        cfg = self.cfg
        texts = [t.text or "" for t in traces]
        # 1. segmentation
        segs = self.segmenter.segment_many([(x, t.problem) for x, t in zip(texts, traces)])
        if isinstance(self.segmenter, LLMSegmenter):
            seg_infos = self.segmenter.infos
        else:
            seg_infos = [{"segmenter": self.segmenter.name} for _ in traces]
        # 2. trace-level verdicts where unknown, and approach verdicts (one verifier batch)
        verdicts: list[list[ApproachVerdict]] = []
        pairs: list[tuple[str, str]] = []
        owners: list[tuple[int, int]] = []  # (trace, approach idx) or (trace, -1) for trace-level
        for i, (t, s) in enumerate(zip(traces, segs)):
            aps = approach_spans(s)
            vs = (
                [
                    ApproachVerdict(
                        k, approach_answer("".join(texts[i][x.start : x.end] for x in v), t.problem), "incomplete"
                    )
                    for k, v in sorted(aps.items())
                ]
                if cfg.approach_verdicts
                else []
            )
            if vs and t.problem is not None:
                _conclude_last(vs[-1], aps[vs[-1].approach], s, texts[i], t)
            verdicts.append(vs)
            checkable = {id(v) for v in screen(vs, t.reference)}
            for j, v in enumerate(vs):
                if id(v) not in checkable:
                    continue
                if t.reference is None:
                    v.verdict = "unchecked"
                else:
                    pairs.append((t.reference, _pred(checked_answer(v, t.problem))))
                    owners.append((i, j))
            if t.reference is None:
                continue
            if t.correct is None and texts[i]:
                pairs.append((t.reference, _final_text(texts[i], t.answer)))
                owners.append((i, -1))
        trace_ok = [t.correct for t in traces]
        if pairs:
            results = self._check(pairs)
            for (i, j), ok in zip(owners, results):
                if j == -1:
                    trace_ok[i] = bool(ok)
                else:
                    settle(verdicts[i][j], bool(ok), abandoned_approaches(segs[i]))
        for s, vs in zip(segs, verdicts):
            by_k = {v.approach: v.verdict for v in vs}
            for x in s:
                if x.kind == "approach":
                    x.verdict = by_k.get(x.approach)
        # 3. clusters over approaches + verification steps
        all_items = [items_from_segments(s) for s in segs]
        if cfg.cluster != "none" and cfg.simplify.strategy != "none":
            self._cluster(texts, traces, all_items)
        else:
            for items in all_items:
                for it in items:
                    it.cluster = it.index
        eligible = [cfg.simplify.apply_to == "all" or ok is True for ok in trace_ok]
        # 3b. calculation-error spans of approaches (optional LLM judge)
        judged: list[dict] = [{} for _ in traces]
        if self.gen.error_judge is not None:
            judged = self._judge_errors(texts, traces, all_items, eligible)
        # 4. simplification plans
        outs: list[TraceOut] = []
        simplified: list[str | None] = []
        details_all: list[dict] = []
        for i, (t, s, items) in enumerate(zip(traces, segs, all_items)):
            labels = judged[i].get("labels", {})
            d: dict[str, Any] = {
                **seg_infos[i],
                "approaches": [
                    {
                        "approach": v.approach,
                        "answer": v.answer,
                        "verdict": v.verdict,
                        **({"note": v.note} if v.note else {}),
                        **({"stated_in": v.stated_in, "own_answer": v.own_answer} if v.stated_in != "approach" else {}),
                        **labels.get(v.approach, {}),
                    }
                    for v in verdicts[i]
                ],
                "items": [
                    {
                        "item": it.index,
                        "kind": it.kind,
                        "approach": it.approach,
                        "start": it.start,
                        "end": it.end,
                        "cluster": it.cluster,
                    }
                    for it in items
                ],
                "trace_correct": trace_ok[i],
                "strategy": cfg.simplify.strategy,
            }
            if judged[i]:
                d["error_judge"] = judged[i]["summary"]
            new_text = texts[i]
            if cfg.simplify.strategy == "none":
                d["simplified"] = False
                d["skipped"] = "strategy_none"
            elif not eligible[i]:
                d["simplified"] = False
                d["skipped"] = "trace_not_correct" if trace_ok[i] is False else "trace_unverified"
            else:
                p = plan(items, cfg.simplify.strategy, cfg.simplify.strength, cfg.simplify.k)
                d["removed"] = p.deletions
                d["trunk_end"] = p.trunk_end
                if p.skipped:
                    d["skipped"] = p.skipped
                new_text = apply_deletions(texts[i], p.deletions) if p.deletions else texts[i]
                d["simplified"] = bool(p.deletions)
            simplified.append(new_text)
            details_all.append(d)
        # 5. LLM rewrite (optional) and the final-answer check of every changed trace
        if cfg.simplify.rewrite == "llm" and self.gen.rewrite is not None:
            self._rewrite(texts, traces, simplified, details_all)
        changed = [i for i, (a, b) in enumerate(zip(texts, simplified)) if a != b]
        check_idx = [i for i in changed if traces[i].reference is not None]
        if check_idx:
            res = self._check([(traces[i].reference, _final_text(simplified[i], traces[i].answer)) for i in check_idx])
            for i, ok in zip(check_idx, res):
                details_all[i]["simplified_verifies"] = bool(ok)
                if not ok:
                    details_all[i]["fallback"] = "simplified_failed_verification"
                    details_all[i]["simplified"] = False
                    simplified[i] = texts[i]
        for i in changed:
            if traces[i].reference is None:
                details_all[i]["simplified_verifies"] = None
        # 6. token accounting
        before = self.counter.count(texts)
        after = self.counter.count(simplified)
        for i, t in enumerate(traces):
            details_all[i]["tokenizer"] = self.counter.name
            outs.append(
                TraceOut(
                    [x.to_dict() for x in segs[i]],
                    simplified[i] if t.text is not None else None,
                    before[i],
                    after[i],
                    details_all[i],
                )
            )
        return outs

    # -------------------------------------------------------------------------------------------------------
    def _cluster(self, texts, traces, all_items) -> None:
        cfg = self.cfg
        need = list(range(len(all_items)))
        if cfg.cluster == "llm" and self.gen.cluster is not None:
            need = []
            for i, items in enumerate(all_items):
                got = None
                if len(items) >= 2:
                    got = llm_clusters(
                        traces[i].problem or "", [item_text(texts[i], it) for it in items], self.gen.cluster
                    )
                if got is None and len(items) >= 2:
                    need.append(i)  # invalid LLM partition: embeddings decide
                for it, c in zip(items, got or [it.index for it in items]):
                    it.cluster = c
        flat = [_embed_text(item_text(texts[i], it)) for i in need for it in all_items[i]]
        if not flat:
            return
        emb = embed(flat, cfg.embedding_model)
        pos = 0
        for i in need:
            n = len(all_items[i])
            for it, c in zip(all_items[i], leader_clusters(emb[pos : pos + n], cfg.cluster_threshold)):
                it.cluster = c
            pos += n

    def _judge_errors(self, texts, traces, all_items, eligible) -> list[dict]:
        """Ask for the approaches of the traces a `full`/`keep_last_k` plan can change (eligible, with a correct
        approach); valid quotes become the items' `error_spans`. Per trace: {"labels": {approach: …}, "summary"}."""
        from .error_judge import Job, judge_errors

        out: list[dict] = [{} for _ in traces]
        jobs, owners = [], []
        for i, items in enumerate(all_items):
            approaches = [it for it in items if it.kind == "approach"]
            why = (
                "strategy_without_error_spans"
                if self.cfg.simplify.strategy not in ("full", "keep_last_k")
                else "trace_not_eligible"
                if not eligible[i]
                else "no_correct_approach"
                if not any(it.verdict == "correct" for it in approaches)
                else None
            )
            if why:
                out[i] = {"summary": {"skipped": why}}
                continue
            out[i] = {"labels": {}, "summary": {"asked": len(approaches), "erroneous": 0, "dropped": []}}
            for it in approaches:
                jobs.append(Job(traces[i].problem or "", texts[i], list(it.spans)))
                owners.append((i, it))
        results = judge_errors(jobs, self.gen.error_judge, self.cfg.llm_retries) if jobs else []
        for (i, it), res in zip(owners, results):
            summary = out[i]["summary"]
            if not res.ok:
                out[i]["labels"][it.approach] = {"calc_error": None, "error_judge_dropped": res.errors[-1]}
                summary["dropped"].append({"approach": it.approach, "attempts": res.attempts, "reasons": res.errors})
                continue
            lab = res.value
            out[i]["labels"][it.approach] = {
                "calc_error": lab.error,
                "error_quote": lab.quote,
                "error_span": list(lab.span) if lab.span else None,
                "error_reason": lab.reason,
            }
            if lab.span:
                it.error_spans = [lab.span]
                summary["erroneous"] += 1
        return out

    def _rewrite(self, texts, traces, simplified, details_all) -> None:
        idx = [i for i, d in enumerate(details_all) if d.get("removed")]
        prompts = [
            REWRITE_PROMPT.format(
                text=texts[i], parts="\n---\n".join(texts[i][r["start"] : r["end"]] for r in details_all[i]["removed"])
            )
            for i in idx
        ]
        replies = self.gen.rewrite(prompts) if prompts else []
        for i, reply in zip(idx, replies):
            why = rewrite_problem(texts[i], reply or "")
            if why:
                details_all[i]["rewrite"] = {"used": False, "reason": why}
                details_all[i]["fallback"] = "llm_rewrite_rejected"
                details_all[i]["simplified"] = False
                simplified[i] = texts[i]
            else:
                details_all[i]["rewrite"] = {"used": True}
                simplified[i] = reply


REWRITE_PROMPT = """Here is a piece of reasoning, followed by some passages taken from it. Delete exactly those \
passages from the reasoning. You may change a few connecting words so that the remaining text still reads \
naturally, but do not add any new reasoning, calculations or claims, and keep the final answer unchanged. Reply \
with the edited reasoning only.

Reasoning:
<<<
{text}
>>>

Passages to delete:
<<<
{parts}
>>>"""

_SENT = re.compile(r"(?<=[.!?])\s+|\n+")
_WS = re.compile(r"\s+")


def rewrite_problem(original: str, rewritten: str) -> str | None:
    """Why an LLM rewrite is rejected (None = accepted): must be shorter and add no new sentence."""
    if not rewritten.strip():
        return "empty"
    if len(rewritten) >= len(original):
        return "not_shorter"
    norm = _WS.sub(" ", original)
    for sent in _SENT.split(rewritten):
        s = _WS.sub(" ", sent).strip()
        if len(s) > 20 and s not in norm:
            return f"new_sentence: {s[:60]!r}"
    return None


def _conclude_last(v: ApproachVerdict, spans: list, segs: list, text: str, t: TraceIn) -> None:
    """The last approach's answer from the conclusion when the approach itself states none, or none of the kind
    the question asks ("x = -3" where it asks how many values): the conclusion after the last approach states
    that approach's result (`stated_in` = "conclusion"). A trace with one approach (short CoT) always concludes
    it, so there the conclusion's answer wins over the approach's last equation ("12" of "3(4) + 2b = 12")."""
    end = max(x.end for x in spans)
    if any(x.kind == "approach" and x.start >= end for x in segs):
        return
    ask = question_ask(t.problem)
    body = "".join(text[x.start : x.end] for x in spans)
    only = v.approach == 1 and not any(x.kind == "approach" and x.approach != 1 for x in segs)
    if not only and v.answer is not None and not not_final(v.answer, t.reference) and answer_fits(body, v.answer, ask):
        return
    got = concluded_answer(_final_text(text[end:], t.answer), ask)
    if got is not None and got != v.answer:
        v.own_answer, v.answer, v.stated_in = v.answer, got, "conclusion"


def _pred(answer: str) -> str:
    from .answers import as_prediction

    return as_prediction(answer)


def _final_text(reasoning: str, answer: str | None) -> str:
    return reasoning + ("\n\n" + answer if answer else "")


def _embed_text(t: str, max_chars: int = 1500) -> str:
    """Method similarity: the head of an item says how it goes about the problem."""
    return t.strip()[:max_chars]
