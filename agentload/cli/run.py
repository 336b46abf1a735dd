"""`agentload run`: the options of one phase run parsed into a `RunConfig`, then `execute`.

Nothing here starts a process or touches the results folder; `agentload.run.execute` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentload.cli.app import app, fail
from agentload.cli.options import given_options, requests_cap_lines, template_variables
from agentload.durations import parse_duration
from agentload.errors import AgentloadError, ConfigError
from agentload.run.config import RunConfig, WorkerLossPolicy
from agentload.run.execute import execute

PHASE_HELP = (
    "Phase to run: smoke, load, stress, profile, rate, sweep or replay (a profile looked up in "
    "./profiles/, then among the stock ones), or the path of a profile TOML of your own."
)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def run(
    ctx: typer.Context,
    phase: Annotated[str, typer.Argument(help=PHASE_HELP, show_default=False)],
    host: Annotated[
        str | None,
        typer.Option(
            help="URL of the agent API to test. Default: start the embedded target service on "
            "free loopback ports and stop it afterwards. Must be loopback unless --allow-remote."
        ),
    ] = None,
    users: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Peak concurrent users (overrides the profile; stage and step tables are scaled). "
            "For profile: the load to hold instead of finding the knee first.",
        ),
    ] = None,
    spawn_rate: Annotated[
        float | None, typer.Option(min=0.001, help="Users started per second (overrides profile).")
    ] = None,
    duration: Annotated[
        str | None,
        typer.Option(
            help='Run length, e.g. "30s", "5m", "1h30m" (overrides the profile; stages and steps '
            "are scaled to fit; for profile: how long py-spy records)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(min=0, help="Run a Locust master and N worker processes (0: one process)."),
    ] = 0,
    expect_workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Run a Locust master with no local workers and wait for N `agentload worker` "
            "processes (other machines) to connect before each of the phase's Locust runs.",
        ),
    ] = 0,
    master_bind: Annotated[
        str,
        typer.Option(
            help="With --expect-workers: the address the master listens on (0.0.0.0: every "
            "interface; the protocol has no authentication, keep it on a private network)."
        ),
    ] = "127.0.0.1",
    master_port: Annotated[
        int, typer.Option(min=1, max=65535, help="With --expect-workers: the master's port.")
    ] = 5557,
    workers_timeout: Annotated[
        str,
        typer.Option(
            help="With --expect-workers: how long to wait for the workers (each Locust run) "
            "before aborting (exit 3)."
        ),
    ] = "60s",
    out: Annotated[
        Path | None,
        typer.Option(
            help="Results folder. Default: results/<UTC-timestamp>-<phase>/ with results/latest "
            "pointing at it."
        ),
    ] = None,
    web: Annotated[
        bool,
        typer.Option(
            "--web",
            help="Open Locust's web UI (http://127.0.0.1:WEB_PORT) with the phase's shape instead "
            "of running headless; stop with Ctrl-C.",
        ),
    ] = False,
    web_port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the web UI.")] = 8089,
    gate: Annotated[
        list[str] | None,
        typer.Option(
            help='Extra pass/fail gate, repeatable, e.g. --gate "p95(POST /v1/chat/completions) '
            '< 800ms" --gate "error_rate(*) < 1%". Added to the profile\'s gates.'
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a --host that is not loopback (only for deployments you own).",
        ),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            help="A previous run folder: compare with it after the run (exit 1 on a regression)."
        ),
    ] = None,
    on_worker_loss: Annotated[
        WorkerLossPolicy,
        typer.Option(
            help="When a Locust worker dies mid-run: fail (abort the run, exit 3) or "
            "continue with the others (reported in summary.json)."
        ),
    ] = WorkerLossPolicy.FAIL,
    ready_timeout: Annotated[
        str,
        typer.Option(help="How long to wait for the target to answer /readyz before aborting."),
    ] = "30s",
    pid: Annotated[
        int | None,
        typer.Option(help="Profile phase with --host: the PID of the target process to profile."),
    ] = None,
    prometheus: Annotated[
        str | None,
        typer.Option(help="Use this Prometheus server (URL) for the server-side view."),
    ] = None,
    no_prometheus: Annotated[
        bool, typer.Option("--no-prometheus", help="Do not start Prometheus for the run.")
    ] = False,
    scenario_config: Annotated[
        Path | None,
        typer.Option(
            help="Scenario config instead of the profile's: a name (default, smoke, load, "
            "stress; ./scenarios/ first) or a TOML path. Weights, think time, vars, seed."
        ),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option(
            help="The API under test: a description name (agent-v1, openai-chat, runs; looked "
            "up in ./apis/ then the package) or a TOML path. Default: agent-v1."
        ),
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Model name for {model} in the description's templates.")
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="NAME=VALUE",
            help="A template value of the description (repeatable), over its vars: what differs "
            "between deployments, e.g. --var assistant_id=agent.",
        ),
    ] = None,
    entry: Annotated[
        str | None,
        typer.Option(
            help='Stress/profile: the entry whose throughput finds the knee, e.g. "POST /v1/chat/'
            'completions" (default: the first scenario of the phase).'
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(help="rate: arrivals per second (the open model), e.g. --rate 20."),
    ] = None,
    arrival: Annotated[
        str | None,
        typer.Option(help="rate: how arrivals are spaced, poisson (default) or constant."),
    ] = None,
    steps: Annotated[
        int | None,
        typer.Option(
            help="sweep: how many open-model rates between the synchronous and "
            "throughput runs (default 8)."
        ),
    ] = None,
    step_duration: Annotated[
        str | None,
        typer.Option(help="sweep: how long each run of the sweep lasts, e.g. 30s."),
    ] = None,
    slo: Annotated[
        list[str] | None,
        typer.Option(
            help="A per-request objective for goodput, e.g. --slo ttft=500ms --slo tpot=50ms "
            "--slo e2e=10s (repeatable; merged over the profile's [slo])."
        ),
    ] = None,
    locustfile: Annotated[
        Path | None,
        typer.Option(
            help="Run your own locustfile's user classes through the phase instead of a "
            "description (record outcomes with agentload.locust.record_outcome)."
        ),
    ] = None,
    user_class: Annotated[
        list[str] | None,
        typer.Option(help="With --locustfile: the user classes to run (repeatable; default all)."),
    ] = None,
    tags: Annotated[
        list[str] | None, typer.Option(help="Locust --tags: run only tasks with these tags.")
    ] = None,
    exclude_tags: Annotated[
        list[str] | None, typer.Option(help="Locust --exclude-tags: skip tasks with these tags.")
    ] = None,
    allow_inconclusive: Annotated[
        bool,
        typer.Option(
            "--allow-inconclusive",
            help="A gate whose threshold lies inside its 95 % interval does not fail the run.",
        ),
    ] = False,
    until: Annotated[
        list[str] | None,
        typer.Option(
            help='Hold the load until a figure is that precise, e.g. --until "p95(POST /v1/ask) '
            '±2%" (repeatable; --duration is the cap).'
        ),
    ] = None,
    trace: Annotated[
        Path | None,
        typer.Option(help="replay: the trace (Mooncake JSONL, Azure CSV, requests.jsonl.gz)."),
    ] = None,
    speed: Annotated[
        float | None, typer.Option(min=0.001, help="replay: time scale (2: twice as fast).")
    ] = None,
    max_duration: Annotated[
        str | None, typer.Option(help="replay: stop the replay after this long, e.g. 5m.")
    ] = None,
    warmup: Annotated[
        str | None,
        typer.Option(help='rate, sweep, replay: leave the start out of the figures: "10s", "5%".'),
    ] = None,
    cooldown: Annotated[
        str | None,
        typer.Option(help='rate, sweep, replay: leave the end out of the figures: "10s", "5%".'),
    ] = None,
    requests_cap: Annotated[
        str | None,
        typer.Option(
            help="Lines kept in requests.jsonl.gz per Locust run (default 200000); past it a "
            "seeded uniform sample of that many requests, flagged sampled."
        ),
    ] = None,
) -> None:
    """Run one phase against the target and write its results folder.

    Options after `--` go to Locust as they are, e.g. `agentload run smoke -- --reset-stats`.

    Exit codes: 0 all gates passed, 1 a gate failed, 2 bad usage or configuration, 3 run aborted
    (target unreachable or died, interrupted).
    """
    locust_args = list(ctx.args)
    if tags:
        locust_args += ["--tags", *tags]
    if exclude_tags:
        locust_args += ["--exclude-tags", *exclude_tags]
    try:
        if workers and expect_workers:
            raise ConfigError(
                "--workers (local processes) and --expect-workers (remote ones) cannot be "
                "combined; use one or the other"
            )
        if requests_cap is not None:
            locust_args += ["--agentload-requests-cap", str(requests_cap_lines(requests_cap))]
        config = RunConfig(
            phase=phase,
            host=host,
            users=users,
            spawn_rate=spawn_rate,
            duration=duration,
            workers=workers,
            out=out,
            web=web,
            web_port=web_port,
            gates=tuple(gate or ()),
            allow_remote=allow_remote,
            baseline=baseline,
            on_worker_loss=on_worker_loss,
            ready_timeout=parse_duration(ready_timeout, what="--ready-timeout"),
            pid=pid,
            prometheus=prometheus,
            no_prometheus=no_prometheus,
            scenario_config=scenario_config,
            api=api,
            model=model,
            variables=template_variables(var or []),
            entry=entry,
            rate=rate,
            arrival=arrival,
            slo=tuple(slo or ()),
            steps=steps,
            step_duration=step_duration,
            locustfile=locustfile,
            user_classes=tuple(user_class or ()),
            locust_args=tuple(locust_args),
            expect_workers=expect_workers,
            master_bind=master_bind,
            master_port=master_port,
            workers_timeout=parse_duration(workers_timeout, what="--workers-timeout"),
            allow_inconclusive=allow_inconclusive,
            until=tuple(until or ()),
            trace=trace,
            speed=speed,
            max_duration=max_duration,
            warmup=warmup,
            cooldown=cooldown,
            options=given_options(),
        )
    except AgentloadError as exc:
        fail(exc)
    raise typer.Exit(int(execute(config)))
