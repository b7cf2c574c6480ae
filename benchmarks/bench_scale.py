"""collect → dedup (exact + near) → decontaminate at scale: wall time, rows/s, CPU time and peak RSS per stage.

    .venv/bin/python benchmarks/bench_scale.py [--rows 1400000] [--dir DIR] [--out bench_out/bench_scale.json]
    .venv/bin/python benchmarks/bench_scale.py --rows 20000 --compare OTHER_RUN_DIR   # identical-output check

The pool is a seeded templated math/code JSONL (benchmarks/synth_corpus.py: templates × numbers × wording, with
value-preserving copies, exact copies, number-changed siblings and other-question siblings; most math rows carry
an answer), about 215 bytes a row (1.4M rows ≈ 300 MB). A synthetic benchmark file of `--bench-items` items is
written beside it; a tenth of its items leak into the pool (exact copies, wrapped copies, rephrasings that keep
the numbers) and another tenth appear with one number changed (clean by the default policy). The manifest has
the three stages with their defaults; decontaminate compares against the bundled default benchmarks plus the
synthetic one.

Each stage runs as its own `cotforge run --until STAGE` subprocess on the same run directory (the stages before it
are cached), so per-stage numbers do not mix: wall = the subprocess (imports and the cached-stage check
included), stage_s = the stage's own time from lock.json, CPU = user + system of the subprocess and its children
(os.wait4), peak RSS = the largest sum of RSS over the subprocess tree, sampled every 50 ms with psutil (and
ru_maxrss, the largest single process, from wait4). The load average is recorded before and after: the machine
is shared, so absolute times are noisy; compare runs made back to back.

`--compare DIR`: after the run, compare its output tables with those of another run directory made from the same
pool (e.g. by the code before a change): kept query ids per stage, and the removed rows (removed_id, reason,
evidence) must be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

STAGES = ["collect", "dedup", "decontaminate"]


# --- data ----------------------------------------------------------------------------------------------------
def write_pool(rows: int, seed: int, bench_items: int, pool: Path, bench: Path) -> dict:
    """The query pool and the benchmark file; returns counts of what was planted."""
    import synth_corpus as sc

    rng = random.Random(seed + 7)
    items, leaks = [], []
    seen = set()
    while len(items) < bench_items:
        t = rng.randrange(len(sc.MATH))
        b = sc.Base("math", t, rng.randrange(len(sc.MATH[t][1])), sc.rand_vals(rng, "math"))
        text = sc.render(b)
        if text in seen:
            continue
        seen.add(text)
        iid = f"syn-{len(items)}"
        items.append({"id": iid, "problem": text})
        r = rng.random()
        if r < 0.04:
            leaks.append(("exact", text))
        elif r < 0.07:
            pre, post = rng.choice(sc.WRAPPERS)
            leaks.append(("wrapped", pre + text + post))
        elif r < 0.10:
            leaks.append(("rephrased", sc.edit(sc.render(b, paraphrase=True), rng, swap_ok=False)[0]))
        elif r < 0.20:
            vals = dict(b.vals)
            vals["a"] += rng.choice([1, 3, 10])
            leaks.append(("number_changed", sc.render(sc.Base("math", t, b.q, vals))))
    with open(bench, "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    base = sc.generate(rows - len(leaks), seed)
    slots = sorted(rng.sample(range(len(base) + 1), len(leaks)))  # leaks at random places in the pool
    planted: dict[str, int] = {}
    nbytes = 0
    with open(pool, "w") as f:
        li = 0
        for i in range(len(base) + 1):
            while li < len(slots) and slots[li] == i:
                kind, text = leaks[li]
                planted[kind] = planted.get(kind, 0) + 1
                line = (
                    json.dumps(
                        {
                            "id": f"leak{li}",
                            "problem": text,
                            "answer": str(rng.randint(1, 999)),
                            "domain": "math",
                            "kind": f"leak_{kind}",
                        }
                    )
                    + "\n"
                )
                f.write(line)
                nbytes += len(line)
                li += 1
            if i == len(base):
                break
            r = base[i]
            row = {"id": r["id"], "problem": r["problem"], "domain": r["domain"], "kind": r["kind"], "split": "train"}
            if r["domain"] == "math" and rng.random() < 0.8:
                row["answer"] = str(rng.randint(1, 99999))
            line = json.dumps(row) + "\n"
            f.write(line)
            nbytes += len(line)
    return {"pool_rows": rows, "pool_mb": round(nbytes / 2**20, 1), "bench_items": len(items), "planted": planted}


def write_manifest(path: Path, pool: Path, bench: Path) -> None:
    import yaml

    from curation.config.decontaminate import DecontaminateConfig

    m = {
        "name": "bench-scale",
        "sources": [
            {
                "name": "pool",
                "kind": "jsonl",
                "path": str(pool),
                "domain": "math",
                "fields": {"problem": "problem", "reference_answer": "answer", "source_id": "id", "domain": "domain"},
            }
        ],
        "dedup": {"exact": True, "near": {"enabled": True}},
        "decontaminate": {
            "benchmarks": [
                *DecontaminateConfig().benchmarks,
                {"name": "synthetic", "path": str(bench), "field": "problem"},
            ]
        },
    }
    path.write_text(yaml.safe_dump(m, sort_keys=False))


# --- measuring -----------------------------------------------------------------------------------------------
def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_stage(manifest: Path, run_dir: Path, stage: str, code: Path = ROOT) -> dict:
    cmd = [
        str(Path(sys.executable).with_name("cotforge")),
        "run",
        str(manifest),
        "--run-dir",
        str(run_dir),
        "--until",
        stage,
    ]
    env = {**os.environ, "PYTHONPATH": str(code)}
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ps = psutil.Process(p.pid)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            try:
                peak[0] = max(peak[0], _tree_rss(ps))
            except psutil.Error:
                pass
            done.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    err = p.stderr.read()  # type: ignore[union-attr]
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}):\n{err.decode(errors='replace')[-4000:]}")
    lock = json.loads((run_dir / "lock.json").read_text())
    entry = lock["stages"][stage]
    return {
        "stage": stage,
        "wall_s": round(wall, 2),
        "stage_s": entry.get("seconds"),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
        "peak_rss_mb": round(peak[0] / 2**20),
        "max_rss_mb": round(ru.ru_maxrss / 1024),
        "rows": entry.get("rows", {}),
        "removed_by_reason": entry.get("removed_by_reason", {}),
        "load_before": round(load0[0], 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


# --- identical-output check ----------------------------------------------------------------------------------
def _table(run_dir: Path, stage: str, table: str, columns: list[str]):
    import polars as pl

    files = sorted((run_dir / "stages" / stage / table).glob("*.parquet"))
    if not files:
        return pl.DataFrame()
    return pl.concat([pl.read_parquet(f, columns=columns) for f in files], how="vertical_relaxed")


def compare(a: Path, b: Path) -> list[str]:
    """Differences between two run dirs' outputs (empty = identical): kept queries (ids, metadata) per stage, and
    removed rows (id, reason, evidence)."""
    problems = []
    for stage in STAGES:
        qa = _table(a, stage, "queries", ["query_id", "metadata"]).sort(["query_id", "metadata"])
        qb = _table(b, stage, "queries", ["query_id", "metadata"]).sort(["query_id", "metadata"])
        if not qa.equals(qb):
            problems.append(f"{stage}: queries differ ({qa.height} vs {qb.height} rows)")
        cols = ["removed_id", "query_id", "reason", "location", "evidence", "problem"]
        ra = _table(a, stage, "removed", cols)
        rb = _table(b, stage, "removed", cols)
        ra = ra.sort(cols, nulls_last=True) if ra.height else ra
        rb = rb.sort(cols, nulls_last=True) if rb.height else rb
        if ra.height != rb.height or (ra.height and not ra.equals(rb)):
            problems.append(f"{stage}: removed differ ({ra.height} vs {rb.height} rows)")
    return problems


def _generate(rows: str, seed: str, items: str, pool: str, bench: str, meta: str) -> None:
    t = time.perf_counter()
    data = write_pool(int(rows), int(seed), int(items), Path(pool), Path(bench))
    data["generate_s"] = round(time.perf_counter() - t, 1)
    Path(meta).write_text(json.dumps(data))


def main() -> None:
    if sys.argv[1:2] == ["--generate"]:
        return _generate(*sys.argv[2:8])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_400_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench-items", type=int, default=3000)
    ap.add_argument("--dir", type=Path, help="work folder (pool, benchmark, manifest, run); default: a temp folder")
    ap.add_argument("--keep", action="store_true", help="keep the run directory (always kept with --dir)")
    ap.add_argument("--compare", type=Path, help="another run dir from the same pool: check identical outputs")
    ap.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="checkout whose `curation` runs (default: this one), e.g. an exported copy of the code before a change",
    )
    ap.add_argument("--label", default="", help="a name for this run in the JSON (e.g. before / after)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench_scale_")
        args.dir = Path(tmp.name)
    args.dir.mkdir(parents=True, exist_ok=True)
    pool, bench = args.dir / f"pool_{args.rows}_{args.seed}.jsonl", args.dir / f"bench_{args.bench_items}.jsonl"
    meta_path = args.dir / f"pool_{args.rows}_{args.seed}.json"
    if pool.exists() and bench.exists() and meta_path.exists():
        data = json.loads(meta_path.read_text())
    else:
        # in a child process: the generator's memory must not be inherited by the measured runs (ru_maxrss)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--generate",
                str(args.rows),
                str(args.seed),
                str(args.bench_items),
                str(pool),
                str(bench),
                str(meta_path),
            ],
            check=True,
        )
        data = json.loads(meta_path.read_text())
    print(f"pool: {data}", flush=True)
    manifest = args.dir / "manifest.yaml"
    write_manifest(manifest, pool, bench)
    run_dir = args.dir / f"run{('-' + args.label) if args.label else ''}"
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    results = []
    inputs = args.rows
    for stage in STAGES:
        r = run_stage(manifest, run_dir, stage, args.code)
        r["input_rows"] = inputs
        r["rows_per_s"] = round(inputs / r["wall_s"])
        inputs = r["rows"].get("queries", 0)
        results.append(r)
        print(json.dumps(r), flush=True)
    total = {
        "wall_s": round(sum(r["wall_s"] for r in results), 2),
        "cpu_s": round(sum(r["cpu_s"] for r in results), 2),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
    }
    print(
        f"\n{'stage':<14}{'in rows':>10}{'wall s':>9}{'stage s':>9}{'rows/s':>10}{'CPU s':>9}{'peak MB':>9}{'load':>11}"
    )
    for r in results:
        print(
            f"{r['stage']:<14}{r['input_rows']:>10}{r['wall_s']:>9.1f}{r['stage_s']:>9.1f}{r['rows_per_s']:>10}"
            f"{r['cpu_s']:>9.1f}{r['peak_rss_mb']:>9}{r['load_before']:>5.1f}→{r['load_after']:<5.1f}"
        )
    print(
        f"{'total':<14}{args.rows:>10}{total['wall_s']:>9.1f}{'':>9}{round(args.rows / total['wall_s']):>10}"
        f"{total['cpu_s']:>9.1f}{total['peak_rss_mb']:>9}"
    )
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "label": args.label,
        "code": str(args.code),
        "pool": data,
        "stages": results,
        "total": total,
        "cpus": os.cpu_count(),
    }
    if args.compare:
        diffs = compare(run_dir, args.compare)
        out["identical_to"] = {"run": str(args.compare), "differences": diffs}
        print("identical outputs" if not diffs else "DIFFERENT outputs:\n  " + "\n  ".join(diffs))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2))
    if tmp is not None and not args.keep:
        tmp.cleanup()
    if args.compare and out["identical_to"]["differences"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
