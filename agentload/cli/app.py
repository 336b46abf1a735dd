"""The `typer.Typer` app every `agentload` command registers on, and the helpers they share.

The command modules import this one; it imports none of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from agentload.errors import AgentloadError, ExitCode


class OneLineErrors(TyperGroup):
    """Typer's command group, with a usage error (a bad or missing option or value) told in one
    `agentload: error: ...` line on stderr, exit 2, instead of Typer's box."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        call = (args, prog_name, complete_var, False, windows_expand_args)
        if not standalone_mode:
            return super().main(*call, **extra)
        try:
            code = super().main(*call, **extra)
        except TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `agentload`: the help
                print(exc.format_message(), file=sys.stderr)
                sys.exit(int(ExitCode.USAGE))
            ctx = getattr(exc, "ctx", None)
            see = f"; see '{ctx.command_path} --help'" if ctx is not None else ""
            message = " ".join(exc.format_message().split()).rstrip(".")
            print(f"agentload: error: {message}{see}", file=sys.stderr)
            sys.exit(int(ExitCode.USAGE))
        except typer.Abort:
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    name="agentload",
    help="Load testing for AI-agent HTTP APIs: smoke, load, stress (the knee) and profile phases.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def exit_from(func: Callable[..., int], *args: Any, **kwargs: Any) -> NoReturn:
    """Call `func` and exit with the code it returns (a reported error: `fail`)."""
    try:
        code = func(*args, **kwargs)
    except AgentloadError as exc:
        fail(exc)
    raise typer.Exit(int(code))


def fail(exc: AgentloadError) -> NoReturn:
    """Print `agentload: error: ...` on stderr and exit with the error's code."""
    print(f"agentload: error: {exc}", file=sys.stderr)
    raise typer.Exit(int(exc.exit_code))
