"""`cotforge lab build` / `cotforge lab run`: the distillation lab (training/lab).

`build` writes the data (query pool, test split, teacher traces, student), which the pipeline then runs on like on
any data (`cotforge run manifests/lab/lab.yaml`); `run` does all of it and trains and scores every arm (A0-A6).
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    lab = typer.Typer(
        help="Distillation lab: synthetic tasks and teachers through the real pipeline.", no_args_is_help=True
    )
    app.add_typer(lab, name="lab")

    @lab.command("build")
    def build_cmd(
        out: Path = typer.Option(
            Path("manifests/lab/data"), "--out", help="lab folder (manifests/lab/lab.yaml reads manifests/lab/data)"
        ),
        seed: int = typer.Option(0, "--seed", help="seeds problems, splits, pool order and every teacher"),
        train: int = typer.Option(1200, "--train", help="train problems in the pool"),
        test: int = typer.Option(200, "--test", help="test-split problems (decontamination benchmark, evaluation)"),
        max_number: int = typer.Option(20, "--max-number", help="difficulty: size of the numbers"),
        min_steps: int = typer.Option(2, "--min-steps", help="difficulty: fewest steps per problem"),
        max_steps: int = typer.Option(3, "--max-steps", help="difficulty: most steps per problem"),
        student: bool = typer.Option(
            True,
            "--student/--no-student",
            help="also train the tokenizer and write the untrained student (<out>/student)",
        ),
    ) -> None:
        """Write pool.jsonl, test.jsonl, traces.jsonl (five synthetic teachers) and the student into a lab folder."""
        import json

        from rich.console import Console

        from training.lab.build import LabSpec, build
        from training.lab.student import build_student, lab_texts

        from ..errors import UserError

        try:
            spec = LabSpec(seed=seed, train=train, test=test, max_number=max_number, steps=(min_steps, max_steps))
            summary = build(out, spec)
        except ValueError as e:
            raise UserError(f"cotforge lab build: {e}") from None
        console = Console()
        console.print(json.dumps(summary["counts"], indent=2))
        if student:
            path = build_student(out / "student", lab_texts(out))
            info = json.loads((path / "lab_student.json").read_text())
            console.print(f"student: {path} ({info['parameters']:,} parameters, untrained)")

    @lab.command("run")
    def run_cmd(
        out: Path = typer.Option(
            Path("runs/lab"), "--out", help="lab folder: data, runs, students, lab.json, report.html"
        ),
        recipe: str = typer.Option(
            "cpu", "--recipe", help="cpu (~30 CPU minutes, 2 students at a time) | smoke (CI) | gpu (lent device)"
        ),
        workers: int | None = typer.Option(None, "--workers", help="students trained at once (default: the recipe's)"),
        seeds: str | None = typer.Option(None, "--seeds", help="comma-separated seeds (default: the recipe's)"),
        arms: str | None = typer.Option(None, "--arms", help="comma-separated arms, e.g. A0,A1 (default: all)"),
    ) -> None:
        """Build the data, run the pipeline, train and score every arm over seeds; write lab.json and report.html."""
        import dataclasses
        import json

        from rich.console import Console

        from training.lab.run import ARMS, RECIPES, run_lab

        from ..errors import UserError

        if recipe not in RECIPES:
            raise UserError(f"--recipe {recipe!r}: choose from {', '.join(sorted(RECIPES))}")
        r = RECIPES[recipe]
        try:
            if seeds:
                r = dataclasses.replace(r, seeds=tuple(int(s) for s in seeds.split(",")))
        except ValueError:
            raise UserError(f"--seeds {seeds!r}: give integers separated by commas, e.g. 0,1,2") from None
        if workers is not None:
            if workers < 1:
                raise UserError(f"--workers {workers}: give 1 or more (students trained at once)")
            r = dataclasses.replace(r, workers=workers)
        if arms:
            chosen = tuple(a.strip() for a in arms.split(","))
            bad = [a for a in chosen if a not in ARMS]
            if bad:
                raise UserError(f"--arms: unknown {', '.join(bad)}; choose from {', '.join(ARMS)}")
            r = dataclasses.replace(r, arms=chosen)
        console = Console()
        lab = run_lab(out, r, log=console.print)
        console.print(json.dumps(lab["comparisons"], indent=2, default=str))
        console.print(f"lab.json and report.html in {out}")
