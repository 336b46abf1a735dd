"""The `agentload` command line: each command parses its options into a typed config (`RunConfig`,
`WorkerConfig`, `Tolerances`) and calls the runner or the report; nothing here starts a process
or touches a results folder.

- ``app``: the `typer.Typer` app and the helpers the commands share (`fail`, `exit_from`);
- ``run``: `agentload run`; ``worker``: `agentload worker`;
- ``starter``: `agentload serve`, `agentload init`, `agentload locustfile`;
- ``report``: `agentload report` and `agentload compare`, added by `main`.

May import: every other package of agentload (``run``, ``report``, ``stock``, ...) and the root
modules; Locust only through the runner's processes. Nothing imports the CLI, and ``app``
imports none of the command modules: importing them here registers their commands, in the
order `agentload --help` lists them. `agentload.report` (plotly) is imported only when
`report` or `compare` runs, so that `agentload --help` stays quick.
"""

from __future__ import annotations

import sys

from agentload.cli.app import app
from agentload.cli.report import add_report_commands
from agentload.errors import ConfigError, ExitCode

# Importing a command module registers its commands on `app`; the order is the help's.
from agentload.cli import run, worker, starter  # noqa: F401  # isort: skip

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    add_report_commands()
    try:
        app()
    except ConfigError as exc:
        print(f"agentload: error: {exc}", file=sys.stderr)
        sys.exit(int(ExitCode.USAGE))
