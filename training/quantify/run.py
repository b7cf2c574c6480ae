"""Orchestrates `cotforge quantify`: one engine per model (cotforge's teacher backends), every prompt it must answer
in one pass, then gain, identity and similarity from the saved generations."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from curation.config.distill import TeacherConfig
from curation.errors import UserError

from ..config import QuantifySpec
from . import gain, identity, similarity
from .benchmarks import Item, load_benchmark

console = Console(stderr=True)


def teacher_config(name: str, spec: dict[str, Any], defaults: dict[str, Any], n: int | None = None) -> TeacherConfig:
    gen = {**defaults, **(spec.get("generation") or {}), "prompt_template": "{problem}"}
    if n is not None:
        gen["n"] = n
    try:
        return TeacherConfig.model_validate({**spec, "name": name, "generation": gen})
    except ValidationError as e:
        probs = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise UserError(f"quantify config: models.{name}: {probs}") from None


def generate(t: TeacherConfig, prompts: list[str], backend: Any = None) -> gain.Samples:
    """n samples per prompt through the teacher's backend (vLLM, OpenAI-compatible server, or transformers).

    The sampling travels with each request, so one loaded backend serves calls with different `n`/`max_tokens`."""
    from curation.teachers import make_backend
    from curation.teachers.requests import build_requests

    own = backend is None
    backend = backend or make_backend(t)
    requests = build_requests(t, [{"query_id": str(i), "problem": p} for i, p in enumerate(prompts)])
    by_q: dict[int, list[Any]] = {i: [] for i in range(len(prompts))}
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"{t.name}: generating", total=len(requests))
        req_of = {r.key: r for r in requests}
        for res in backend.generate(requests):
            req = req_of[res.key]
            if not res.ok:
                raise UserError(f"model {t.name!r}: generation failed ({res.error_kind}): {res.error}")
            by_q[int(req.query_id)].extend(res.choices)
            bar.advance(task)
    if own:
        _close(backend)
    comps, toks, fin = [], [], []
    for i in range(len(prompts)):
        ch = sorted(by_q[i], key=lambda c: c.sample_index)
        comps.append([c.completion for c in ch])
        toks.append([c.completion_tokens for c in ch])
        fin.append([c.finish_reason for c in ch])
    return gain.Samples(comps, toks, fin)


def _label(name: str) -> str:
    """A benchmark's short name in results: the file stem for user files."""
    return Path(name).stem if name.endswith((".jsonl", ".json")) else name


def _close(backend: Any) -> None:
    close = getattr(backend, "close", None)
    if close:
        close()


def _prompt(item: Item, template: str) -> str:
    return template.format(problem=item.problem) if item.domain == "math" else item.problem


def _judge_fn(spec: dict[str, Any] | None, defaults: dict[str, Any]) -> Any:
    if spec is None:
        return None
    from curation.teachers import make_backend

    t = teacher_config("judge", spec, {**defaults, "temperature": 0.0, "max_tokens": 64}, n=1)
    backend = make_backend(t)
    return lambda prompts: [c[0] for c in generate(t, prompts, backend).completions]


def quantify(cfg: QuantifySpec) -> dict[str, Any]:
    out_dir = Path(cfg.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    benches = {_label(b.name): load_benchmark(b.name, b.limit) for b in cfg.benchmarks}
    probes = identity.probes(cfg.identity.languages) if cfg.identity else []
    sim_items = load_benchmark(cfg.similarity.benchmark.name, cfg.similarity.benchmark.limit) if cfg.similarity else []
    if cfg.similarity:
        for role in (cfg.similarity.reference, cfg.similarity.test):
            if role not in cfg.models:
                raise UserError(
                    f"quantify config: similarity names model {role!r}, not in models ({', '.join(cfg.models)})"
                )
    result: dict[str, Any] = {
        "models": {},
        "gain": {},
        "identity": {},
        "similarity": None,
        "settings": {"generation": cfg.generation, "prompt_template": cfg.prompt_template},
    }
    sim_answers: dict[str, list[str]] = {}
    for name, spec in cfg.models.items():
        from curation.teachers import make_backend

        t = teacher_config(name, spec, cfg.generation)
        result["models"][name] = {"backend": t.backend, "model": t.model}
        backend = make_backend(t)
        for bname, items in benches.items():
            samples = generate(t, [_prompt(it, cfg.prompt_template) for it in items], backend)
            res = gain.summarize(items, samples, workers=cfg.workers)
            result["gain"].setdefault(bname, {})[name] = res
            console.print(
                f"{name} · {bname}: pass@1 {res['pass@1']:.3f}"
                + (f" ± {res['pass@1_sem']:.3f}" if res["pass@1_sem"] is not None else "")
                + f" ({res['problems']} problems × {res['samples_per_problem']})"
            )
        if cfg.identity and name != "teacher":
            ti = teacher_config(name, spec, {**cfg.generation, "max_tokens": cfg.identity.max_tokens}, n=1)
            answers = [c[0] for c in generate(ti, [p.prompt for p in probes], backend).completions]
            judge = _identity_judge(cfg)
            result["identity"][name] = identity.score(answers, probes, judge)
        if cfg.similarity and name in (cfg.similarity.reference, cfg.similarity.test):
            ts = teacher_config(name, spec, cfg.generation, n=1)
            sim_answers[name] = [
                c[0] for c in generate(ts, [_prompt(it, cfg.prompt_template) for it in sim_items], backend).completions
            ]
        _close(backend)
    for bname, by_model in result["gain"].items():
        base, student = by_model["base"]["pass@1"], by_model["student"]["pass@1"]
        teacher = by_model.get("teacher", {}).get("pass@1")
        by_model["gap_recovered"] = gain.gap_recovered(base, student, teacher)
        by_model["student_minus_base"] = student - base
    if cfg.similarity:
        s = cfg.similarity
        result["similarity"] = {
            "reference": s.reference,
            "test": s.test,
            "benchmark": _label(s.benchmark.name),
            **similarity.compare(
                [_prompt(it, cfg.prompt_template) for it in sim_items],
                sim_answers[s.reference],
                sim_answers[s.test],
                [it.problem for it in sim_items],
                judge=_judge_fn(s.judge, cfg.generation),
            ),
        }
    result["seconds"] = round(time.time() - t0, 1)
    (out_dir / "quantify.json").write_text(json.dumps(result, indent=2, default=str))
    from .report import write_report

    write_report(result, out_dir)
    return result


def _identity_judge(cfg: QuantifySpec) -> Any:
    spec = cfg.identity
    assert spec is not None
    rule = identity.rule_judge(spec.fact_identities)
    if spec.judge is None:
        return rule
    ask = _judge_fn(spec.judge, cfg.generation)

    def judge(response: str) -> tuple[bool, bool]:
        loose = identity.parse_tag(ask([identity.LLM_LOOSE.format(fact=spec.fact, response=response)])[0], "judge")
        if loose is None:
            return rule(response)
        if not loose:
            return False, False
        strict = identity.parse_tag(ask([identity.LLM_STRICT.format(response=response)])[0], "rate")
        return True, bool(strict)

    return judge
