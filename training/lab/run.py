"""The lab's arms: every curation choice as a student trained from scratch and scored on the test split.

One pipeline run (manifests/lab/lab.yaml) builds the data, a second one with decontamination off builds A5's; every
arm is then an export filter or a training step on the real exports, trained with `training.sft` / `training.redi`
and scored by `training.quantify.gain.score_in_process` on the lab's test split:
- A0 SFT on every trace (no verification) vs A1 SFT on verified-correct traces;
- A2 = A1 then REDI on (correct, incorrect) pairs vs A3 = A1 then as many more SFT steps (the control);
- A4 SFT on DLCoT-simplified correct traces (export `reasoning: simplified`) vs A1: accuracy and tokens generated;
- A5 decontamination off: test problems leak into training; inflation = its accuracy on the leaked test problems
  minus on the clean ones, next to A1's same difference;
- A6 one student per teacher; the audit's teacher ranking vs the students' accuracies (Spearman).
SFT arms get the same token budget: steps = budget / (batch × mean tokens of the arm's rows).
Writes `lab.json` and `report.html` into the output folder.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .build import LabSpec, build
from .student import StudentSpec, build_student, lab_texts

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifests" / "lab" / "lab.yaml"
ARMS = ("A0", "A1", "A2", "A3", "A4", "A5", "A6")


@dataclass(frozen=True)
class Recipe:
    """How big the lab is. `cpu` fits 30 minutes on 2 cores; `smoke` is CI's; `gpu` is for a lent device."""
    name: str = "cpu"
    seeds: tuple[int, ...] = (0, 1, 2)
    arms: tuple[str, ...] = ARMS
    lab: LabSpec = field(default_factory=LabSpec)
    student: StudentSpec = field(default_factory=lambda: StudentSpec(hidden_size=128, intermediate_size=352,
                                                                     num_hidden_layers=2, num_attention_heads=2,
                                                                     num_key_value_heads=1))
    token_budget: int = 400_000      # SFT tokens per student (prompt + completion, padding not counted)
    extra_steps: int = 60            # A2's REDI steps = A3's extra SFT steps
    batch_size: int = 16
    learning_rate: float = 3e-3
    redi_learning_rate: float = 3e-4
    redi_alpha: float = 0.8
    max_length: int = 512
    eval_limit: int = 200
    max_new_tokens: int = 200
    threads: int = 1                 # torch threads per run: 2 threads on a busy 2-core machine run 5x slower


RECIPES = {
    "cpu": Recipe(),
    "smoke": Recipe(name="smoke", seeds=(0,), lab=LabSpec(train=120, test=30, duplicates=4, near_duplicates=4,
                                                          leaked=6),
                    student=StudentSpec(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                        num_attention_heads=2, num_key_value_heads=1, vocab_size=512),
                    token_budget=6_000, extra_steps=3, batch_size=4, max_length=256, eval_limit=12, max_new_tokens=48),
    "gpu": Recipe(name="gpu", seeds=(0, 1, 2, 3, 4), lab=LabSpec(train=8000, test=500, duplicates=200,
                                                                 near_duplicates=200, leaked=100),
                  student=StudentSpec(hidden_size=384, intermediate_size=1024, num_hidden_layers=6,
                                      num_attention_heads=6, num_key_value_heads=2),
                  token_budget=30_000_000, extra_steps=400, batch_size=32, learning_rate=1e-3, eval_limit=500,
                  max_new_tokens=512, threads=8),
}


# --- data ------------------------------------------------------------------------------------------------------
def run_pipeline(out: Path, name: str, decontaminate: bool = True) -> Path:
    """`cotforge run` of the lab manifest on `out/data` (decontamination optionally off); returns the run dir."""
    from curation import manifest as manifest_mod
    from curation.runner import Runner

    doc = yaml.safe_load(MANIFEST.read_text())
    doc["name"] = name
    if not decontaminate:
        doc["decontaminate"]["enabled"] = False
    m = manifest_mod.loads(yaml.safe_dump(doc, sort_keys=False), path=out / f"{name}.yaml", base_dir=out)
    run_dir = out / "runs" / name
    Runner(m, run_dir, options={"quiet": True}).run()
    return run_dir


def exports(out: Path, main_run: Path, leak_run: Path | None, teachers: list[str]) -> dict[str, Path]:
    """One export per arm's data, through the real exporter and its filters."""
    from curation.config.export import ExportFilters
    from curation.export import export_run

    ex = out / "exports"
    plan: dict[str, tuple[Path, str, ExportFilters]] = {
        "all": (main_run, "trl-sft", ExportFilters(positives_only=False)),
        "verified": (main_run, "trl-sft", ExportFilters()),
        "simplified": (main_run, "trl-sft", ExportFilters(reasoning="simplified")),
        "pairs": (main_run, "trl-preference", ExportFilters()),
        **{f"teacher-{t}": (main_run, "trl-sft", ExportFilters(teachers=[t])) for t in teachers},
    }
    if leak_run is not None:
        plan["leaked"] = (leak_run, "trl-sft", ExportFilters())
    paths = {}
    for key, (run, fmt, flt) in plan.items():
        export_run(run, [fmt], ex / key, flt)
        paths[key] = ex / key
    return paths


def mean_tokens(path: Path, tokenizer: Any) -> tuple[float, int]:
    """Mean chat-template tokens per row of an SFT export and the row count."""
    import pyarrow.parquet as pq

    rows = [r for f in sorted(path.glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    if not rows:
        return 0.0, 0
    sample = rows[:: max(1, len(rows) // 500)]
    lens = [len(tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"])
            for r in sample]
    return sum(lens) / len(lens), len(rows)


# --- training and scoring --------------------------------------------------------------------------------------
def _trainer_args(r: Recipe, steps: int, seed: int, lr: float) -> dict[str, Any]:
    return {"max_steps": steps, "per_device_train_batch_size": r.batch_size, "learning_rate": lr,
            "lr_scheduler_type": "cosine", "warmup_steps": max(1, steps // 20), "weight_decay": 0.01,
            "seed": seed, "data_seed": seed, "logging_steps": max(1, steps // 20), "dataloader_num_workers": 0,
            # TRL's configs default to bf16 autocast; CPUs without AMX run bf16 matmuls on a scalar path (py-spy:
            # bf16_dot_with_fp32_arith), many times slower than float32 for this model
            "bf16": _cuda(), "gradient_checkpointing": False}


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def sft(r: Recipe, model: Path, data: Path, out: Path, steps: int, seed: int) -> dict:
    from training.config import DataSpec, ModelSpec, SFTSpec
    from training.sft import train

    # no packing: padding-free packing is built for flash-attention kernels, which the CPU lab does not have
    args = {**_trainer_args(r, steps, seed, r.learning_rate), "max_length": r.max_length, "packing": False}
    cfg = SFTSpec(model=ModelSpec(path=str(model), dtype="float32"), data=DataSpec(path=str(data)), trainer=args,
                  output_dir=str(out), seed=seed)
    return train(cfg)


def redi(r: Recipe, model: Path, data: Path, out: Path, steps: int, seed: int) -> dict:
    from training.config import DataSpec, ModelSpec, REDISpec
    from training.redi import train

    cfg = REDISpec(model=ModelSpec(path=str(model), dtype="float32"), data=DataSpec(path=str(data)),
                   alpha=r.redi_alpha, max_prompt_length=r.max_length, max_completion_length=r.max_length,
                   trainer=_trainer_args(r, steps, seed, r.redi_learning_rate), output_dir=str(out), seed=seed)
    return train(cfg)


def score(r: Recipe, model_dir: Path, items: list[Any]) -> dict[str, Any]:
    """Greedy accuracy (Wilson 95% interval), mean generated tokens, truncation; per item correctness kept."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.quantify.gain import Samples, correctness, wilson

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    import torch

    comps, toks, fin = [], [], []
    tok.padding_side = "left"
    for b in range(0, len(items), 32):
        chunk = items[b:b + 32]
        prompts = [tok.apply_chat_template([{"role": "user", "content": it.problem}], add_generation_prompt=True,
                                           tokenize=False) for it in chunk]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=r.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
        for row in gen[:, enc["input_ids"].shape[1]:].tolist():
            cut = row.index(tok.eos_token_id) if tok.eos_token_id in row else None
            ids = row[:cut] if cut is not None else [t for t in row if t != tok.pad_token_id]
            comps.append([tok.decode(ids, skip_special_tokens=True)])
            toks.append([len(ids)])
            fin.append(["stop" if cut is not None else "length"])
    ok = [c[0] for c in correctness(items, Samples(comps, toks, fin), workers=1)]
    n, k = len(ok), sum(ok)
    lo, hi = wilson(k, n)
    return {"accuracy": k / n if n else 0.0, "ci": [lo, hi], "n": n, "mean_tokens": sum(t[0] for t in toks) / n,
            "truncation_rate": sum(f[0] == "length" for f in fin) / n, "correct": ok,
            "examples": [c[0] for c in comps[:3]]}


# --- the lab ---------------------------------------------------------------------------------------------------
def run_lab(out: Path | str, recipe: Recipe = RECIPES["cpu"], log: Any = print) -> dict[str, Any]:
    """Build data, run the pipeline twice, train and score every arm × seed; write lab.json and report.html."""
    import torch
    from transformers import AutoTokenizer

    from training.quantify.benchmarks import load_benchmark

    torch.set_num_threads(recipe.threads)
    t_start = time.time()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    build(data, recipe.lab)
    student0 = build_student(data / "student", lab_texts(data), recipe.student)
    tok = AutoTokenizer.from_pretrained(student0)
    teachers = [t.name for t in recipe.lab.teachers]
    log(f"lab: data built ({time.time() - t_start:.0f}s); running the pipeline")
    main_run = run_pipeline(out, "lab")
    leak_run = run_pipeline(out, "lab-no-decontam", decontaminate=False) if "A5" in recipe.arms else None
    ex = exports(out, main_run, leak_run, teachers)
    t_data = time.time() - t_start
    log(f"lab: pipeline and exports done ({t_data:.0f}s)")

    test_rows = [json.loads(x) for x in (data / "test.jsonl").open()][: recipe.eval_limit]
    leaked_ids = {json.loads(x)["id"].removesuffix("-leak") for x in (data / "pool.jsonl").open()
                  if json.loads(x)["origin"] == "leaked_test"}
    items = load_benchmark(str(data / "test.jsonl"), limit=recipe.eval_limit)
    is_leaked = [row["id"] in leaked_ids for row in test_rows]

    def steps_for(key: str) -> tuple[int, dict[str, Any]]:
        mt, rows = mean_tokens(ex[key], tok)
        steps = max(1, round(recipe.token_budget / (recipe.batch_size * mt))) if mt else 0
        return steps, {"rows": rows, "mean_row_tokens": round(mt, 1), "steps": steps}

    results: dict[str, Any] = {a: {"seeds": {}, "data": None} for a in recipe.arms}
    sft_arms = {"A0": "all", "A1": "verified", "A4": "simplified", "A5": "leaked"}
    needs_a1 = {"A1", "A2", "A3", "A5"} & set(recipe.arms)
    for seed in recipe.seeds:
        student = out / "students" / f"init-{seed}"
        if not student.exists():
            build_student(student, lab_texts(data), replace(recipe.student, seed=seed))
        for arm, key in sft_arms.items():
            if arm not in recipe.arms and not (arm == "A1" and needs_a1):
                continue
            steps, info = steps_for(key)
            if steps == 0:
                results.setdefault(arm, {"seeds": {}})["data"] = {**info, "skipped": "no rows"}
                continue
            dest = out / "students" / f"{arm}-{seed}"
            t0 = time.time()
            summ = sft(recipe, student, ex[key], dest, steps, seed)
            sc = score(recipe, dest, items)
            results.setdefault(arm, {"seeds": {}})["data"] = info
            results[arm]["seeds"][seed] = {**sc, "train_seconds": summ["seconds"], "seconds": time.time() - t0,
                                           "train_loss": summ["train_loss"]}
            log(f"lab: {arm} seed {seed}: accuracy {sc['accuracy']:.3f} tokens {sc['mean_tokens']:.0f} "
                f"({time.time() - t0:.0f}s)")
        a1 = out / "students" / f"A1-{seed}"
        if "A2" in recipe.arms:
            dest, t0 = out / "students" / f"A2-{seed}", time.time()
            summ = redi(recipe, a1, ex["pairs"], dest, recipe.extra_steps, seed)
            sc = score(recipe, dest, items)
            results["A2"]["data"] = {"pairs_used": summ.get("pairs"), "steps": recipe.extra_steps,
                                     "dropped": summ.get("dropped")}
            results["A2"]["seeds"][seed] = {**sc, "seconds": time.time() - t0, "curves": _redi_curves(dest)}
            log(f"lab: A2 seed {seed}: accuracy {sc['accuracy']:.3f}")
        if "A3" in recipe.arms:
            dest, t0 = out / "students" / f"A3-{seed}", time.time()
            sft(recipe, a1, ex["verified"], dest, recipe.extra_steps, seed + 1000)
            sc = score(recipe, dest, items)
            results["A3"]["data"] = {"steps": recipe.extra_steps, "from": "A1"}
            results["A3"]["seeds"][seed] = {**sc, "seconds": time.time() - t0}
            log(f"lab: A3 seed {seed}: accuracy {sc['accuracy']:.3f}")
        if "A6" in recipe.arms:
            per = results["A6"]["seeds"].setdefault(seed, {})
            for t in teachers:
                steps, info = steps_for(f"teacher-{t}")
                if steps == 0:
                    per[t] = {"skipped": "no verified rows", **info}
                    continue
                dest = out / "students" / f"A6-{t}-{seed}"
                summ = sft(recipe, student, ex[f"teacher-{t}"], dest, steps, seed)
                per[t] = {**score(recipe, dest, items), **info}
                log(f"lab: A6 {t} seed {seed}: accuracy {per[t]['accuracy']:.3f}")
        _cleanup(out, seed)

    lab = summarize(recipe, results, is_leaked, teachers, main_run)
    lab["seconds"] = {"data": round(t_data, 1), "total": round(time.time() - t_start, 1)}
    (out / "lab.json").write_text(json.dumps(lab, indent=2, default=str) + "\n")
    from .report import write_report

    write_report(out, lab)
    return lab


def _cleanup(out: Path, seed: int) -> None:
    """Checkpoints are big next to the numbers: keep A1 (A2/A3 start from it) only until its seed is done."""
    for d in (out / "students").glob(f"*-{seed}"):
        for f in d.glob("checkpoint-*"):
            shutil.rmtree(f, ignore_errors=True)


def _redi_curves(run_dir: Path) -> dict[str, list]:
    path = run_dir / "metrics.jsonl"
    out: dict[str, list] = {"step": [], "logps_chosen": [], "logps_rejected": []}
    if not path.exists():
        return out
    for line in path.open():
        rec = json.loads(line)
        if "logps_chosen" in rec and "logps_rejected" in rec:
            out["step"].append(rec.get("step"))
            out["logps_chosen"].append(rec["logps_chosen"])
            out["logps_rejected"].append(rec["logps_rejected"])
    return out


def _mean_ci(values: list[float]) -> dict[str, Any]:
    """Mean over seeds with a t-based 95% interval (None with one seed)."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"mean": None, "ci": None, "n": 0}
    m = sum(values) / n
    if n < 2:
        return {"mean": m, "ci": None, "n": n}
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    h = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return {"mean": m, "ci": [m - h, m + h], "sd": sd, "n": n}


def summarize(recipe: Recipe, results: dict[str, Any], is_leaked: list[bool], teachers: list[str],
              main_run: Path) -> dict[str, Any]:
    arms: dict[str, Any] = {}
    for arm in recipe.arms:
        res = results.get(arm, {"seeds": {}})
        if arm == "A6":
            continue
        seeds = res["seeds"]
        accs = [s["accuracy"] for s in seeds.values()]
        toks = [s["mean_tokens"] for s in seeds.values()]
        entry = {"seeds": sorted(seeds), "accuracy": _mean_ci(accs), "mean_tokens": _mean_ci(toks),
                 "per_seed": {k: {kk: v for kk, v in s.items() if kk != "correct"} for k, s in seeds.items()},
                 "data": res.get("data")}
        if any(is_leaked) and seeds:
            def split_acc(s: dict) -> tuple[float, float]:
                lk = [c for c, f in zip(s["correct"], is_leaked) if f]
                cl = [c for c, f in zip(s["correct"], is_leaked) if not f]
                return (sum(lk) / len(lk) if lk else float("nan"), sum(cl) / len(cl) if cl else float("nan"))
            pairs = [split_acc(s) for s in seeds.values()]
            entry["leaked_vs_clean"] = {"leaked": _mean_ci([p[0] for p in pairs]),
                                        "clean": _mean_ci([p[1] for p in pairs]),
                                        "inflation": _mean_ci([p[0] - p[1] for p in pairs]),
                                        "n_leaked": sum(is_leaked), "n_clean": len(is_leaked) - sum(is_leaked)}
        arms[arm] = entry
    lab: dict[str, Any] = {"recipe": recipe.name, "seeds": list(recipe.seeds), "arms": arms,
                           "config": _jsonable(asdict(recipe))}
    if "A6" in recipe.arms:
        lab["arms"]["A6"] = a6_summary(results["A6"]["seeds"], teachers, main_run)
    lab["comparisons"] = comparisons(arms)
    return lab


def comparisons(arms: dict[str, Any]) -> dict[str, Any]:
    """Paired (same seed) differences for the issue's questions."""
    def diff(a: str, b: str, key: str = "accuracy") -> dict[str, Any] | None:
        if a not in arms or b not in arms:
            return None
        sa, sb = arms[a]["per_seed"], arms[b]["per_seed"]
        common = [s for s in sa if s in sb]
        return {**_mean_ci([sa[s][key] - sb[s][key] for s in common]), "of": f"{a} - {b}", "metric": key}
    return {"verification (A1 - A0)": diff("A1", "A0"), "REDI vs control (A2 - A3)": diff("A2", "A3"),
            "simplification accuracy (A4 - A1)": diff("A4", "A1"),
            "simplification tokens (A4 - A1)": diff("A4", "A1", "mean_tokens")}


def a6_summary(per_seed: dict[int, dict[str, Any]], teachers: list[str], main_run: Path) -> dict[str, Any]:
    from scipy import stats

    from curation.audit.report import AuditOptions, run_audit

    audit = run_audit(main_run, main_run / "report" / "audit", AuditOptions(embeddings=False))
    ranking = audit.get("ranking") or {}
    audit_score = {r["teacher"]: r.get("score") for r in ranking.get("table") or []}
    student: dict[str, Any] = {}
    for t in teachers:
        accs = [s[t]["accuracy"] for s in per_seed.values() if t in s and "accuracy" in s[t]]
        student[t] = _mean_ci(accs)
    both = [t for t in teachers if audit_score.get(t) is not None and student[t]["mean"] is not None]
    accs = [student[t]["mean"] for t in both]
    if len(both) >= 3 and len(set(accs)) > 1:
        res = stats.spearmanr([audit_score[t] for t in both], accs)
        rho = {"rho": float(res.statistic), "p": float(res.pvalue), "n": len(both)}
    else:  # a constant column has no rank correlation (e.g. every student at 0%)
        rho = {"rho": None, "n": len(both), "why": "fewer than 3 teachers or all students tie"}
    return {"seeds": sorted(per_seed), "audit_score": audit_score, "student_accuracy": student, "spearman": rho,
            "per_seed": {s: {t: {k: v for k, v in d.items() if k != "correct"} for t, d in v.items()}
                         for s, v in per_seed.items()}}


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--recipe", default="cpu", choices=sorted(RECIPES))
    a = ap.parse_args(argv)
    lab = run_lab(a.out, RECIPES[a.recipe])
    print(json.dumps(lab["comparisons"], indent=2, default=str))


if __name__ == "__main__":
    main()
