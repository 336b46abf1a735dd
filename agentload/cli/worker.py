"""`agentload worker`: a remote Locust worker of `agentload run --expect-workers N`, its
options parsed into a `WorkerConfig` for `agentload.run.remote_worker.run_worker`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentload.cli.app import app, fail
from agentload.durations import parse_duration
from agentload.errors import AgentloadError
from agentload.run.config import WorkerConfig, parse_master


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def worker(
    ctx: typer.Context,
    master: Annotated[
        str,
        typer.Option(
            help="The master to serve, HOST[:PORT] (port 5557 by default): an `agentload run "
            "... --expect-workers N` on another machine."
        ),
    ],
    api: Annotated[
        str | None,
        typer.Option(help="The API description (name or TOML path); must match the master's."),
    ] = None,
    scenario_config: Annotated[
        Path | None,
        typer.Option(
            help="Scenario config (name or TOML path); default: the one the master's phase uses. "
            "Must match the master's."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name for {model}; default: the master's.")
    ] = None,
    locustfile: Annotated[
        Path | None,
        typer.Option(help="Your own locustfile, as the master runs it (--locustfile)."),
    ] = None,
    user_class: Annotated[
        list[str] | None,
        typer.Option(help="With --locustfile: the user classes to offer (default all)."),
    ] = None,
    connect_timeout: Annotated[
        str,
        typer.Option(help="How long to wait for the master to appear before giving up."),
    ] = "5m",
) -> None:
    """Serve a master's load as a Locust worker with agentload's plugin, following the phase's
    Locust runs until the master's last one ends.

    A worker whose API description, scenario config, model or phase differs from the master's
    is refused (exit 2, one line naming both digests). Options after `--` go to Locust.
    """
    try:
        host, port = parse_master(master)
        config = WorkerConfig(
            master_host=host,
            master_port=port,
            api=api,
            scenario_config=scenario_config,
            model=model,
            locustfile=locustfile,
            user_classes=tuple(user_class or ()),
            connect_timeout=parse_duration(connect_timeout, what="--connect-timeout"),
            locust_args=tuple(ctx.args),
        )
        from agentload.run.remote_worker import run_worker

        code = run_worker(config)
    except AgentloadError as exc:
        fail(exc)
    raise typer.Exit(int(code))
