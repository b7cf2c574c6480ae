"""`cotforge lab build`: the distillation lab's data (training/lab): query pool, test split, teacher traces, student.

The pipeline then runs on it like on any data: `cotforge run manifests/lab/lab.yaml`.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    lab = typer.Typer(help="Distillation lab: synthetic tasks and teachers through the real pipeline.",
                      no_args_is_help=True)
    app.add_typer(lab, name="lab")

    @lab.command("build")
    def build_cmd(
        out: Path = typer.Option(Path("manifests/lab/data"), "--out",
                                 help="lab folder (manifests/lab/lab.yaml reads manifests/lab/data)"),
        seed: int = typer.Option(0, "--seed", help="seeds problems, splits, pool order and every teacher"),
        train: int = typer.Option(1200, "--train", help="train problems in the pool"),
        test: int = typer.Option(200, "--test", help="test-split problems (decontamination benchmark, evaluation)"),
        max_number: int = typer.Option(20, "--max-number", help="difficulty: size of the numbers"),
        min_steps: int = typer.Option(2, "--min-steps", help="difficulty: fewest steps per problem"),
        max_steps: int = typer.Option(3, "--max-steps", help="difficulty: most steps per problem"),
        student: bool = typer.Option(True, "--student/--no-student",
                                     help="also train the tokenizer and write the untrained student (<out>/student)"),
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
