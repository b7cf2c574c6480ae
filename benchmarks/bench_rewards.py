"""RL rewards at GRPO's shape: 64 prompts x 8 samples = 512 completions per reward call, against the plain loop
that calls the reward once per completion, in the same run.

    .venv/bin/python benchmarks/bench_rewards.py [--prompts 64] [--samples 8] [--workers 2] [--out bench.json]

Math: real traces (several teachers per problem) as the samples of a prompt. Code: MBPP reference solutions as
the samples (per prompt: 4 distinct correct variants, 2 repeats of one of them — GRPO repeats itself —, 1 broken
variant, 1 answer without code), thinking part included. Also: both async rewards awaited together (as TRL's
GRPOTrainer does) against the two sync calls one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_math_verify import load_traces  # noqa: E402

import sandboxes  # noqa: E402
import verifiers.math as vm  # noqa: E402
from verifiers.math.normalize import _normalize_cached  # noqa: E402
from verifiers.math.workers import shutdown_pools  # noqa: E402

MBPP = ROOT / "tests" / "data" / "code" / "mbpp_test.jsonl"


def math_batch(traces_dir: Path, prompts: int, samples: int) -> tuple[list[str], list[str]]:
    by_problem: dict[str, list[dict]] = defaultdict(list)
    for r in load_traces(traces_dir):
        by_problem[r["problem_id"]].append(r)
    rng = random.Random(0)
    ids = sorted(p for p, rows in by_problem.items() if len(rows) >= 2)
    comps, sols = [], []
    for pid in rng.sample(ids, min(prompts, len(ids))):
        rows = by_problem[pid]
        for i in range(samples):
            comps.append(rows[i % len(rows)]["response"])
            sols.append(rows[0]["reference_answer"])
    return comps, sols


def code_batch(prompts: int, samples: int) -> tuple[list[str], list[dict]]:
    rows = [json.loads(x) for x in MBPP.read_text().splitlines() if x.strip()]
    rows = [r for r in rows if not r["test_setup_code"]][:prompts]
    comps, tests = [], []
    for r in rows:
        code = r["reference_solution"].replace("\r\n", "\n")
        broken = re.sub(r"\bdef (\w+)", r"def \1_renamed", code, count=1)
        variants = [f"# attempt {k}\n{code}" for k in range(4)]
        texts = [
            f"<think>Let me write it.\n```python\n{v}```\n</think>\nHere it is:\n```python\n{v}```\n" for v in variants
        ]
        texts += texts[:1] * 2 + [f"```python\n{broken}```", "I could not solve it."]
        t = {"kind": "assert", "asserts": r["tests"], "time_s": 5}
        for text in texts[:samples]:
            comps.append(text)
            tests.append(t)
    return comps, tests


def differ(a: list, b: list) -> int:
    """Completions scored differently by two calls: 0 unless a run hit its deadline in one call only (load)."""
    return sum(x != y for x, y in zip(a, b))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--traces-dir",
        default=os.environ.get("COTFORGE_TRACES_DIR", ""),
        help="folder of real traces (*.jsonl[.gz]); default $COTFORGE_TRACES_DIR",
    )
    ap.add_argument("--out")
    a = ap.parse_args()
    res: dict = {"workers": a.workers, "shape": f"{a.prompts} prompts x {a.samples} samples"}
    mc, ms = math_batch(Path(a.traces_dir), a.prompts, a.samples)
    if not mc:
        sys.exit(
            f"no traces (*.jsonl.gz) in {a.traces_dir}: pass --traces-dir (the real traces the math benchmark reads)"
        )
    cc, ct = code_batch(a.prompts, a.samples)
    vm.start_workers(a.workers)  # start the verifier workers outside the timings, as a trainer would
    sandboxes.reward(cc[:1], ct[:1], workers=a.workers)  # and the fork-servers

    def fresh_math() -> None:
        """Same start for each timing: new warm workers and empty caches (a GRPO step sees new problems)."""
        shutdown_pools()
        _normalize_cached.cache_clear()
        vm.start_workers(a.workers)

    fresh_math()
    batch, t_b = timed(lambda: vm.reward(mc, ms, workers=a.workers))
    fresh_math()
    loop, t_l = timed(lambda: [vm.reward([c], [s], workers=a.workers)[0] for c, s in zip(mc, ms)])
    res["math"] = {
        "differ": differ(batch, loop),
        "n": len(mc),
        "batched_per_s": round(len(mc) / t_b, 1),
        "loop_per_s": round(len(mc) / t_l, 1),
        "ratio": round(t_l / t_b, 2),
        "mean_reward": round(sum(x or 0 for x in batch) / len(batch), 3),
        "none": sum(x is None for x in batch),
    }

    batch, t_b = timed(lambda: sandboxes.reward(cc, ct, workers=a.workers))
    loop, t_l = timed(lambda: [sandboxes.reward([c], [t], workers=a.workers)[0] for c, t in zip(cc, ct)])
    res["code"] = {
        "differ": differ(batch, loop),
        "n": len(cc),
        "batched_per_s": round(len(cc) / t_b, 1),
        "loop_per_s": round(len(cc) / t_l, 1),
        "ratio": round(t_l / t_b, 2),
        "mean_reward": round(sum(x or 0 for x in batch) / len(batch), 3),
    }

    async def both():
        return await asyncio.gather(vm.areward(mc, ms, workers=a.workers), sandboxes.areward(cc, ct, workers=a.workers))

    fresh_math()
    (am, ac), t_async = timed(lambda: asyncio.run(both()))
    fresh_math()
    _, t_sync = timed(lambda: (vm.reward(mc, ms, workers=a.workers), sandboxes.reward(cc, ct, workers=a.workers)))
    res["async_both"] = {
        "differ": differ(am, vm.reward(mc, ms, workers=a.workers))
        + differ(ac, sandboxes.reward(cc, ct, workers=a.workers)),
        "async_s": round(t_async, 3),
        "sync_s": round(t_sync, 3),
        "ratio": round(t_sync / t_async, 2),
    }

    print(f"rewards at GRPO shape ({res['shape']}, workers={a.workers}); each ratio vs the per-call loop, same run")
    for k in ("math", "code"):
        r = res[k]
        print(
            f"{k:5s} batched {r['batched_per_s']:8.1f}/s   per-call loop {r['loop_per_s']:8.1f}/s   "
            f"ratio {r['ratio']:5.2f}x   (n={r['n']}, mean reward {r['mean_reward']}, differ {r['differ']})"
        )
    r = res["async_both"]
    print(
        f"math+code awaited together {r['async_s']} s vs one after the other {r['sync_s']} s: {r['ratio']}x "
        f"(differ {r['differ']})"
    )
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
