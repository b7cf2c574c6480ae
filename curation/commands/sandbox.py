"""`cotforge sandbox run|test`: run untrusted code under every isolation layer this host allows."""

from __future__ import annotations

from pathlib import Path

import typer

LANG_BY_EXT = {".py": "python", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp"}


def _user_error(msg: str) -> Exception:
    try:
        from curation.errors import UserError

        return UserError(msg)
    except ImportError:  # pragma: no cover
        return typer.BadParameter(msg)


def _read_source(file: Path) -> str:
    if not file.is_file():
        raise _user_error(f"{file}: no such file (give the program to run as FILE)")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise _user_error(f"{file}: not UTF-8 text ({e})") from e


def _language(file: Path, language: str | None) -> str:
    if language:
        return language
    return LANG_BY_EXT.get(file.suffix.lower(), "python")


def register(app: typer.Typer) -> None:
    sub = typer.Typer(
        help="Run untrusted programs in the sandbox (namespaces, cgroups, seccomp, rlimits).", no_args_is_help=True
    )

    @sub.command("run")
    def run_cmd(
        file: Path = typer.Argument(..., help="Program to run (.py or .cpp)."),
        time: float = typer.Option(5.0, "--time", help="Wall-clock limit in seconds."),
        mem: int = typer.Option(512, "--mem", help="Memory limit in MB."),
        language: str | None = typer.Option(None, "--language", help="python|cpp (default: from extension)."),
        result: Path | None = typer.Option(None, "--result", help="Write the JSON result here."),
        expected: Path | None = typer.Option(None, "--expected", help="Expected stdout; adds `verdict`."),
        policy: str = typer.Option("default", "--policy", help="default|strict (strict refuses missing layers)."),
    ) -> None:
        """Run FILE with this process's stdin; its stdout/stderr pass through (capped). Exit 0 unless the
        sandbox itself failed."""
        import json
        import sys

        import sandboxes
        from sandboxes.supervisor import execute  # noqa: F401  (imported for a fast failure if broken)

        source = _read_source(file)
        exp = None
        if expected is not None:
            if not expected.is_file():
                raise _user_error(f"--expected {expected}: no such file")
            exp = expected.read_bytes()
        stdin = b"" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()
        try:
            lang = sandboxes.get_language(_language(file, language))
        except ValueError as e:
            raise _user_error(f"--language: {e}") from e
        limits = sandboxes.Limits(time_s=time, mem_mb=mem)
        try:
            res = sandboxes.run(source, language=lang.name, stdin=stdin, limits=limits, expected=exp, policy=policy)
        except sandboxes.SandboxUnavailable as e:
            typer.echo(f"sandbox unavailable: {e}", err=True)
            raise typer.Exit(1) from e
        except ValueError as e:
            raise _user_error(str(e)) from e
        sys.stdout.buffer.write(res.stdout)
        sys.stdout.flush()
        sys.stderr.buffer.write(res.stderr)
        if res.status == "compile_error":
            sys.stderr.write(res.detail + "\n")
        sys.stderr.flush()
        doc = {k: v for k, v in res.to_dict().items() if k != "verdict" or exp is not None}
        if result is not None:
            result.write_text(json.dumps(doc, indent=2) + "\n")
        raise typer.Exit(1 if res.status == "sandbox_error" else 0)

    @sub.command("test")
    def test_cmd(
        file: Path = typer.Argument(..., help="Program to test (.py or .cpp)."),
        tests: Path = typer.Option(..., "--tests", help="Tests JSON (kind stdio|assert|humaneval)."),
        time: float = typer.Option(5.0, "--time", help="Wall-clock limit per test in seconds."),
        mem: int = typer.Option(512, "--mem", help="Memory limit in MB."),
        language: str | None = typer.Option(None, "--language", help="python|cpp (default: from extension)."),
        early_stop: bool = typer.Option(False, "--early-stop", help="Stop at the first failing test."),
        result: Path | None = typer.Option(None, "--result", help="Write the JSON report here."),
        as_json: bool = typer.Option(False, "--json", help="Print the JSON report instead of lines."),
        policy: str = typer.Option("default", "--policy", help="default|strict."),
    ) -> None:
        """Run FILE against a test set; prints one line per test and a summary."""
        import json

        import sandboxes

        source = _read_source(file)
        if not tests.is_file():
            raise _user_error(f"--tests {tests}: no such file")
        try:
            spec = sandboxes.parse_tests(tests.read_text(encoding="utf-8"))
        except sandboxes.TestsError as e:
            raise _user_error(f"--tests {tests}: {e}") from e
        try:
            rep = sandboxes.run_tests(
                source,
                spec,
                language=_language(file, language),
                limits=sandboxes.Limits(time_s=time, mem_mb=mem),
                early_stop=early_stop,
                policy=policy,
            )
        except sandboxes.SandboxUnavailable as e:
            typer.echo(f"sandbox unavailable: {e}", err=True)
            raise typer.Exit(1) from e
        except (ValueError, sandboxes.TestsError) as e:
            raise _user_error(str(e)) from e
        doc = rep.to_dict()
        if result is not None:
            result.write_text(json.dumps(doc, indent=2) + "\n")
        if as_json:
            typer.echo(json.dumps(doc, indent=2))
        else:
            for t in rep.tests:
                typer.echo(f"test {t.index}: {t.status} ({t.wall_s:.3f}s){'  ' + t.detail if t.detail else ''}")
            typer.echo(
                f"{rep.status}: {sum(t.status == 'passed' for t in rep.tests)}/{len(rep.tests)} passed; "
                f"isolation: {','.join(rep.isolation)}"
            )
        raise typer.Exit(1 if rep.status == "sandbox_error" else 0)

    app.add_typer(sub, name="sandbox")
