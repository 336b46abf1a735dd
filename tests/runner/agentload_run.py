"""Helpers for the runner's end-to-end tests: `agentload run` as a real subprocess, its PIDs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from tests.support import ROOT

CLI = [sys.executable, "-c", "from agentload.cli import main; main()"]
# A quick engine so short runs measure something: 8 slots, ~0.25 s a completion.
FAST_ENGINE = {
    "ENGINE_TTFT_MS": "50",
    "ENGINE_OUTPUT_TOKENS": "20",
    "ENGINE_TOKENS_PER_S": "100",
    "ENGINE_SEED": "7",
}


def env_with(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a run: ours, no CI live view noise, plus `extra`."""
    env = {**os.environ, "CI": "true", "COLUMNS": "200", **FAST_ENGINE}
    env.update(extra or {})
    return env


def run_agentload(
    args: list[str],
    env: Mapping[str, str] | None = None,
    timeout: float = 150.0,
    cwd: Path = ROOT,
) -> subprocess.CompletedProcess[str]:
    """Run `agentload ARGS` (in `cwd`) to its end; its output as text."""
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=env_with(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_agentload(args: list[str], env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `agentload ARGS` (for drills that signal it or kill its children)."""
    return subprocess.Popen(
        [*CLI, *args],
        cwd=ROOT,
        env=env_with(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())  # type: ignore[no-any-return]


def logged_pids(out: Path) -> dict[str, list[int]]:
    """The child PIDs the runner logged (`pids <name>: <pid> ...` lines of runner.log)."""
    found: dict[str, list[int]] = {}
    log = out / "runner.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    for match in re.finditer(r"agentload DEBUG pids ([\w -]+): ([\d ]+)", text):
        found.setdefault(match[1], []).extend(int(p) for p in match[2].split())
    return found


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def timeline_lines(out: Path) -> int:
    path = out / "timeline.jsonl"
    return len(path.read_text().splitlines()) if path.exists() else 0


def alive(pids: list[int]) -> list[int]:
    """The PIDs that still run (zombies count as gone)."""
    running = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                running.append(pid)
        except psutil.Error:
            pass
    return running


def end_all(pids: list[int]) -> None:
    """Teardown: end any PID still running (SIGKILL); the tests assert nothing was left first."""
    for pid in alive(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def all_child_pids(out: Path) -> list[int]:
    return [pid for name, pids in logged_pids(out).items() if name != "runner" for pid in pids]


def stop_runner(proc: subprocess.Popen[str]) -> str:
    """End the runner if it still runs (a test failed half-way); its output (once)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is None or proc.stdout.closed:
        return ""
    with proc.stdout:
        return proc.stdout.read()
