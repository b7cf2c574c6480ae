"""`cotforge`: the typer app. Exit codes: 0 ok, 2 bad input or manifest, 1 internal error."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from .commands import COMMAND_MODULES
from .errors import UserError

app = typer.Typer(
    name="cotforge",
    help="Build, verify, audit and export long chain-of-thought distillation datasets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # a command module not in this build
                continue
            raise
        module.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv, standalone_mode=False)
    except UserError as e:
        err_console.print(f"error: {e}", style="red", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors carry their own exit code
        # click's exceptions, or the copy typer >= 0.29 vendors (typer._click): matched by shape, not by class
        if callable(getattr(e, "show", None)) and isinstance(getattr(e, "exit_code", None), int):
            e.show()
            sys.exit(2 if any(c.__name__ == "UsageError" for c in type(e).__mro__) else e.exit_code)
        err_console.print_exception(show_locals=False)
        err_console.print("internal error (exit 1): please report it with the traceback above", style="red")
        sys.exit(1)


if __name__ == "__main__":
    main()
