"""Locust as subprocesses: one local runner, a master and N workers on this machine, or a master
for remote workers (`agentload run --expect-workers N`) and those workers (`agentload worker`).

`build_commands(plan)` is pure (the command lines and environment); `LocustProcesses` starts them
with their output appended to `runner.log`, watches the workers, and stops everything by PID.
Locust is stopped with SIGINT so it writes its HTML report and fires `quitting` (final.json).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentload.errors import ConfigError, ExitCode
from agentload.processes import die_with_parent, end_process, free_port, kill_pid
from agentload.run.config import WorkerConfig
from agentload.stock.lookup import stock_dir

LOCUSTFILE = stock_dir("locustfiles") / "agents.py"
PLUGIN_LOCUSTFILE = stock_dir("locustfiles") / "plugin.py"
SHAPES_DIR = Path(__file__).resolve().parents[1] / "locust" / "shapes"
QUIT_GRACE_S = 3.0
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
    slo: str = ""
    locustfile: Path | None = None
    extra_args: tuple[str, ...] = ()

    @property
    def locustfiles(self) -> str:
        if self.locustfile is not None:  # the user's classes, and the plugin they may not import
            files = [str(self.locustfile), str(PLUGIN_LOCUSTFILE)]
        else:
            files = [str(LOCUSTFILE)]
        if self.shape:
            files.append(str(SHAPES_DIR / f"{self.shape}.py"))
        return ",".join(files)


def check_locustfile(path: Path, user_classes: tuple[str, ...]) -> Path:
    """Import a user's locustfile in a Locust subprocess (``--list``) before any load: it must
    load and have the requested user classes. ConfigError in one line otherwise."""
    if not path.is_file():
        raise ConfigError(f"--locustfile {path}: not found, expected a Python file of Locust users")
    cmd = [sys.executable, "-m", "locust", "-f", f"{path.resolve()},{PLUGIN_LOCUSTFILE}", "--list"]
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
    return Commands(main=main, workers=workers, env=env)


class LocustProcesses:
    """The running Locust processes of one run, all in their own process group."""

    def __init__(self, commands: Commands, log_path: Path) -> None:
        self.commands = commands
        self.log_path = log_path
        self.main: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.lost_workers: list[dict[str, int | None]] = []
        self._exited_at: dict[int, float] = {}
        self._stopping = False

    @property
    def pids(self) -> list[int]:
        procs = ([self.main] if self.main else []) + self.workers
        return [p.pid for p in procs]

    def start(self) -> None:
        env = {**os.environ, **self.commands.env}
        with self.log_path.open("ab") as log:
            self.main = self._spawn(self.commands.main, env, log)
            self.workers = [self._spawn(cmd, env, log) for cmd in self.commands.workers]

    @staticmethod
    def _spawn(cmd: list[str], env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            cmd,
            env=env,  # cwd: the user's folder, as given (paths in the command are absolute)
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )

    def exit_code(self) -> int | None:
        """The main process' exit code, or None while it runs."""
        return None if self.main is None else self.main.poll()

    def newly_lost_workers(self) -> list[dict[str, int | None]]:
        """Workers that died while the master runs on (each reported once). A worker that exits
        cleanly counts only if the master still runs `QUIT_GRACE_S` later (at the end of a test
        the master tells the workers to quit just before it exits itself)."""
        if self._stopping or self.exit_code() is not None:
            return []
        now = time.monotonic()
        known = {w["pid"] for w in self.lost_workers}
        lost: list[dict[str, int | None]] = []
        for worker in self.workers:
            code = worker.poll()
            if code is None or worker.pid in known:
                continue
            seen = self._exited_at.setdefault(worker.pid, now)
            if code != 0 or now - seen >= QUIT_GRACE_S:
                lost.append({"pid": worker.pid, "exit_code": code})
        self.lost_workers += lost
        return lost

    def stop(self, grace: float = 15.0) -> None:
        """SIGINT the main process (it writes its reports), then end every process by PID."""
        self._stopping = True
        if self.main is not None:
            end_process(self.main, signal.SIGINT, grace)
        for worker in self.workers:
            try:
                worker.wait(timeout=3 if worker.poll() is None else 0.1)
            except subprocess.TimeoutExpired:
                kill_pid(worker.pid)
                worker.wait(timeout=5)


# -- agentload worker -------------------------------------------------------------------------
NEXT_RUN_WAIT_S = 60.0  # how long a worker waits for the phase's next Locust run
# What `agentload worker` tells its Locust worker (read by agentload.locust.remote):
WORKER_STATE_ENV = "AGENTLOAD_WORKER_STATE"  # the file where it says joined/refused/closing
WORKER_ID_ENV = "AGENTLOAD_WORKER_ID"  # <host>-<pid of agentload worker>: one id for all runs
WORKER_PID_ENV = "AGENTLOAD_WORKER_PID"


def worker_command(config: WorkerConfig) -> list[str]:
    """The Locust worker command line of `agentload worker` (pure)."""
    if config.locustfile is not None:
        files = f"{config.locustfile.resolve()},{PLUGIN_LOCUSTFILE}"
    else:
        files = str(LOCUSTFILE)
    cmd = [sys.executable, "-m", "locust", "-f", files, "--worker", "--loglevel", "INFO"]
    cmd += ["--master-host", config.master_host, "--master-port", str(config.master_port)]
    if config.api is not None:
        cmd += ["--api", config.api]
    if config.scenario_config is not None:
        cmd += ["--scenario-config", str(config.scenario_config)]
    if config.model:
        cmd += ["--model", config.model]
    return cmd + list(config.locust_args) + list(config.user_classes)


def run_worker(config: WorkerConfig) -> int:
    """`agentload worker`: one Locust worker per Locust run of the master's phase (a Locust
    worker ends with its master), until a master says its run was the phase's last. Exit 0 then
    (or when no next run comes within `NEXT_RUN_WAIT_S`), 2 when the plan check refused this
    worker, 3 when no master answered within `config.connect_timeout`."""
    if config.locustfile is not None and not config.locustfile.is_file():
        raise ConfigError(f"--locustfile {config.locustfile}: not found")
    stopping: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, _f: stopping.append(signum))
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    env = {**os.environ, "PYTHONUNBUFFERED": "1", WORKER_PID_ENV: str(os.getpid())}
    env[WORKER_ID_ENV] = f"{socket.gethostname()}-{os.getpid()}"
    if config.api is not None:
        env["AGENTLOAD_API"] = config.api
    master = f"{config.master_host}:{config.master_port}"
    wait, runs = config.connect_timeout, 0
    try:
        with tempfile.TemporaryDirectory(prefix="agentload-worker-") as tmp:
            state_path = Path(tmp) / "state.json"
            env[WORKER_STATE_ENV] = str(state_path)
            while True:
                state_path.unlink(missing_ok=True)
                code, state = _serve_once(worker_command(config), env, state_path, wait, stopping)
                status = state.get("status")
                if stopping:
                    _say(f"stopped by {signal.Signals(stopping[0]).name}")
                    return 130
                if status == "refused":
                    _say(f"refused by the master {master}: {state.get('reason')}")
                    return int(ExitCode.USAGE)
                if status == "joined":
                    runs += 1
                    if state.get("last"):
                        _say(f"the master's last run ended ({runs} run(s) served)")
                        return 0
                    wait = NEXT_RUN_WAIT_S
                    continue
                if status == "closing":  # reached a master that was ending: try the next one
                    time.sleep(1.0)
                    continue
                if code is None:  # no master answered in time
                    if runs:
                        _say(f"no further run within {wait:g}s after {runs} run(s): done")
                        return 0
                    _say(f"no master answered at {master} within {wait:g}s")
                    return int(ExitCode.ABORTED)
                _say(f"the Locust worker ended with exit code {code} before joining {master}")
                return int(ExitCode.ABORTED) if code == 0 else code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve_once(
    cmd: list[str], env: dict[str, str], state_path: Path, wait: float, stopping: list[int]
) -> tuple[int | None, dict[str, Any]]:
    """One Locust worker to its end: (exit code, its state file). Ended by PID, with code
    None, when it has not joined a master within `wait` seconds."""
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    started = time.monotonic()
    try:
        while proc.poll() is None:
            if stopping:
                end_process(proc, signal.SIGINT, 10.0)
                break
            joined = state_path.exists()
            if not joined and time.monotonic() - started > wait:
                end_process(proc, signal.SIGTERM, 5.0)
                return None, {}
            time.sleep(0.2)
    finally:
        end_process(proc, signal.SIGTERM, 5.0)
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    return proc.returncode, state


def _say(line: str) -> None:
    sys.stderr.write(f"agentload worker: {line}\n")
    sys.stderr.flush()
