"""Tooling for hand-labelled DLCoT segmentation sets: draw traces, render label sheets, import labels, agreement.

Labellers read *sheets* (each trace as numbered blank-line paragraphs of its thinking part) and write, per trace,
the paragraph where each part starts plus per-approach verdicts; `import` turns that into verbatim character offsets
(the rows of `tests/data/segmentation/skythought_labelled.jsonl`), and `agree` measures how far two label sets agree
(boundary F1, kind-aware F1, verdict agreement) — the label-noise ceiling a segmenter can be compared with.

    python benchmarks/segment_labels.py draw --out labelling/r4 --split heldout3
    python benchmarks/segment_labels.py sheets --rows labelling/r4/pool.jsonl --out labelling/r4/sheets.md
    python benchmarks/segment_labels.py import --rows labelling/r4/pool.jsonl --labels A.json --out A.rows.jsonl
    python benchmarks/segment_labels.py agree A.rows.jsonl B.rows.jsonl
    python benchmarks/segment_labels.py merge A.rows.jsonl B.rows.jsonl C.rows.jsonl --out gold.jsonl
    python benchmarks/segment_labels.py gold --versions tests/data/segmentation/label_versions.jsonl \
        --rows tests/data/segmentation/skythought_labelled.jsonl NEW_POOL.jsonl --out tests/data/segmentation/skythought_labelled.jsonl

Label file (JSON list): [{"trace_id": ..., "parts": [[paragraph, kind, approach|null], ...],
"verdicts": {"1": "correct"|"incorrect"|"incomplete", ...}}, ...]; the first part starts at paragraph 0 and the
text from the end-of-thought marker on is always `conclusion` (added when the labeller stops before it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curation.cot.evaluate import PRF, boundary_sets  # noqa: E402
from curation.cot.segment import END_OF_THOUGHT, KINDS, Segment, paragraphs, validate  # noqa: E402

SHARED_TRACES = Path(os.environ.get("COTFORGE_TRACES_DIR", ROOT / "manifests" / "data" / "traces"))
LABELLED = ROOT / "tests" / "data" / "segmentation" / "skythought_labelled.jsonl"
VERDICTS = ("correct", "incorrect", "incomplete")


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def draw(
    out: Path,
    split: str,
    per_teacher: int,
    seed: int,
    min_chars: int,
    max_chars: int,
    benchmarks: list[str],
    exclude: list[Path] = (),
    per_problem: int = 1,
    labelled_problems_too: bool = True,
) -> list[dict]:
    """Round-robin over the Sky-T1 long-CoT teachers (QwQ is not redistributable), `per_teacher` traces each,
    at most `per_problem` traces per problem, no problem already labelled: a set that is not one teacher's."""
    labelled = _read_jsonl(LABELLED)
    used = {(r["benchmark"], r["problem_id"]) for p in exclude for r in _read_jsonl(p)}
    if labelled_problems_too:  # for a held-out draw; a training draw may reuse a labelled problem (not its trace)
        used |= {(r["benchmark"], r["problem_id"]) for r in labelled}
    seen = {r["trace_id"] for r in labelled}
    by_teacher: dict[str, list[dict]] = defaultdict(list)
    for b in benchmarks:
        path = SHARED_TRACES / f"{b}_multiteacher.jsonl.gz"
        for r in _read_jsonl(path):
            if r["teacher_kind"] != "long_cot" or not r["teacher"].startswith("Sky-T1"):
                continue
            if not END_OF_THOUGHT.search(r["response"]) or not min_chars <= len(r["response"]) <= max_chars:
                continue
            if (r["benchmark"], r["problem_id"]) in used or r["trace_id"] in seen:
                continue
            r["_source_file"] = f"traces/{path.name}"
            by_teacher[r["teacher"]].append(r)
    rng = random.Random(seed)
    for t in sorted(by_teacher):
        by_teacher[t].sort(key=lambda r: r["trace_id"])
        rng.shuffle(by_teacher[t])
    picked: list[dict] = []
    taken = {t: 0 for t in by_teacher}
    problems: dict = defaultdict(int)
    while True:
        progressed = False
        for t in sorted(by_teacher):
            if taken[t] >= per_teacher:
                continue
            while by_teacher[t]:
                r = by_teacher[t].pop(0)
                if problems[(r["benchmark"], r["problem_id"])] < per_problem:
                    problems[(r["benchmark"], r["problem_id"])] += 1
                    picked.append(r)
                    taken[t] += 1
                    progressed = True
                    break
        if not progressed:
            break
    rows = [
        {
            "trace_id": r["trace_id"],
            "teacher": r["teacher"],
            "benchmark": r["benchmark"],
            "problem_id": r["problem_id"],
            "problem": r["problem"],
            "reference_answer": r["reference_answer"],
            "reasoning": r["response"],
            "source": r.get("source"),
            "license": "Apache-2.0",
            "split": split,
            "is_correct_math_verify": r.get("is_correct_math_verify"),
        }
        for r in picked
    ]
    out.mkdir(parents=True, exist_ok=True)
    with (out / "pool.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return rows


def sheet(row: dict) -> str:
    """One trace as numbered paragraphs of its thinking part (what a labeller reads)."""
    text = row["reasoning"]
    m = END_OF_THOUGHT.search(text)
    lines = [
        f"## {row['trace_id']}",
        "",
        f"**Problem.** {row['problem']}",
        "",
        f"**Reference answer.** `{row['reference_answer']}`",
        "",
    ]
    for i, (s, e) in enumerate(paragraphs(text)):
        if m is not None and s >= m.start():
            lines.append(f"[P{i}] <|end_of_thought|> ... (the written solution: always `conclusion`, not shown)")
            break
        lines.append(f"[P{i}] " + text[s:e].rstrip())
        lines.append("")
    return "\n".join(lines) + "\n"


def to_row(row: dict, label: dict) -> dict:
    """Paragraph-index labels → verbatim offsets (segments tile the text; validated)."""
    text = row["reasoning"]
    paras = paragraphs(text)
    m = END_OF_THOUGHT.search(text)
    parts = [tuple(p) for p in label["parts"]]
    where = f"{row['trace_id']}"
    if not parts or parts[0][0] != 0:
        raise ValueError(f"{where}: the first part must start at paragraph 0")
    if m is not None:
        marker = next(i for i, (s, e) in enumerate(paras) if e > m.start())
        if parts[-1][1] != "conclusion" or parts[-1][0] > marker:
            parts.append((marker, "conclusion", None))
    segs: list[Segment] = []
    for j, (p, kind, approach) in enumerate(parts):
        if kind not in KINDS:
            raise ValueError(f"{where}: part {j} has unknown kind {kind!r}")
        if j and p <= parts[j - 1][0]:
            raise ValueError(f"{where}: part {j} starts at paragraph {p}, not after {parts[j - 1][0]}")
        if kind in ("approach", "verification") and not isinstance(approach, int):
            raise ValueError(f"{where}: part {j} ({kind}) needs an approach number")
        end = paras[parts[j + 1][0]][0] if j + 1 < len(parts) else len(text)
        segs.append(Segment(kind, paras[p][0], end, approach if kind in ("approach", "verification") else None))
    validate(segs, text)
    napp = {s.approach for s in segs if s.kind == "approach"}
    verdicts = {str(k): v for k, v in label.get("verdicts", {}).items()}
    if set(verdicts) != {str(a) for a in napp} or any(v not in VERDICTS for v in verdicts.values()):
        raise ValueError(f"{where}: verdicts {verdicts} must give one of {VERDICTS} for approaches {sorted(napp)}")
    out = {k: v for k, v in row.items() if not k.startswith("_") and k != "is_correct_math_verify"}
    out["segments"] = [
        {"kind": s.kind, "approach": s.approach, "start": s.start, "end": s.end, "anchor": text[s.start : s.start + 40]}
        for s in segs
    ]
    out["approach_verdicts"] = verdicts
    return out


def agreement(a_rows: list[dict], b_rows: list[dict]) -> dict:
    """Boundary agreement of two labellers on the traces both labelled (B taken as reference; F1 is symmetric)."""
    b_by = {r["trace_id"]: r for r in b_rows}
    plain, kinded = PRF(), PRF()
    same_napp = n = 0
    for ra in a_rows:
        rb = b_by.get(ra["trace_id"])
        if rb is None:
            continue
        n += 1
        plain.add(boundary_sets(ra["segments"]), boundary_sets(rb["segments"]))
        kinded.add(boundary_sets(ra["segments"], True), boundary_sets(rb["segments"], True))
        same_napp += len(ra["approach_verdicts"]) == len(rb["approach_verdicts"])
    return {
        "traces": n,
        "boundary_f1": round(plain.f1, 3),
        "precision": round(plain.precision, 3),
        "recall": round(plain.recall, 3),
        "kind_aware_f1": round(kinded.f1, 3),
        "same_number_of_approaches": round(same_napp / n, 3) if n else None,
    }


def _paragraph_tags(row: dict, paras: list[tuple[int, int]]) -> list[tuple[bool, str]]:
    """(a part starts here, kind) for every paragraph under one labeller's segmentation."""
    out = []
    for a, _ in paras:
        s = next(x for x in row["segments"] if x["start"] <= a < x["end"])
        out.append((s["start"] == a, s["kind"]))
    return out


def _overlap(a: dict, b: dict) -> int:
    return max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))


def merge(versions: list[dict]) -> dict:
    """Majority of three (or more, odd) labellers, paragraph by paragraph: a part starts where most say one does,
    with the kind most give the paragraph; approach verdicts by majority over each labeller's approach that overlaps
    the merged one most. Ties (all different) go to the labeller who agrees most with the others on this trace."""
    if len(versions) % 2 == 0:
        raise ValueError("merge needs an odd number of label versions")
    text = versions[0]["reasoning"]
    paras = paragraphs(text)
    tags = [_paragraph_tags(v, paras) for v in versions]
    pair = [[0.0] * len(versions) for _ in versions]
    for i, a in enumerate(versions):
        for j, b in enumerate(versions):
            if i != j:
                p = PRF()
                p.add(boundary_sets(a["segments"]), boundary_sets(b["segments"]))
                pair[i][j] = p.f1
    central = max(range(len(versions)), key=lambda i: (sum(pair[i]), -i))

    def vote(values: list) -> object:
        """Majority of the values given (None = no vote); a tie goes to the central labeller's value."""
        cast = [v for v in values if v is not None]
        counts = {v: cast.count(v) for v in cast}
        best = max(counts.values(), default=0)
        winners = [v for v in counts if counts[v] == best]
        return winners[0] if len(winners) == 1 else (values[central] or (winners[0] if winners else None))

    segs: list[dict] = []
    k = 0
    for j, (a, b) in enumerate(paras):
        kind = vote([t[j][1] for t in tags])
        starts = j == 0 or sum(t[j][0] for t in tags) * 2 > len(tags) or kind != segs[-1]["kind"]
        if starts and segs and kind == segs[-1]["kind"] and kind not in ("approach", "verification"):
            starts = False  # a second conclusion (or question repeat) in a row is the same part
        if kind == "verification" and k == 0:
            kind = "approach"
        if starts:
            if kind == "approach":
                k += 1
            segs.append(
                {"kind": kind, "approach": k if kind in ("approach", "verification") else None, "start": a, "end": b}
            )
        else:
            segs[-1]["end"] = b
    verdicts = {}
    for g in segs:
        if g["kind"] != "approach" or str(g["approach"]) in verdicts:
            continue
        mine = [x for x in segs if x["kind"] == "approach" and x["approach"] == g["approach"]]
        votes = []
        for v in versions:
            best, best_ov = None, 0
            for s in v["segments"]:
                if s["kind"] == "approach":
                    ov = sum(_overlap(s, m) for m in mine)
                    if ov > best_ov:
                        best, best_ov = s["approach"], ov
            votes.append(v["approach_verdicts"].get(str(best)) if best is not None else None)
        verdicts[str(g["approach"])] = vote(votes)
    for s in segs:
        s["anchor"] = text[s["start"] : s["start"] + 40]
    out = {k2: v for k2, v in versions[0].items() if k2 not in ("segments", "approach_verdicts")}
    out["segments"] = segs
    out["approach_verdicts"] = verdicts
    validate([Segment(s["kind"], s["start"], s["end"], s["approach"]) for s in segs], text)
    return out


def build_gold(versions: list[dict], rows: dict[str, dict]) -> list[dict]:
    """Gold rows from every labeller's version (`label_versions.jsonl`): the majority where three or more
    labelled a trace, else the one version; text, split and metadata from `rows`."""
    by: dict[str, list[dict]] = {}
    for v in versions:
        by.setdefault(v["trace_id"], []).append(v)
    out = []
    for tid, vs in by.items():
        base = {k: x for k, x in rows[tid].items() if k not in ("segments", "approach_verdicts", "labellers")}
        labelled = [to_row(base, v) for v in vs]
        g = merge(labelled) if len(labelled) >= 3 else labelled[0]
        g = {k: x for k, x in g.items() if k != "is_correct_math_verify"}
        g["labellers"] = [v["labeller"] for v in vs]
        out.append(g)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("draw")
    d.add_argument("--out", type=Path, required=True)
    d.add_argument("--split", required=True)
    d.add_argument("--per-teacher", type=int, default=2)
    d.add_argument("--seed", type=int, default=2030)
    d.add_argument("--min-chars", type=int, default=1500)
    d.add_argument("--max-chars", type=int, default=8000)
    d.add_argument("--benchmarks", nargs="+", default=["aime24", "amc23", "math500"])
    d.add_argument("--per-problem", type=int, default=1)
    d.add_argument(
        "--training",
        action="store_true",
        help="training draw: problems of labelled traces allowed (their traces are not); --exclude still applies",
    )
    d.add_argument("--exclude", type=Path, nargs="*", default=[], help="more labelled files whose problems to skip")
    s = sub.add_parser("sheets")
    s.add_argument("--rows", type=Path, nargs="+", required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--seed", type=int, default=None, help="shuffle the order of the traces")
    i = sub.add_parser("import")
    i.add_argument("--rows", type=Path, nargs="+", required=True)
    i.add_argument("--labels", type=Path, required=True)
    i.add_argument("--out", type=Path, required=True)
    g = sub.add_parser("agree")
    g.add_argument("a", type=Path)
    g.add_argument("b", type=Path)
    mg = sub.add_parser("merge", help="majority of an odd number of label versions per trace")
    mg.add_argument("versions", type=Path, nargs="+", help="imported rows files (one per labeller)")
    mg.add_argument("--out", type=Path, required=True)
    gd = sub.add_parser("gold", help="rebuild the gold file from label_versions.jsonl")
    gd.add_argument("--versions", type=Path, required=True)
    gd.add_argument("--rows", type=Path, nargs="+", required=True, help="files with each trace's text and split")
    gd.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.cmd == "gold":
        rows = {}
        for p in args.rows:
            for r in _read_jsonl(p):
                rows.setdefault(r["trace_id"], r)
        gold = build_gold(_read_jsonl(args.versions), rows)
        tmp = args.out.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            for r in gold:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        tmp.replace(args.out)
        print(f"{len(gold)} gold rows → {args.out}")
        return
    if args.cmd == "merge":
        files = [{r["trace_id"]: r for r in _read_jsonl(p)} for p in args.versions]
        common = [t for t in files[0] if all(t in f for f in files[1:])]
        merged = [merge([f[t] for f in files]) for t in common]
        with args.out.open("w", encoding="utf-8") as f:
            for r in merged:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{len(merged)} merged rows → {args.out}")
        return
    if args.cmd == "draw":
        rows = draw(
            args.out,
            args.split,
            args.per_teacher,
            args.seed,
            args.min_chars,
            args.max_chars,
            args.benchmarks,
            args.exclude,
            args.per_problem,
            not args.training,
        )
        print(f"{len(rows)} traces → {args.out / 'pool.jsonl'}")
    elif args.cmd == "sheets":
        rows = [r for p in args.rows for r in _read_jsonl(p)]
        if args.seed is not None:
            random.Random(args.seed).shuffle(rows)
        args.out.write_text("\n".join(sheet(r) for r in rows), encoding="utf-8")
        print(f"{len(rows)} sheets → {args.out}")
    elif args.cmd == "import":
        rows = {r["trace_id"]: r for p in args.rows for r in _read_jsonl(p)}
        labels = json.loads(args.labels.read_text(encoding="utf-8"))
        out = [to_row(rows[lab["trace_id"]], lab) for lab in labels]
        with args.out.open("w", encoding="utf-8") as f:
            for r in out:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"{len(out)} labelled rows → {args.out}")
    else:
        print(json.dumps(agreement(_read_jsonl(args.a), _read_jsonl(args.b)), indent=1))


if __name__ == "__main__":
    main()
