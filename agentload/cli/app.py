"""The `typer.Typer` app every `agentload` command registers on, and the helpers they share.

The command modules import this one; it imports none of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

import typer

from agentload.errors import AgentloadError

app = typer.Typer(
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
