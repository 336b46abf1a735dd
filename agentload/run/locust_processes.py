"""The running Locust processes of one phase run (the command lines of
:func:`agentload.run.locust_plan.build_commands`).

`LocustProcesses` starts them with their output appended to `runner.log`, each in its own
process group, watches the workers (one that dies while the master runs on is lost), and stops
everything by PID. Locust is stopped with SIGINT so it writes its HTML report and fires
`quitting` (final.json).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from agentload.processes import die_with_parent, end_process, kill_pid
from agentload.run.locust_plan import Commands

QUIT_GRACE_S = 3.0  # a worker that exits cleanly is lost only if the master runs on this long


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
