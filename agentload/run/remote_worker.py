"""`agentload worker`: a remote worker of `agentload run --expect-workers N`.

It starts one Locust worker per Locust run of the master's phase (a Locust worker ends with
its master) until a master says its run was the phase's last. The Locust worker's plan check
(:mod:`agentload.locust.remote`) is told where to write its state (joined, refused, closing)
and which id to give by command-line options (``--agentload-worker-state``,
``--agentload-worker-id``, ``--agentload-worker-pid``).
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
from pathlib import Path
from typing import Any

from agentload.errors import ConfigError, ExitCode
from agentload.processes import die_with_parent, end_process
from agentload.run.config import WorkerConfig
from agentload.run.locust_plan import locustfiles_for

NEXT_RUN_WAIT_S = 60.0  # how long a worker waits for the phase's next Locust run


def worker_command(
    config: WorkerConfig, state: Path | None = None, worker_id: str = "", pid: int = 0
) -> list[str]:
    """The Locust worker command line of `agentload worker` (pure). Its plan check
    (:mod:`agentload.locust.remote`) writes joined/refused/closing to `state` and names this
    worker `worker_id` (<host>-<pid of agentload worker>: one id for all runs) with `pid`."""
    files = locustfiles_for(config.locustfile)
    cmd = [sys.executable, "-m", "locust", "-f", files, "--worker", "--loglevel", "INFO"]
    cmd += ["--master-host", config.master_host, "--master-port", str(config.master_port)]
    if config.api is not None:
        cmd += ["--api", config.api]
    if config.scenario_config is not None:
        cmd += ["--scenario-config", str(config.scenario_config)]
    if config.model:
        cmd += ["--model", config.model]
    if state is not None:
        cmd += ["--agentload-worker-state", str(state)]
    if worker_id:
        cmd += ["--agentload-worker-id", worker_id]
    if pid:
        cmd += ["--agentload-worker-pid", str(pid)]
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
    pid = os.getpid()
    worker_id = f"{socket.gethostname()}-{pid}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if config.api is not None:
        env["AGENTLOAD_API"] = config.api
    master = f"{config.master_host}:{config.master_port}"
    wait, runs = config.connect_timeout, 0
    try:
        with tempfile.TemporaryDirectory(prefix="agentload-worker-") as tmp:
            state_path = Path(tmp) / "state.json"
            cmd = worker_command(config, state_path, worker_id, pid)
            while True:
                state_path.unlink(missing_ok=True)
                code, state = _serve_once(cmd, env, state_path, wait, stopping)
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
