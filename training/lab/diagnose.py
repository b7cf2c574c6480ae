"""Diagnostics on a finished lab folder: A2 again from the same A1 students with other α and learning rates, and
trained students scored again with a larger generation cap.

    python -m training.lab.diagnose runs/lab --seeds 0,1 --variant 0.8:3e-3 --variant 0:3e-3
    python -m training.lab.diagnose runs/lab --rescore A6-longcot-0,A6-longcot-1 --max-new-tokens 512

Why: A2 (REDI) and A3 (the SFT control) differ in three things at once: the loss (length-normalised, with a
negative term weighted α), the data (pairs vs verified rows) and the learning rate (the recipe's REDI rate is a
tenth of SFT's). α = 0 at the control's rate keeps REDI's positive term alone, so (α, rate) vs (0, rate) isolates
what the negatives do. Writes `redi_diagnostics.json` next to lab.json; the lab's own numbers are not touched. `--rescore` asks whether
a student's low score is the evaluation's token cap (a long-CoT student cut at `max_new_tokens` scores 0 whatever
it knows) and writes `rescore.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .run import RECIPES, _redi_curves, eval_items, redi, score


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="a lab folder written by `cotforge lab run` (holds students/A1-<seed>)")
    ap.add_argument("--recipe", default="cpu", choices=sorted(RECIPES))
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--variant", action="append", default=[], help="alpha:learning_rate, e.g. 0.8:3e-3")
    ap.add_argument("--rescore", default="", help="comma-separated student folders under students/, e.g. A1-0")
    ap.add_argument("--max-new-tokens", type=int, default=512, help="generation cap for --rescore")
    a = ap.parse_args(argv)
    import torch

    from training.quantify.benchmarks import load_benchmark

    r = RECIPES[a.recipe]
    torch.set_num_threads(r.threads)
    data = a.out / "data"
    leaked = {
        json.loads(x)["id"].removesuffix("-leak")
        for x in (data / "pool.jsonl").open()
        if json.loads(x)["origin"] == "leaked_test"
    }
    items = eval_items(load_benchmark(str(data / "test.jsonl")), leaked, r.eval_limit)
    if a.rescore:
        rescore(a.out, [n for n in a.rescore.split(",") if n], replace(r, max_new_tokens=a.max_new_tokens), items)
    path = a.out / "redi_diagnostics.json"
    results = json.loads(path.read_text()) if path.exists() else []
    for v in a.variant:
        alpha, lr = (float(x) for x in v.split(":"))
        rv = replace(r, redi_alpha=alpha, redi_learning_rate=lr)
        for seed in (int(s) for s in a.seeds.split(",")):
            a1 = a.out / "students" / f"A1-{seed}"
            if not (a1 / "model.safetensors").exists():
                raise SystemExit(f"{a1} has no trained A1 student: run the lab (cotforge lab run) first")
            dest, t0 = a.out / "diagnostics" / f"A2-a{alpha:g}-lr{lr:g}-{seed}", time.time()
            summ = redi(rv, a1, a.out / "exports" / "pairs", dest, rv.extra_steps, seed)
            sc = score(rv, dest, items)
            sc.pop("correct")
            results.append(
                {
                    "alpha": alpha,
                    "learning_rate": lr,
                    "seed": seed,
                    "steps": rv.extra_steps,
                    "accuracy": sc["accuracy"],
                    "mean_tokens": sc["mean_tokens"],
                    "truncation_rate": sc["truncation_rate"],
                    "curves": _redi_curves(dest),
                    "seconds": round(time.time() - t0, 1),
                    "pairs": summ.get("pairs"),
                }
            )
            print(f"redi alpha {alpha:g} lr {lr:g} seed {seed}: accuracy {sc['accuracy']:.3f}", flush=True)
            path.write_text(json.dumps(results, indent=1) + "\n")


def rescore(out: Path, names: list[str], r: Any, items: list[Any]) -> None:
    path = out / "rescore.json"
    results = json.loads(path.read_text()) if path.exists() else []
    for name in names:
        t0 = time.time()
        sc = score(r, out / "students" / name, items)
        sc.pop("correct")
        results.append(
            {
                "student": name,
                "max_new_tokens": r.max_new_tokens,
                "accuracy": sc["accuracy"],
                "mean_tokens": sc["mean_tokens"],
                "truncation_rate": sc["truncation_rate"],
                "seconds": round(time.time() - t0, 1),
            }
        )
        print(
            f"rescore {name} at {r.max_new_tokens} tokens: accuracy {sc['accuracy']:.3f} "
            f"truncated {sc['truncation_rate']:.2f}",
            flush=True,
        )
        path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
