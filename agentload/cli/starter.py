"""The commands around a run: `agentload serve` (the embedded demo target), `agentload init`
(an editable starter) and `agentload locustfile` (the shipped locustfile, for plain Locust)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from agentload.cli.app import app, fail
from agentload.errors import AgentloadError


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Agent API port.")] = 8000,
    engine_port: Annotated[
        int, typer.Option(min=1, max=65535, help="Simulated engine port.")
    ] = 8001,
) -> None:
    """Run the embedded target service (agent API + simulated LLM engine) until Ctrl-C."""
    cmd = [sys.executable, "-m", "target_service", "--host", host, "--port", str(port)]
    os.execv(sys.executable, [*cmd, "--engine-port", str(engine_port)])


@app.command()
def init(
    folder: Annotated[
        Path, typer.Argument(help="Folder to write the starter in (created if missing).")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Write an editable starter: an API description, a scenario config, a profile and a
    locustfile of your own, copied from the stock ones with comments."""
    from agentload.stock.starter import next_commands, write_starter

    try:
        written = write_starter(folder, force=force)
    except AgentloadError as exc:
        fail(exc)
    for path in written:
        print(f"wrote {path}")
    print("next, against the embedded demo target (add --host URL for your API):")
    for command in next_commands(folder):
        print(f"  {command}")


@app.command()
def locustfile() -> None:
    """Print the path of the shipped locustfile (for plain Locust: locust -f "$(agentload
    locustfile)" --api NAME --host URL)."""
    from agentload.run.locust_plan import LOCUSTFILE

    print(LOCUSTFILE)
