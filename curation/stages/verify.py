"""verify: label every trace correct | incorrect | unverifiable | truncated | error, with the evidence.

- math → `verifiers.math.verify_batch` against the query's `reference_answer` (the visible answer after the
  thinking part, else the whole completion);
- code → the last fenced code block of the answer, run by `sandboxes` against the query's `tests`;
  score = pass fraction (AM's verify_score), correct only when all tests pass;
- anything else → with `judge_teacher`, an LLM judge (`verifiers.judge`) says whether the visible answer agrees
  with the query's `reference_answer` (score 1/0; the judge's reason in `verify_details`; a reply that stays
  unparseable after the retries is an `error` with the raw reply kept); without a reference answer, or without a
  judge, `unverifiable`. Judge answers live in the stage's request cache, so a re-run asks nothing twice; a batch
  whose judge requests failed is not written, and the stage fails after the other batches (re-run to retry).
Truncated traces (finish_reason "length", or, when the source gives no finish reason, text that stops mid-sentence,
mid-formula or inside unclosed thinking: `verifiers.cutoff`) are verified too, but labelled `truncated`; what the
verifier said is kept in `verify_details.underlying`, the evidence in `verify_details.cutoff`. Traces that failed to generate are `error`. Nothing is removed here.
Work goes in keyed parts of `batch_size` traces (`ctx.map_batches`), so a killed run resumes at the first
unwritten batch.
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

# The RL code reward (`sandboxes.reward`) uses the same extractor, so both grade the same block of a completion.
from sandboxes.extract import extract_code

from .. import records
from ..config.verify import VerifyConfig
from ..stage import StageContext

RAW_REPLY_CHARS = 2000  # of an unusable judge reply, kept in verify_details


def _visible(row: dict[str, Any]) -> str:
    """What the verifier reads: the answer after the thinking part, else the whole completion."""
    ans = row.get("answer")
    if ans and ans.strip():
        return ans
    return row.get("completion") or row.get("reasoning") or ""


def _code_of(row: dict[str, Any], language: str) -> str | None:
    """The block to run: from the visible answer, else from the whole completion (`sandboxes.extract`)."""
    return extract_code(row.get("completion") or row.get("reasoning") or "", language, answer=row.get("answer"))


def _math_rows(rows: list[dict], idx: list[int], cfg: VerifyConfig) -> dict[int, dict]:
    from verifiers.math import verify_batch

    pairs = [(rows[i]["_reference"], _visible(rows[i])) for i in idx]
    verdicts = verify_batch(pairs, workers=cfg.workers, timeout_ms=cfg.timeout_ms) if pairs else []
    out = {}
    for i, v in zip(idx, verdicts):
        _check_against_problem(v, rows[i].get("_problem"), rows[i]["_reference"])
        if v.equivalent is True:
            verdict = "correct"
        elif v.equivalent is False or v.status in ("no_answer", "parse_error", "wrong_form"):
            verdict = "incorrect"  # no, unparseable or ill-formed final answer: the trace failed the task
        else:
            verdict = "error"  # timeout / too_large / verifier error: undecided, not a negative
        out[i] = {
            "verdict": verdict,
            "extracted_answer": v.extracted_pred,
            "verifier": f"verifiers.math:{v.method or v.status}",
            "score": 1.0 if verdict == "correct" else (0.0 if verdict == "incorrect" else None),
            "verify_details": v.to_dict(),
        }
        if cfg.second_check == "math_verify":
            out[i]["verify_details"]["second_check"] = _math_verify(rows[i]["_reference"], _visible(rows[i]))
    return out


def _check_against_problem(v, problem: str | None, reference: str) -> None:
    """In place: an answer that restates the question's own expression is no answer, and one that equals the
    reference in value but not in the form the problem demands (lowest terms, gcd 1, interval notation) is wrong.
    Neither is a confident negative (`select.confident_negative` needs status ok)."""
    from verifiers.math.problem import form_violation, restates_question

    if v.status != "ok" or not v.extracted_pred or not problem:
        return
    if restates_question(problem, v.extracted_pred, reference):
        v.equivalent, v.status, v.method = None, "no_answer", "restated_question"
        v.detail = "the answer restates an expression of the problem, it does not answer it"
    elif v.equivalent:
        why = form_violation(problem, v.extracted_pred, reference)
        if why:
            v.equivalent, v.status, v.method, v.detail = None, "wrong_form", "wrong_form", why


def _math_verify(reference: str, text: str) -> dict:
    """Math-Verify's verdict (its default call, on the last 3000 characters as its authors grade), independent of
    ours: `select.pairs.negatives: two_checks` takes a negative only when both call it wrong."""
    try:
        from math_verify import parse, verify
    except ImportError as e:
        from ..errors import UserError

        raise UserError(
            "verify.second_check 'math_verify' needs the math-verify package: pip install math-verify "
            "(or set verify.second_check: none)"
        ) from e
    try:
        gold = parse("\\boxed{" + reference + "}")
        pred = parse(text[-3000:])
        eq = bool(verify(gold, pred)) if gold and pred else False
        return {"verifier": "math_verify", "equivalent": eq, "extracted": [str(x) for x in pred[:2]]}
    except Exception as e:  # its own timeouts and parser failures: no second verdict, so not a two-check negative
        return {"verifier": "math_verify", "equivalent": None, "detail": f"{type(e).__name__}: {str(e)[:160]}"}


def _code_rows(rows: list[dict], idx: list[int], cfg: VerifyConfig) -> dict[int, dict]:
    try:
        from sandboxes import run_tests
    except ImportError:  # the package root may not re-export yet
        from sandboxes.api import run_tests

    out: dict[int, dict] = {}
    jobs = []
    for i in idx:
        code = _code_of(rows[i], cfg.code_language)
        if code is None:
            out[i] = {
                "verdict": "incorrect",
                "extracted_answer": None,
                "verifier": "sandboxes:no_code",
                "score": 0.0,
                "verify_details": {"status": "no_code", "detail": "no fenced code block in the answer"},
            }
            continue
        tests = json.loads(rows[i]["_tests"])
        if cfg.max_tests is not None:
            tests = _first_tests(tests, cfg.max_tests)
        jobs.append((i, code, tests))

    def one(job):
        i, code, tests = job
        try:
            return i, code, run_tests(code, tests, language=cfg.code_language), None
        except Exception as e:  # a sandbox failure is an `error` verdict, never a crash of the stage
            return i, code, None, f"{type(e).__name__}: {e}"

    with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        for i, code, rep, err in pool.map(one, jobs):
            if rep is None:
                out[i] = {
                    "verdict": "error",
                    "extracted_answer": code,
                    "verifier": "sandboxes",
                    "score": None,
                    "verify_details": {"status": "sandbox_error", "detail": err},
                }
                continue
            d = rep.to_dict()
            sandbox_broken = rep.status == "sandbox_error"
            out[i] = {
                "verdict": "error" if sandbox_broken else ("correct" if rep.passed else "incorrect"),
                "extracted_answer": code,
                "verifier": f"sandboxes:{'+'.join(getattr(rep, 'isolation', []) or []) or 'default'}",
                "score": None if sandbox_broken else float(rep.pass_rate),
                "verify_details": d,
            }
    return out


def _judge_rows(rows: list[dict], idx: list[int], cfg: VerifyConfig, judge) -> dict[int, dict]:
    from verifiers.judge import clip_answer, judge_answers

    items = [(rows[i].get("_problem") or "", rows[i]["_reference"], _visible(rows[i])) for i in idx]
    asked = judge_answers(items, judge, cfg.judge_retries, cfg.judge_max_answer_chars) if items else []
    out = {}
    for i, (_, _, answer), a in zip(idx, items, asked):
        seen, clipped = clip_answer(answer, cfg.judge_max_answer_chars)
        details: dict[str, Any] = {"attempts": a.attempts, "answer_clipped": clipped}
        if a.errors:
            details["rejected"] = a.errors
        if a.ok:
            verdict, reason = a.value
            details = {"status": "judged", "reason": reason, **details}
        else:
            verdict = "error"  # undecided, never a guessed label
            status = "judge_request_failed" if a.request_failed else "judge_unparseable"
            details = {
                "status": status,
                "detail": f"no usable judge reply in {a.attempts} attempts: {a.errors[-1]}",
                "raw_reply": None if a.reply is None else a.reply[:RAW_REPLY_CHARS],
                **details,
            }
        out[i] = {
            "verdict": verdict,
            "extracted_answer": seen,
            "verifier": f"llm_judge:{cfg.judge_teacher}",
            "score": {"correct": 1.0, "incorrect": 0.0}.get(verdict),
            "verify_details": details,
            "request_failed": a.request_failed,
        }
    return out


def _first_tests(tests: dict, n: int) -> dict:
    t = dict(tests)
    for key in ("asserts", "cases"):
        if isinstance(t.get(key), list):
            t[key] = t[key][:n]
    return t


def verify_rows(rows: list[dict], cfg: VerifyConfig, judge=None) -> list[dict]:
    """Verify rows that carry `_domain`, `_reference`, `_tests` (and `_problem` for the judge); returns the
    VERIFY_COLUMNS per row (plus `request_failed` on judged rows). `judge`: `generate(prompts) -> replies`."""
    results: dict[int, dict] = {}
    math_idx, code_idx, judge_idx = [], [], []
    for i, r in enumerate(rows):
        if r.get("error") or r.get("completion") is None:
            results[i] = {
                "verdict": "error",
                "extracted_answer": None,
                "verifier": None,
                "score": None,
                "verify_details": {"status": "generation_error", "detail": r.get("error")},
            }
        elif r["_domain"] == "math" and r.get("_reference"):
            math_idx.append(i)
        elif r["_domain"] == "code" and r.get("_tests"):
            code_idx.append(i)
        elif judge is not None and r.get("_reference"):
            judge_idx.append(i)
        elif judge is not None:
            results[i] = {
                "verdict": "unverifiable",
                "extracted_answer": None,
                "verifier": None,
                "score": None,
                "verify_details": {
                    "status": "unverifiable",
                    "detail": "no reference answer for the LLM judge to compare with",
                },
            }
        else:
            why = (
                "no reference answer"
                if r["_domain"] == "math"
                else ("no tests" if r["_domain"] == "code" else f"no verifier for domain {r['_domain']!r}")
            )
            results[i] = {
                "verdict": "unverifiable",
                "extracted_answer": None,
                "verifier": None,
                "score": None,
                "verify_details": {"status": "unverifiable", "detail": why},
            }
    results.update(_math_rows(rows, math_idx, cfg))
    results.update(_code_rows(rows, code_idx, cfg))
    results.update(_judge_rows(rows, judge_idx, cfg, judge))
    out = []
    for i, r in enumerate(rows):
        res = dict(results[i])
        cut = _cut_off(r, cfg, res["verdict"])
        if cut and res["verdict"] != "error":
            res["verify_details"] = {**res["verify_details"], "underlying": res["verdict"], "cutoff": cut}
            res["verdict"] = "truncated"
        res["verify_details"] = records.canonical_json(res["verify_details"])
        out.append(res)
    return out


def _cut_off(row: dict, cfg: VerifyConfig, verdict: str) -> str | None:
    """Why the trace counts as cut off: the source said so (finish_reason "length"), or, when the source gives no
    finish reason (replayed data), its text stops mid-sentence, mid-formula or inside unclosed thinking. The text
    is read only for traces a verifier decided (an unverifiable poem may well end without a full stop)."""
    if row.get("finish_reason") == "length":
        return "finish_reason length"
    if (
        row.get("finish_reason") is None
        and cfg.detect_cutoff
        and row.get("completion")
        and verdict in ("correct", "incorrect")
    ):
        from verifiers.cutoff import cut_off

        return cut_off(row["completion"])
    return None


def fingerprint_config(manifest) -> Any:
    """The section, plus the judge teacher's entry: another judge model means other verdicts."""
    cfg = manifest.verify
    if cfg is None or cfg.judge_teacher is None:
        return None if cfg is None else cfg.model_dump(mode="json")
    judge = next((t.model_dump(mode="json") for t in manifest.teachers if t.name == cfg.judge_teacher), None)
    return {**cfg.model_dump(mode="json"), "judge": judge}


def batch_size(manifest) -> int | None:
    cfg = manifest.verify
    return None if cfg is None else cfg.batch_size


def resources(manifest):
    from . import Resources

    cfg = manifest.verify
    return Resources(cpus=1 if cfg is None else cfg.workers)


def verify_chunk(chunk: pa.Table, qinfo: dict[str, dict], cfg: VerifyConfig, judge=None) -> tuple[pa.Table | None, int]:
    """One batch of traces with records.VERIFY_COLUMNS set, and how many of its traces the judge did not answer;
    the table is None when any did (not written: a re-run asks again, answers so far are in the request cache)."""
    rows = chunk.to_pylist()
    for r in rows:
        q = qinfo.get(r["query_id"], {})
        r["_domain"] = q.get("domain") or "general"
        r["_reference"] = q.get("reference_answer")
        r["_tests"] = q.get("tests")
        r["_problem"] = q.get("problem")
    res = verify_rows(rows, cfg, judge)
    failed = sum(bool(x.get("request_failed")) for x in res)
    if failed:
        return None, failed
    cols = {f.name: pa.array([x[f.name] for x in res], f.type) for f in records.VERIFY_COLUMNS}
    return records.replace_columns(chunk, records.VERIFY_COLUMNS, cols, records.VERIFIED_TRACES), 0


class VerifyBatches:
    """verify's batch function (see `curation.executors`): small and picklable until `setup`, which opens the
    judge's teacher pool in whichever process runs the batches."""

    def __init__(self, cfg: VerifyConfig, qinfo: dict[str, dict], manifest: Any = None, cache_dir: Any = None):
        self.cfg, self.qinfo = cfg, qinfo
        self.manifest = manifest if cfg.judge_teacher is not None else None
        self.cache_dir = cache_dir
        self.pool: Any = None
        self.judge: Any = None
        self.unanswered = 0

    def setup(self) -> None:
        from ..llm import TeacherPool

        if self.cfg.judge_teacher is not None and self.pool is None:
            self.pool = TeacherPool(self.manifest, self.cache_dir)
            self.judge = self.pool.llm(
                self.cfg.judge_teacher,
                "verify.judge_teacher",
                {"temperature": 0.0, "max_tokens": self.cfg.judge_max_tokens},
            ).replies

    def __call__(self, chunk: pa.Table) -> pa.Table | None:
        out, failed = verify_chunk(chunk, self.qinfo, self.cfg, self.judge)
        self.unanswered += failed
        return out

    def take_stats(self) -> dict[str, int]:
        n, self.unanswered = self.unanswered, 0
        return {"unanswered": n}

    def close(self) -> dict[str, Any]:
        """Closes the pool; its request stats (empty when the batches ran elsewhere)."""
        if self.pool is None:
            return {}
        stats = self.pool.stats() if any(llm.stats["prompts"] for llm in self.pool.llms) else {}
        self.pool.close()
        self.pool = self.judge = None
        return stats

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "pool": None, "judge": None}


def run(ctx: StageContext) -> None:
    from ..errors import UserError

    cfg: VerifyConfig = ctx.config
    queries = ctx.read("queries", records.QUERIES)
    cols_q = ["query_id", "domain", "reference_answer", "tests", "problem"]
    qinfo = {q["query_id"]: q for q in queries.select(cols_q).to_pylist()}
    fn = VerifyBatches(cfg, qinfo, ctx.manifest, ctx.cache_dir)
    fn.setup()  # a judge that is not in `teachers:` fails here, before any batch
    try:
        counts = ctx.map_batches("traces", fn, cfg.batch_size, schema=records.TRACES, description="verifying traces")
    finally:
        judge_stats = fn.close()
    if judge_stats:
        ctx.stats["judge_requests"] = judge_stats
    if counts["unanswered"]:
        kinds = "; ".join(judge_stats.get(cfg.judge_teacher, {}).get("failures", []))
        raise UserError(
            f"verify: {counts['unanswered']} traces got no reply from the judge {cfg.judge_teacher!r}"
            f"{f' ({kinds})' if kinds else ''}; their batches were not written. Replies so far are "
            "cached: re-run to ask only the rest"
        )
    verdicts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for part in ctx.iter_output("traces", ["teacher", "verdict"]):
        for t, v in zip(part.column("teacher").to_pylist(), part.column("verdict").to_pylist()):
            verdicts[t][v] += 1
    ctx.stats.update(verify_stats(verdicts))


def verify_stats(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    per = {}
    for t, c in sorted(counts.items()):
        decided = c.get("correct", 0) + c.get("incorrect", 0) + c.get("truncated", 0)
        per[t] = {**dict(c), "pass_rate": round(c.get("correct", 0) / decided, 4) if decided else None}
    total: dict[str, int] = defaultdict(int)
    for c in counts.values():
        for k, v in c.items():
            total[k] += v
    return {
        "verdicts": dict(total),
        "per_teacher": per,
        "note": "pass_rate = correct / (correct + incorrect + truncated); unverifiable and error excluded",
    }
