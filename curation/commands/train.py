"""`cotforge train sft|redi|rl CONFIG` and `cotforge quantify CONFIG`: the thin CLI over `training/`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import UserError


def _require_train_extra() -> None:
    try:
        import peft  # noqa: F401
        import trl  # noqa: F401
    except ImportError as e:
        raise UserError(f"training needs the `train` extra ({e.name} is missing): pip install 'cotforge[train]'") from e


def _train(kind: str, config: Path, output_dir: Optional[Path]) -> None:
    import json

    from rich.console import Console

    _require_train_extra()
    from training.config import load_config

    cfg = load_config(config, kind, str(output_dir) if output_dir else None)
    import importlib

    module = importlib.import_module(f"training.{kind}")
    summary = module.train(cfg)
    Console().print_json(json.dumps({k: v for k, v in summary.items() if k != "metrics"}, default=str))


def register(app: typer.Typer) -> None:
    train_app = typer.Typer(help="Train a student on cotforge's exports (TRL underneath).", no_args_is_help=True)
    out_opt = typer.Option(None, "--output-dir", help="overrides the config's output_dir")

    @train_app.command("sft")
    def sft(config: Path = typer.Argument(..., help="SFT recipe (YAML)"), output_dir: Optional[Path] = out_opt) -> None:
        """Supervised fine-tuning on `messages` rows (trl-sft export); loss on assistant tokens only."""
        _train("sft", config, output_dir)

    @train_app.command("redi")
    def redi(
        config: Path = typer.Argument(..., help="REDI recipe (YAML)"), output_dir: Optional[Path] = out_opt
    ) -> None:
        """REDI on (prompt, chosen, rejected) pairs (trl-preference export); or DPO / SimPO via `loss:`."""
        _train("redi", config, output_dir)

    @train_app.command("rl")
    def rl(config: Path = typer.Argument(..., help="GRPO recipe (YAML)"), output_dir: Optional[Path] = out_opt) -> None:
        """GRPO on prompt rows (trl-prompt export) with verifier / sandbox rewards."""
        _train("rl", config, output_dir)

    app.add_typer(train_app, name="train")

    @app.command()
    def quantify(
        config: Path = typer.Argument(..., help="quantify recipe (YAML)"),
        output_dir: Optional[Path] = typer.Option(None, "--output-dir", help="overrides the config's output_dir"),
    ) -> None:
        """Gain (pass@1 ± SEM, pass@k, tokens, gap recovered), identity consistency and response similarity."""
        from rich.console import Console

        from training.config import load_quantify
        from training.quantify.run import quantify as run_quantify

        cfg = load_quantify(config, str(output_dir) if output_dir else None)
        res = run_quantify(cfg)
        Console().print(f"wrote {Path(cfg.output_dir) / 'quantify.json'} and report.html ({res['seconds']} s)")
