"""The Locust runs of a phase as data: what to run, and the command lines that run it.

One local runner, a master and N workers on this machine, or a master for remote workers
(`agentload run --expect-workers N`, whose workers are :mod:`agentload.run.remote_worker`).
`build_commands(plan)` is pure (the command lines and environment); `check_locustfile` imports
a user's locustfile in a Locust subprocess before any load, and `check_locust_args` has Locust's
own parser read the options passed through to it. The processes themselves are
:class:`agentload.run.locust_processes.LocustProcesses`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentload.errors import ConfigError
from agentload.processes import free_port
from agentload.redaction import HOST_AUTH_ENV
from agentload.stock.lookup import stock_dir

LOCUSTFILE = stock_dir("locustfiles") / "agents.py"
PLUGIN_LOCUSTFILE = stock_dir("locustfiles") / "plugin.py"
SHAPES_DIR = Path(__file__).resolve().parents[1] / "locust" / "shapes"
WORKERS_FILE = "workers.json"  # remote workers: joined, refused, lost (written by the master)
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class LocustPlan:
    """Everything Locust needs for one phase run."""

    host: str
    out_dir: Path
    user_classes: tuple[str, ...]
    scenario_config: Path | None
    shape: str | None = None
    shape_table: dict[str, Any] = field(default_factory=dict)
    users: int = 1
    spawn_rate: float = 1.0
    run_time: float | None = None
    workers: int = 0
    web: bool = False
    web_port: int = 8089
    client_metrics_port: int | None = None
    master_port: int = 0
    expect_workers: int = 0  # remote workers (`agentload worker`), no local ones
    master_bind: str = "127.0.0.1"
    workers_timeout: float = 60.0
    last_run: bool = True  # no other Locust run of the phase follows (remote workers then exit)
    api: Path | None = None
    phase: str = ""
    model: str = ""
    credentials: str = ""  # --host's user:password, to the users by environment (never argv)
    variables: dict[str, str] = field(default_factory=dict)
    slo: str = ""
    locustfile: Path | None = None
    extra_args: tuple[str, ...] = ()
    window: dict[str, float] = field(default_factory=dict)  # --warmup/--cooldown: send window

    @property
    def locustfiles(self) -> str:
        files = locustfiles_for(self.locustfile)
        return f"{files},{SHAPES_DIR / f'{self.shape}.py'}" if self.shape else files


def locustfiles_for(user_locustfile: Path | None) -> str:
    """Locust's ``-f`` value: the stock users, or a user's own locustfile (resolved) with the
    plugin it may not import itself."""
    if user_locustfile is not None:
        return f"{user_locustfile.resolve()},{PLUGIN_LOCUSTFILE}"
    return str(LOCUSTFILE)


def check_locustfile(path: Path, user_classes: tuple[str, ...]) -> Path:
    """Import a user's locustfile in a Locust subprocess (``--list``) before any load: it must
    load and have the requested user classes. ConfigError in one line otherwise."""
    if not path.is_file():
        raise ConfigError(f"--locustfile {path}: not found, expected a Python file of Locust users")
    cmd = [sys.executable, "-m", "locust", "-f", locustfiles_for(path), "--list"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"--locustfile {path}: importing it took over 60s") from None
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    if done.returncode != 0:
        last = lines[-1] if lines else f"exit code {done.returncode}"
        raise ConfigError(f"--locustfile {path}: could not be loaded: {last}")
    found = {line for line in lines if line.isidentifier()}
    missing = [name for name in user_classes if name not in found]
    if missing or not found:
        known = ", ".join(sorted(found)) or "none"
        what = f"no user class {missing[0]!r}" if missing else "no user classes"
        raise ConfigError(f"--locustfile {path}: {what}, it has {known}")
    return path.resolve()


def check_locust_args(args: tuple[str, ...], locustfile: Path | None, api: Path | None) -> None:
    """Have Locust's own parser read the options passed through to it (``--list`` in a Locust
    subprocess, with the locustfile that adds its options) before any load; ConfigError in one
    line naming the bad option otherwise."""
    cmd = [sys.executable, "-m", "locust", "-f", locustfiles_for(locustfile), *args, "--list"]
    env = {**os.environ, "AGENTLOAD_API": str(api)} if api is not None else None
    shown = " ".join(args)
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=60, check=False, env=env
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise ConfigError(f"Locust options {shown!r}: Locust took over 60s to read them") from None
    if done.returncode == 0:
        return
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    found = [line.split("error: ", 1)[1] for line in lines if "error: " in line]
    problem = found[-1] if found else (lines[-1] if lines else f"exit code {done.returncode}")
    hints = [line for line in lines if line.startswith("Did you mean")]
    hint = f" ({hints[-1][0].lower()}{hints[-1][1:]})" if hints else ""
    raise ConfigError(
        f"Locust options {shown!r}: {problem}{hint}; expected options of `locust --help` "
        "(after -- they go to Locust as they are)"
    )


@dataclass(frozen=True)
class Commands:
    """The command lines of one run: the main process (local or master) and the workers."""

    main: list[str]
    workers: list[list[str]]
    env: dict[str, str]


def build_commands(plan: LocustPlan) -> Commands:
    """Command lines for `plan` (pure: nothing is started)."""
    base = [sys.executable, "-m", "locust", "-f", plan.locustfiles, "--host", plan.host]
    # --stop-timeout: users finish the request in flight, so client and server counts agree.
    shared = ["--loglevel", "INFO", "--stop-timeout", f"{STOP_TIMEOUT_S:g}"]
    if plan.scenario_config is not None:
        shared += ["--scenario-config", str(plan.scenario_config)]
    if plan.api is not None:
        shared += ["--api", str(plan.api)]
    if plan.phase:
        shared += ["--agentload-phase", plan.phase]
    if plan.model:
        shared += ["--model", plan.model]
    if plan.variables:
        shared += ["--agentload-vars", json.dumps(plan.variables)]
    if plan.slo:
        shared += ["--agentload-slo", plan.slo]
    out_dir = plan.out_dir.absolute()  # Locust runs in the user's folder: every path absolute
    shared += ["--agentload-requests", str(out_dir)]  # each process its part of requests.jsonl.gz
    shared += list(plan.extra_args)
    main = base + shared + [
        "--csv", str(out_dir / "locust"),
        "--csv-full-history",
        "--html", str(out_dir / "locust.html"),
        "--agentload-out", str(out_dir),
    ]  # fmt: skip
    if plan.client_metrics_port is not None:
        main += ["--client-metrics-port", str(plan.client_metrics_port)]
    if plan.web:
        main += ["--web-host", "127.0.0.1", "--web-port", str(plan.web_port)]
    else:
        main += ["--headless", "--only-summary"]
    if not plan.shape:
        main += ["--users", str(plan.users), "--spawn-rate", f"{plan.spawn_rate:g}"]
        if plan.run_time is not None and not plan.web:
            main += ["--run-time", f"{max(1, round(plan.run_time))}s"]
    workers: list[list[str]] = []
    if plan.workers > 0:
        port = plan.master_port or free_port()
        main += [
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--expect-workers", str(plan.workers), "--expect-workers-max-wait", "60",
        ]  # fmt: skip
        worker = [*base, *shared, "--worker", "--master-host", "127.0.0.1"]
        worker += ["--master-port", str(port)]
        workers = [worker + list(plan.user_classes) for _ in range(plan.workers)]
    elif plan.expect_workers > 0:  # the runner bounds the wait itself (`--workers-timeout`)
        main += [
            "--master", "--master-bind-host", plan.master_bind,
            "--master-bind-port", str(plan.master_port or 5557),
            "--expect-workers", str(plan.expect_workers),
            "--expect-workers-max-wait", f"{plan.workers_timeout + 30:g}",
            "--agentload-workers", str(out_dir / WORKERS_FILE),
        ]  # fmt: skip
        if plan.last_run:
            main.append("--agentload-last-run")
    main += list(plan.user_classes)
    env = {"AGENTLOAD_SHAPE": json.dumps(plan.shape_table), "PYTHONUNBUFFERED": "1"}
    if plan.api is not None:
        env["AGENTLOAD_API"] = str(plan.api)  # the shipped locustfile makes its classes at import
    if plan.credentials:
        env[HOST_AUTH_ENV] = plan.credentials
    if plan.window:  # agentload.locust.send_window: the calls sent outside leave the figures
        env["AGENTLOAD_WINDOW"] = json.dumps(plan.window)
    return Commands(main=main, workers=workers, env=env)
