"""Write a lab folder: the query pool, the test split and every teacher's traces, as the pipeline reads them.

    python -m training.lab.build manifests/lab/data --seed 0

Files (all JSONL):
- `pool.jsonl`: the train pool as real pools are: the train problems, plus exact duplicates, near-duplicates
  (filler words changed: dedup must merge them) and a few test-split problems verbatim (decontamination must
  catch them); `origin` says which each row is;
- `test.jsonl`: the test split (decontamination benchmark and the student's evaluation set);
- `test_problems.jsonl`: the test split's full chains (tasks.Problem), for the report;
- `traces.jsonl`: replay rows of every teacher for every pool row (`teacher` names the teacher; `outcome` is the
  generator's ground truth, never read by the pipeline);
- `build.json`: the parameters and counts.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .tasks import KINDS, Kind, Problem, generate, split
from .teachers import DEFAULT_TEACHERS, TeacherSpec, answer


@dataclass(frozen=True)
class LabSpec:
    seed: int = 0
    train: int = 1200
    test: int = 200
    kinds: tuple[Kind, ...] = KINDS
    steps: tuple[int, int] = (2, 3)
    max_number: int = 20
    duplicates: int = 40
    near_duplicates: int = 40
    leaked: int = 40
    teachers: tuple[TeacherSpec, ...] = field(default=DEFAULT_TEACHERS)


def _near(text: str, rng: random.Random) -> str:
    """A near-duplicate that differs in filler words only (see curation.text.dedup.FILLER)."""
    edits = [
        lambda t: "Please answer this: " + t,
        lambda t: t.replace("Then ", "", 1),
        lambda t: t.replace("What is", "Find", 1),
        lambda t: t.replace("Solve for x:", "Please solve for x:", 1),
    ]
    for e in rng.sample(edits, len(edits)):
        out = e(text)
        if out != text:
            return out
    return "Please answer this: " + text


def pool_rows(
    train: list[Problem], test: list[Problem], spec: LabSpec, rng: random.Random
) -> list[tuple[dict[str, Any], Problem]]:
    """(pool row, the problem it asks) for every pool row, in a seeded shuffled order."""
    rows = [({**p.to_row(), "origin": "train"}, p) for p in train]
    for i, p in enumerate(rng.sample(train, min(spec.duplicates, len(train)))):
        rows.append(({**p.to_row(), "id": f"{p.id}-dup{i}", "origin": "duplicate"}, p))
    for i, p in enumerate(rng.sample(train, min(spec.near_duplicates, len(train)))):
        near = _near(p.text, rng)
        rows.append(({**p.to_row(), "id": f"{p.id}-near{i}", "problem": near, "origin": "near_duplicate"}, p))
    for p in rng.sample(test, min(spec.leaked, len(test))):
        rows.append(({**p.to_row(), "id": f"{p.id}-leak", "origin": "leaked_test"}, p))
    rng.shuffle(rows)
    return rows


def build(out: Path | str, spec: LabSpec = LabSpec()) -> dict[str, Any]:
    """Write the lab folder; returns the build summary (also written as build.json)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problems = generate(
        spec.train + spec.test, seed=spec.seed, kinds=spec.kinds, steps=spec.steps, max_number=spec.max_number
    )
    train, test = split(problems, spec.test, seed=spec.seed + 1)
    test = [Problem(**{**p.__dict__, "id": p.id.replace("lab-", "test-")}) for p in test]
    rng = random.Random(spec.seed + 2)
    rows = pool_rows(train, test, spec, rng)
    _write(out / "pool.jsonl", (r for r, _ in rows))
    _write(out / "test.jsonl", (p.to_row() for p in test))
    _write(out / "test_problems.jsonl", (p.to_json() for p in test))
    counts: dict[str, Any] = {"pool": len(rows), "test": len(test), "origins": {}, "traces": {}}
    for r, _ in rows:
        counts["origins"][r["origin"]] = counts["origins"].get(r["origin"], 0) + 1
    with (out / "traces.jsonl").open("w") as f:
        for ti, t in enumerate(spec.teachers):
            trng = random.Random(f"{spec.seed}-{ti}-{t.name}")
            n = 0
            for row, p in rows:
                asked = Problem(**{**p.__dict__, "text": row["problem"]})
                for tr in answer(asked, t, trng):
                    f.write(json.dumps(tr) + "\n")
                    n += 1
            counts["traces"][t.name] = n
    summary = {"spec": {**asdict(spec), "teachers": [asdict(t) for t in spec.teachers]}, "counts": counts}
    (out / "build.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _write(path: Path, rows: Any) -> None:
    with path.open("w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=LabSpec.train)
    ap.add_argument("--test", type=int, default=LabSpec.test)
    a = ap.parse_args(argv)
    print(json.dumps(build(a.out, LabSpec(seed=a.seed, train=a.train, test=a.test))["counts"], indent=2))


if __name__ == "__main__":
    main()
