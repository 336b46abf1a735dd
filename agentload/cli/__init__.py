"""The `agentload` command line: each command parses its options into a typed config
(`RunConfig`, `WorkerConfig`, `Tolerances`) and hands it to the runner or the report, which do
the work; exit codes come from `agentload.errors.ExitCode`.

- ``app``: the `typer.Typer` app and the helpers the commands share (`fail`, `exit_from`);
- ``run``: `agentload run`; ``worker``: `agentload worker`;
- ``starter``: `agentload serve` (execs the embedded target), `agentload init`,
  `agentload locustfile`;
- ``report``: `agentload report` and `agentload compare`, added by `main`.

May import: the other packages of agentload (``run``, ``report``, ``stock``, ...) and the root
modules; never Locust (it runs as processes the runner starts) nor ``target_service`` (`serve`
execs it). Nothing imports the CLI. Within it, ``app`` imports none of the command modules;
importing them here registers their commands, in the order `agentload --help` lists them.
`agentload.report` (plotly) is imported only when `report` or `compare` runs, so that
`agentload --help` stays quick.
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
