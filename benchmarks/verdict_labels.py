"""Score the verify stage's verdicts (and select's negative eligibility) against hand-read labels of real traces.

  .venv/bin/python benchmarks/verdict_labels.py LABELS.jsonl [--traces-dir DIR] [--show-wrong]

LABELS rows: trace_id, file (a traces jsonl[.gz] under --traces-dir) or response (the trace text), reference_answer,
final_answer, truncated, correct (true/false/null = no committed answer), traps (classes). The trace goes through
distill's reasoning split and verify's `verify_rows` exactly as a replayed trace with no finish reason would.
Expected verdict: truncated -> truncated; correct true -> correct; otherwise incorrect. A confident negative is
expected only for complete traces labelled correct=false.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.config.verify import VerifyConfig  # noqa: E402

try:
    from curation.stages.select import confident_negative  # noqa: E402
except ImportError:  # a checkout from before confident negatives: every incorrect trace could be rejected

    def confident_negative(row: dict) -> bool:
        return row.get("verdict") == "incorrect"


from curation.stages.verify import verify_rows  # noqa: E402
from curation.teachers.parsing import split_reasoning  # noqa: E402


def expected_verdict(lab: dict) -> str:
    if lab["truncated"]:
        return "truncated"
    return "correct" if lab["correct"] else "incorrect"


def trace_row(lab: dict, response: str) -> dict:
    """A replayed trace as distill writes it (no finish reason), with what verify joins from its query."""
    p = split_reasoning(response or "", ("<think>", "</think>"), None)
    return {
        "trace_id": lab["trace_id"],
        "completion": response,
        "reasoning": p.reasoning,
        "answer": p.answer,
        "finish_reason": None,
        "status": p.status,
        "error": None,
        "_domain": "math",
        "_reference": lab["reference_answer"],
        "_tests": None,
        "_problem": lab.get("problem"),
    }


def load(labels_path: Path, traces_dir: Path | None) -> list[tuple[dict, str]]:
    labels = [json.loads(x) for x in labels_path.read_text(encoding="utf-8").splitlines() if x.strip()]
    texts: dict[str, str] = {}
    problems: dict[str, str] = {}
    for f in {lab["file"] for lab in labels if "response" not in lab and lab.get("file")}:
        if traces_dir is None:
            raise SystemExit(f"{labels_path}: rows refer to {f}; pass --traces-dir")
        opener = gzip.open if f.endswith(".gz") else open
        with opener(traces_dir / f, "rt", encoding="utf-8") as fh:
            for line in fh:
                t = json.loads(line)
                texts[t["trace_id"]] = t["response"]
                problems[t["trace_id"]] = t.get("problem")
    for lab in labels:
        lab.setdefault("problem", problems.get(lab["trace_id"]))
    return [(lab, lab["response"] if "response" in lab else texts[lab["trace_id"]]) for lab in labels]


def score(items: list[tuple[dict, str]], cfg: VerifyConfig | None = None) -> dict:
    cfg = cfg or VerifyConfig(workers=1)
    rows = [trace_row(lab, text) for lab, text in items]
    res = verify_rows(rows, cfg)
    out = []
    for (lab, _), r in zip(items, res):
        exp = expected_verdict(lab)
        neg_exp = not lab["truncated"] and lab["correct"] is False
        neg_got = r["verdict"] == "incorrect" and confident_negative(r)
        out.append(
            {
                "trace_id": lab["trace_id"],
                "teacher": lab.get("teacher"),
                "expected": exp,
                "got": r["verdict"],
                "answer": r["extracted_answer"],
                "label_answer": lab.get("final_answer"),
                "traps": lab.get("traps", []),
                "negative_expected": neg_exp,
                "negative_got": neg_got,
                "details": json.loads(r["verify_details"]),
            }
        )
    n = len(out)
    agree = sum(o["expected"] == o["got"] for o in out)
    false_correct = [o["trace_id"] for o in out if o["got"] == "correct" and o["expected"] != "correct"]
    bad_neg = [o["trace_id"] for o in out if o["negative_got"] and not o["negative_expected"]]
    by_class: dict[str, Counter] = defaultdict(Counter)
    for o in out:
        for c in o["traps"] + [f"expected={o['expected']}"]:
            by_class[c]["n"] += 1
            by_class[c]["agree"] += o["expected"] == o["got"]
    return {
        "n": n,
        "agree": agree,
        "agreement": round(agree / n, 4) if n else None,
        "false_correct": false_correct,
        "negatives_not_confidently_wrong": bad_neg,
        "negatives": sum(o["negative_got"] for o in out),
        "confusion": dict(Counter(f"{o['expected']}->{o['got']}" for o in out)),
        "by_class": {c: f"{v['agree']}/{v['n']}" for c, v in sorted(by_class.items())},
        "rows": out,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("labels", type=Path)
    ap.add_argument("--traces-dir", type=Path)
    ap.add_argument("--show-wrong", action="store_true")
    a = ap.parse_args()
    rep = score(load(a.labels, a.traces_dir))
    rows = rep.pop("rows")
    print(json.dumps(rep, indent=1))
    if a.show_wrong:
        for o in rows:
            if o["expected"] != o["got"] or o["negative_got"] != o["negative_expected"]:
                d = o["details"]
                print(
                    f"{o['trace_id']:16} {o['teacher'][:28]:28} exp={o['expected']:9} got={o['got']:9} "
                    f"ans={str(o['answer'])[:40]!r} label={str(o['label_answer'])[:30]!r} "
                    f"src={d.get('pred_source') or d.get('underlying_source', '')} {d.get('cutoff', '')} "
                    f"traps={o['traps']}"
                )


if __name__ == "__main__":
    main()
