"""The lab's arms: every curation choice as a student trained from scratch and scored on the test split.

One pipeline run (manifests/lab/lab.yaml) builds the data, a second one with decontamination off builds A5's; every
arm is then an export filter or a training step on the real exports, trained with `training.sft` / `training.redi`
and scored greedily on the lab's test split (verdicts by `training.quantify.gain.correctness`):
- A0 SFT on every trace (no verification) vs A1 SFT on verified-correct traces;
- A2 = A1 then REDI on (correct, incorrect) pairs vs A3 = A1 then as many more SFT steps (the control);
- A4 SFT on DLCoT-simplified correct traces (export `reasoning: simplified`) vs A1: accuracy and tokens generated;
- A5 decontamination off: test problems leak into training; inflation = its accuracy on the leaked test problems
  minus on the clean ones, next to A1's same difference;
- A6 one student per teacher; the audit's teacher ranking vs the students' accuracies (Spearman).
SFT arms get the same token budget: steps = budget / (batch × mean tokens of the arm's rows). Students train
`Recipe.workers` at a time in separate processes; each one's result is saved next to it so a stopped run resumes.
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
    """How big the lab is. `cpu`: about 30 CPU minutes, two students at a time (15-17 min on 2 idle cores; its
    0.47M-parameter students see 0.14 epoch and stay near the constant-answer floor, see docs/DECISIONS.md);
    `smoke` is CI's; `gpu` is for a lent device."""

    name: str = "cpu"
    seeds: tuple[int, ...] = (0, 1, 2)
    arms: tuple[str, ...] = ARMS
    lab: LabSpec = field(default_factory=LabSpec)
    student: StudentSpec = field(
        default_factory=lambda: StudentSpec(
            hidden_size=128, intermediate_size=352, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1
        )
    )
    token_budget: int = 200_000  # SFT tokens per student (prompt + completion, padding not counted)
    extra_steps: int = 40  # A2's REDI steps = A3's extra SFT steps
    batch_size: int = 16
    learning_rate: float = 3e-3
    redi_learning_rate: float = 3e-4
    redi_alpha: float = 0.8
    max_length: int = 512
    eval_limit: int = 200
    max_new_tokens: int = 200
    eval_batch: int = 100
    passk: int = 4  # samples per problem for pass@k (arms in passk_arms only; 0 = off)
    passk_arms: tuple[str, ...] = ("A1",)
    temperature: float = 0.7
    threads: int = 1  # torch threads per student: 2 threads on a busy 2-core machine run 5x slower
    workers: int = 2  # students trained at once, in separate processes


RECIPES = {
    "cpu": Recipe(),
    "smoke": Recipe(
        name="smoke",
        seeds=(0,),
        lab=LabSpec(train=120, test=30, duplicates=4, near_duplicates=4, leaked=6),
        student=StudentSpec(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=1,
            vocab_size=512,
        ),
        token_budget=6_000,
        extra_steps=3,
        batch_size=4,
        max_length=256,
        eval_limit=12,
        max_new_tokens=48,
        passk=2,
    ),
    "gpu": Recipe(
        name="gpu",
        seeds=(0, 1, 2, 3, 4),
        lab=LabSpec(train=8000, test=500, duplicates=200, near_duplicates=200, leaked=100),
        student=StudentSpec(
            hidden_size=384, intermediate_size=1024, num_hidden_layers=6, num_attention_heads=6, num_key_value_heads=2
        ),
        token_budget=30_000_000,
        extra_steps=400,
        batch_size=32,
        learning_rate=1e-3,
        eval_limit=500,
        max_new_tokens=512,
        passk=8,
        passk_arms=ARMS,
        threads=8,
        workers=1,
    ),
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
    lens = [
        len(tokenizer.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"]) for r in sample
    ]
    return sum(lens) / len(lens), len(rows)


# --- training and scoring --------------------------------------------------------------------------------------
def _trainer_args(r: Recipe, steps: int, seed: int, lr: float) -> dict[str, Any]:
    return {
        "max_steps": steps,
        "per_device_train_batch_size": r.batch_size,
        "learning_rate": lr,
        "lr_scheduler_type": "cosine",
        "warmup_steps": max(1, steps // 20),
        "weight_decay": 0.01,
        "seed": seed,
        "data_seed": seed,
        "logging_steps": max(1, steps // 20),
        "dataloader_num_workers": 0,
        # TRL's configs default to bf16 autocast; CPUs without AMX run bf16 matmuls on a scalar path (py-spy:
        # bf16_dot_with_fp32_arith), many times slower than float32 for this model
        "bf16": _cuda(),
        "gradient_checkpointing": False,
    }


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def sft(r: Recipe, model: Path, data: Path, out: Path, steps: int, seed: int) -> dict:
    from training.config import DataSpec, ModelSpec, SFTSpec
    from training.sft import train

    # no packing: padding-free packing is built for flash-attention kernels, which the CPU lab does not have
    args = {**_trainer_args(r, steps, seed, r.learning_rate), "max_length": r.max_length, "packing": False}
    cfg = SFTSpec(
        model=ModelSpec(path=str(model), dtype="float32"),
        data=DataSpec(path=str(data)),
        trainer=args,
        output_dir=str(out),
        seed=seed,
    )
    return train(cfg)


def redi(r: Recipe, model: Path, data: Path, out: Path, steps: int, seed: int) -> dict:
    from training.config import DataSpec, ModelSpec, REDISpec
    from training.redi import train

    cfg = REDISpec(
        model=ModelSpec(path=str(model), dtype="float32"),
        data=DataSpec(path=str(data)),
        alpha=r.redi_alpha,
        max_prompt_length=r.max_length,
        max_completion_length=r.max_length,
        trainer=_trainer_args(r, steps, seed, r.redi_learning_rate),
        output_dir=str(out),
        seed=seed,
    )
    return train(cfg)


def _generate(
    tok: Any,
    model: Any,
    items: list[Any],
    max_new_tokens: int,
    batch: int,
    k: int = 1,
    temperature: float | None = None,
) -> Any:
    """k completions per item (greedy when k == 1 and no temperature), as `training.quantify.gain.Samples`."""
    import torch

    from training.quantify.gain import Samples

    comps: list[list[str]] = []
    toks: list[list[int]] = []
    fin: list[list[str]] = []
    tok.padding_side = "left"
    sample = temperature is not None
    for b in range(0, len(items), batch):
        chunk = items[b : b + batch]
        prompts = [
            tok.apply_chat_template(
                [{"role": "user", "content": it.problem}], add_generation_prompt=True, tokenize=False
            )
            for it in chunk
        ]
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(
                **enc,
                max_new_tokens=max_new_tokens,
                do_sample=sample,
                temperature=temperature,
                top_p=None,
                top_k=None,
                num_return_sequences=k,
                pad_token_id=tok.pad_token_id,
                eos_token_id=tok.eos_token_id,
            )
        rows = gen[:, enc["input_ids"].shape[1] :].tolist()
        for i in range(len(chunk)):  # generate returns the k samples of a prompt next to each other
            c, t, f = [], [], []
            for row in rows[i * k : (i + 1) * k]:
                cut = row.index(tok.eos_token_id) if tok.eos_token_id in row else None
                ids = row[:cut] if cut is not None else [x for x in row if x != tok.pad_token_id]
                c.append(tok.decode(ids, skip_special_tokens=True))
                t.append(len(ids))
                f.append("stop" if cut is not None else "length")
            comps.append(c)
            toks.append(t)
            fin.append(f)
    return Samples(comps, toks, fin)


def score(r: Recipe, model_dir: Path, items: list[Any], passk: bool = False) -> dict[str, Any]:
    """Greedy accuracy (Wilson 95% interval), mean generated tokens, truncation; per item correctness kept.
    With `passk`, also `r.passk` samples per problem at `r.temperature`: sampled pass@1 and the unbiased pass@k."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.quantify.gain import correctness, summarize, wilson

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    greedy = _generate(tok, model, items, r.max_new_tokens, r.eval_batch)
    ok = [c[0] for c in correctness(items, greedy, workers=1)]
    n, k = len(ok), sum(ok)
    lo, hi = wilson(k, n)
    out = {
        "accuracy": k / n if n else 0.0,
        "ci": [lo, hi],
        "n": n,
        "mean_tokens": sum(t[0] for t in greedy.tokens) / n,
        "truncation_rate": sum(f[0] == "length" for f in greedy.finish) / n,
        "correct": ok,
        "examples": [c[0] for c in greedy.completions[:3]],
        "distinct_answers": _distinct(greedy.completions),
    }
    if passk and r.passk > 1:
        import torch

        torch.manual_seed(0)
        sampled = _generate(
            tok, model, items, r.max_new_tokens, max(1, r.eval_batch // r.passk), r.passk, r.temperature
        )
        res = summarize(items, sampled, ks=tuple(range(2, r.passk + 1)), workers=1)
        out["sampled"] = {
            "k": r.passk,
            "temperature": r.temperature,
            "pass@1": res["pass@1"],
            "pass@1_sem": res["pass@1_sem"],
            "mean_tokens": res["mean_tokens"],
            **{f"pass@{j}": res[f"pass@{j}"] for j in range(2, r.passk + 1)},
        }
    return out


def _distinct(completions: list[list[str]]) -> int:
    """How many different final answers the greedy completions give (extracted as the verifier extracts them)."""
    from verifiers.math.extract import extract

    found = (extract(c[0]) for c in completions)
    return len({e.answer.strip() for e in found if e.found})


# --- jobs --------------------------------------------------------------------------------------------------------
SFT_DATA = {"A0": "all", "A1": "verified", "A4": "simplified", "A5": "leaked"}


@dataclass(frozen=True)
class Job:
    """One student: an SFT arm (A0, A1, A4, A5), A6 for one teacher, or A2 / A3 (both start from the seed's A1)."""

    arm: str
    seed: int
    teacher: str | None = None

    @property
    def dest(self) -> str:
        return f"{self.arm}-{self.teacher}-{self.seed}" if self.teacher else f"{self.arm}-{self.seed}"


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_job(ctx: dict[str, Any], job: Job) -> dict[str, Any]:
    """Train and score one student; runs in a worker process (`ctx` holds only paths, the recipe and the items)."""
    r: Recipe = ctx["recipe"]
    out: Path = ctx["out"]
    ex: dict[str, Path] = ctx["exports"]
    students = out / "students"
    dest, t0 = students / job.dest, time.time()
    done = dest / "lab_result.json"
    key = recipe_key(r)
    if done.exists():  # a rerun of the same recipe on the same folder picks up where a stopped run left off
        saved = json.loads(done.read_text())
        if saved.get("recipe_key") == key:
            return {"job": job, "info": saved["info"], "score": saved["score"]}
    res: dict[str, Any] = {"job": job}
    if job.arm in ("A2", "A3"):
        a1 = students / f"A1-{job.seed}"
        if job.arm == "A2":
            summ = redi(r, a1, ex["pairs"], dest, r.extra_steps, job.seed)
            res["info"] = {
                "pairs_used": summ.get("pairs"),
                "steps": r.extra_steps,
                "dropped": summ.get("dropped"),
                "alpha": r.redi_alpha,
                "learning_rate": r.redi_learning_rate,
            }
        else:  # the control: as many more SFT steps on A1's data, from A1
            summ = sft(r, a1, ex["verified"], dest, r.extra_steps, job.seed + 1000)
            res["info"] = {"steps": r.extra_steps, "from": "A1", "learning_rate": r.learning_rate}
    else:
        key = f"teacher-{job.teacher}" if job.arm == "A6" else SFT_DATA[job.arm]
        steps, info = ctx["steps"][key]
        summ = sft(r, students / f"init-{job.seed}", ex[key], dest, steps, job.seed)
        res["info"] = info
    sc = score(r, dest, ctx["items"], passk=job.arm in r.passk_arms)
    if job.arm == "A2":
        sc["curves"] = _redi_curves(dest)
    res["score"] = {
        **sc,
        "train_seconds": summ.get("seconds"),
        "seconds": round(time.time() - t0, 1),
        "train_loss": summ.get("train_loss"),
    }
    for f in dest.glob("checkpoint-*"):  # the final model is in dest itself; checkpoints are only size
        shutil.rmtree(f, ignore_errors=True)
    done.write_text(json.dumps({"recipe_key": key, "info": res["info"], "score": res["score"]}, default=str) + "\n")
    return res


def recipe_key(r: Recipe) -> str:
    """A hash of the recipe less which seeds, arms and workers run: a saved student result is reused only when
    everything that shapes it is the same."""
    import hashlib

    doc = {k: v for k, v in _jsonable(asdict(r)).items() if k not in ("name", "seeds", "arms", "workers")}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _jobs(recipe: Recipe, teachers: list[str]) -> list[Job]:
    """A1 first (A2 and A3 wait for it), then the other students, longest data first; seeds interleaved."""
    arms = set(recipe.arms)
    order: list[Job] = []
    if arms & {"A1", "A2", "A3"}:
        order += [Job("A1", s) for s in recipe.seeds]
    for arm in ("A0", "A5", "A4"):
        if arm in arms:
            order += [Job(arm, s) for s in recipe.seeds]
    if "A6" in arms:
        order += [Job("A6", s, t) for t in teachers for s in recipe.seeds]
    return order


def run_jobs(ctx: dict[str, Any], jobs: list[Job], workers: int, log: Any) -> list[dict[str, Any]]:
    """Every job, `workers` at a time in spawned processes (one torch thread each); A2 and A3 of a seed are queued
    first as soon as that seed's A1 is done. workers <= 1 runs them in this process."""
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from multiprocessing import get_context

    r: Recipe = ctx["recipe"]
    queue, done = deque(jobs), []

    def finished(res: dict[str, Any]) -> None:
        job, sc = res["job"], res["score"]
        done.append(res)
        log(f"lab: {job.dest}: accuracy {sc['accuracy']:.3f} tokens {sc['mean_tokens']:.0f} ({sc['seconds']:.0f}s)")
        if job.arm == "A1":
            queue.extendleft(Job(a, job.seed) for a in ("A3", "A2") if a in r.arms)

    if workers <= 1:
        _init_worker(r.threads)
        while queue:
            finished(run_job(ctx, queue.popleft()))
        return done
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(r.threads,)
    ) as pool:
        running: dict[Any, Job] = {}
        while queue or running:
            while queue and len(running) < workers:
                job = queue.popleft()
                running[pool.submit(run_job, ctx, job)] = job
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in ready:
                running.pop(f)
                finished(f.result())
    return done


def eval_items(items: list[Any], leaked_ids: set[str], limit: int | None) -> list[Any]:
    """The evaluation subset: the test split up to `limit` problems, with the leaked ones at least their share of
    the split and at least a quarter of the subset (as many as there are), so a cut keeps A5's inflation measurable."""
    if not limit or limit >= len(items):
        return items
    leaked = [it for it in items if it.id in leaked_ids]
    want = min(len(leaked), max(math.ceil(limit * len(leaked) / len(items)), limit // 4))
    clean = [it.id for it in items if it.id not in leaked_ids]
    keep = {it.id for it in leaked[:want]} | set(clean[: limit - want])
    return [it for it in items if it.id in keep]


# --- the lab ---------------------------------------------------------------------------------------------------
def run_lab(out: Path | str, recipe: Recipe = RECIPES["cpu"], log: Any = print) -> dict[str, Any]:
    """Build data, run the pipeline twice, train and score every arm × seed; write lab.json and report.html."""
    import torch
    from transformers import AutoTokenizer

    from training.quantify.benchmarks import load_benchmark

    from .student import init_student

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

    leaked_ids = {
        json.loads(x)["id"].removesuffix("-leak")
        for x in (data / "pool.jsonl").open()
        if json.loads(x)["origin"] == "leaked_test"
    }
    items = eval_items(load_benchmark(str(data / "test.jsonl")), leaked_ids, recipe.eval_limit)
    is_leaked = [it.id in leaked_ids for it in items]

    # the data side is seed-independent: token counts and step counts once per export
    steps: dict[str, tuple[int, dict[str, Any]]] = {}
    for key in ex:
        if key == "pairs":
            continue
        mt, rows = mean_tokens(ex[key], tok)
        n = max(1, round(recipe.token_budget / (recipe.batch_size * mt))) if mt else 0
        steps[key] = (n, {"rows": rows, "mean_row_tokens": round(mt, 1), "steps": n})
    for seed in recipe.seeds:  # one tokenizer (trained on the lab's text), one initial model per seed
        init, spec = out / "students" / f"init-{seed}", replace(recipe.student, seed=seed)
        meta = init / "lab_student.json"
        if not meta.exists() or {k: v for k, v in json.loads(meta.read_text()).items() if k != "parameters"} != asdict(
            spec
        ):
            init_student(student0, init, spec)

    results: dict[str, Any] = {a: {"seeds": {}, "data": None} for a in recipe.arms}
    jobs = _jobs(recipe, teachers)
    for job in list(jobs):  # students with no data are recorded as skipped, not trained
        key = f"teacher-{job.teacher}" if job.arm == "A6" else SFT_DATA.get(job.arm)
        if key and steps[key][0] == 0:
            jobs.remove(job)
            if job.arm == "A6":
                results["A6"]["seeds"].setdefault(job.seed, {})[job.teacher] = {"skipped": "no rows", **steps[key][1]}
            else:
                results[job.arm]["data"] = {**steps[key][1], "skipped": "no rows"}
    ctx = {"recipe": recipe, "out": out, "exports": ex, "steps": steps, "items": items}
    t_train = time.time()
    for res in run_jobs(ctx, jobs, recipe.workers, log):
        job = res["job"]
        if job.arm == "A6":
            results["A6"]["seeds"].setdefault(job.seed, {})[job.teacher] = {**res["score"], **res["info"]}
        elif job.arm in results:
            results[job.arm]["data"] = res["info"]
            results[job.arm]["seeds"][job.seed] = res["score"]
    results = {a: {**v, "seeds": dict(sorted(v["seeds"].items()))} for a, v in results.items()}

    kind_of = {json.loads(x)["id"]: json.loads(x).get("kind", "?") for x in (data / "test.jsonl").open()}
    lab = summarize(
        recipe,
        results,
        is_leaked,
        teachers,
        main_run,
        [str(it.answer) for it in items],
        [kind_of.get(it.id, "?") for it in items],
    )
    lab["seconds"] = {
        "data": round(t_data, 1),
        "students": round(time.time() - t_train, 1),
        "total": round(time.time() - t_start, 1),
    }
    (out / "lab.json").write_text(json.dumps(lab, indent=2, default=str) + "\n")
    from .report import write_report

    write_report(out, lab)
    return lab


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


def answer_floor(answers: list[str], kinds: list[str] | None = None) -> dict[str, Any]:
    """The accuracy of a student that answers the evaluation set's most common answer every time: an arm at this
    floor has learned the output format, not the task. With `kinds` (each problem's task kind), also the floor of a
    student that gives each kind's most common answer (e.g. "0" to every remainder problem): the prompt names the
    kind, so this floor needs no arithmetic either, and it is the one to beat."""
    from collections import Counter

    if not answers:
        return {}
    modal, n = Counter(answers).most_common(1)[0]
    out: dict[str, Any] = {"modal_answer": modal, "modal_answer_accuracy": n / len(answers)}
    if kinds is not None:
        if len(kinds) != len(answers):
            raise ValueError(f"answer_floor: {len(kinds)} kinds for {len(answers)} answers; pass one kind per answer")
        by: dict[str, Counter] = {}
        for a, k in zip(answers, kinds):
            by.setdefault(k, Counter())[a] += 1
        out["per_kind_modal_answer"] = {k: c.most_common(1)[0][0] for k, c in sorted(by.items())}
        out["per_kind_modal_accuracy"] = sum(c.most_common(1)[0][1] for c in by.values()) / len(answers)
    return out


def summarize(
    recipe: Recipe,
    results: dict[str, Any],
    is_leaked: list[bool],
    teachers: list[str],
    main_run: Path,
    answers: list[str] | None = None,
    kinds: list[str] | None = None,
) -> dict[str, Any]:
    arms: dict[str, Any] = {}
    for arm in recipe.arms:
        res = results.get(arm, {"seeds": {}})
        if arm == "A6":
            continue
        seeds = res["seeds"]
        accs = [s["accuracy"] for s in seeds.values()]
        toks = [s["mean_tokens"] for s in seeds.values()]
        entry = {
            "seeds": sorted(seeds),
            "accuracy": _mean_ci(accs),
            "mean_tokens": _mean_ci(toks),
            "per_seed": {k: {kk: v for kk, v in s.items() if kk != "correct"} for k, s in seeds.items()},
            "data": res.get("data"),
        }
        sampled = [s["sampled"] for s in seeds.values() if "sampled" in s]
        if sampled:
            k = sampled[0]["k"]
            entry["sampled"] = {
                "k": k,
                "temperature": sampled[0]["temperature"],
                "pass@1": _mean_ci([x["pass@1"] for x in sampled]),
                f"pass@{k}": _mean_ci([x[f"pass@{k}"] for x in sampled]),
                "mean_tokens": _mean_ci([x["mean_tokens"] for x in sampled]),
            }
        if seeds:  # each student's output spread: one answer for every problem = the floor, not arithmetic
            entry["distinct_answers"] = _mean_ci(
                [s["distinct_answers"] for s in seeds.values() if "distinct_answers" in s]
            )
        if any(is_leaked) and seeds:

            def split_acc(s: dict) -> tuple[float, float]:
                lk = [c for c, f in zip(s["correct"], is_leaked) if f]
                cl = [c for c, f in zip(s["correct"], is_leaked) if not f]
                return (sum(lk) / len(lk) if lk else float("nan"), sum(cl) / len(cl) if cl else float("nan"))

            pairs = {sd: split_acc(s) for sd, s in seeds.items()}
            entry["leaked_vs_clean"] = {
                "leaked": _mean_ci([p[0] for p in pairs.values()]),
                "clean": _mean_ci([p[1] for p in pairs.values()]),
                "inflation": _mean_ci([p[0] - p[1] for p in pairs.values()]),
                "per_seed": {sd: {"leaked": p[0], "clean": p[1]} for sd, p in pairs.items()},
                "n_leaked": sum(is_leaked),
                "n_clean": len(is_leaked) - sum(is_leaked),
            }
        arms[arm] = entry
    lab: dict[str, Any] = {
        "recipe": recipe.name,
        "seeds": list(recipe.seeds),
        "arms": arms,
        "eval": {"problems": len(is_leaked), "leaked": sum(is_leaked), **answer_floor(answers or [], kinds)},
        "config": _jsonable(asdict(recipe)),
    }
    if "A6" in recipe.arms:
        lab["arms"]["A6"] = a6_summary(results["A6"]["seeds"], teachers, main_run)
    lab["comparisons"] = comparisons(arms)
    return lab


def comparisons(arms: dict[str, Any]) -> dict[str, Any]:
    """Paired (same seed) differences for the issue's questions, each with a t-interval over seeds."""

    def diff(a: str, b: str, key: str = "accuracy") -> dict[str, Any] | None:
        if a not in arms or b not in arms:
            return None
        sa, sb = arms[a]["per_seed"], arms[b]["per_seed"]
        common = [s for s in sa if s in sb]
        return {**_mean_ci([sa[s][key] - sb[s][key] for s in common]), "of": f"{a} - {b}", "metric": key}

    def inflation(a: str, b: str) -> dict[str, Any] | None:
        la, lb = (arms.get(x, {}).get("leaked_vs_clean") for x in (a, b))
        if not la or not lb:
            return None
        pa, pb = la["per_seed"], lb["per_seed"]
        d = [(pa[s]["leaked"] - pa[s]["clean"]) - (pb[s]["leaked"] - pb[s]["clean"]) for s in pa if s in pb]
        return {**_mean_ci(d), "of": f"inflation {a} - inflation {b}", "metric": "accuracy"}

    return {
        "verification (A1 - A0)": diff("A1", "A0"),
        "REDI vs control (A2 - A3)": diff("A2", "A3"),
        "REDI vs its start (A2 - A1)": diff("A2", "A1"),
        "control vs its start (A3 - A1)": diff("A3", "A1"),
        "simplification accuracy (A4 - A1)": diff("A4", "A1"),
        "simplification tokens (A4 - A1)": diff("A4", "A1", "mean_tokens"),
        "leak inflation (A5 - A1)": inflation("A5", "A1"),
        "leak accuracy (A5 - A1)": diff("A5", "A1"),
    }


def exact_spearman_p(x: list[float], y: list[float]) -> float:
    """Two-sided permutation p-value of Spearman's rho (every permutation of y; exact for the n <= 8 of A6)."""
    from itertools import permutations

    from scipy import stats

    rho = stats.spearmanr(x, y).statistic
    hits = total = 0
    for perm in permutations(y):
        r = stats.spearmanr(x, perm).statistic
        hits += abs(r) >= abs(rho) - 1e-12
        total += 1
    return hits / total


def a6_summary(per_seed: dict[int, dict[str, Any]], teachers: list[str], main_run: Path) -> dict[str, Any]:
    """The audit's teacher ranking (`cotforge audit` on the lab run) next to the accuracy of the student each
    teacher's verified traces train. The audit ranks by pass rate with ties for overlapping intervals; its score
    here is minus the rank, so higher = better on both axes."""
    from scipy import stats

    from curation.audit.report import AuditOptions, run_audit

    audit = run_audit(main_run, main_run / "report" / "audit", AuditOptions(embeddings=False))
    table = (audit.get("ranking") or {}).get("table") or []
    audit_score = {r["teacher"]: -float(r["rank"]) for r in table if r.get("rank") is not None}
    audit_rows = {
        r["teacher"]: {
            k: r.get(k) for k in ("rank_label", "pass_rate", "truncation_rate", "malformed_rate", "tokens_correct")
        }
        for r in table
    }
    student: dict[str, Any] = {}
    for t in teachers:
        accs = [s[t]["accuracy"] for s in per_seed.values() if t in s and "accuracy" in s[t]]
        student[t] = _mean_ci(accs)
    both = [t for t in teachers if audit_score.get(t) is not None and student[t]["mean"] is not None]
    accs = [student[t]["mean"] for t in both]
    if len(both) >= 3 and len(set(accs)) > 1 and len({audit_score[t] for t in both}) > 1:
        x = [audit_score[t] for t in both]
        res = stats.spearmanr(x, accs)
        rho = {
            "rho": float(res.statistic),
            "p_exact": exact_spearman_p(x, accs),
            "n": len(both),
            "note": f"n = {len(both)} teachers: only a perfect or near-perfect ranking can reach p < 0.05",
        }
    else:  # a constant column has no rank correlation (e.g. every student at 0%)
        rho = {"rho": None, "n": len(both), "why": "fewer than 3 teachers, or all students or all audit ranks tie"}
    return {
        "seeds": sorted(per_seed),
        "audit_score": audit_score,
        "audit": audit_rows,
        "student_accuracy": student,
        "spearman": rho,
        "per_seed": {
            s: {t: {k: v for k, v in d.items() if k != "correct"} for t, d in v.items()}
            for s, v in sorted(per_seed.items())
        },
    }


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
