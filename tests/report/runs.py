"""Helpers for the report tests: the real `agentload` CLI as a subprocess, run-folder copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT, stop_process

AGENTLOAD = str(Path(sys.executable).with_name("agentload"))
RUN_TIMEOUT_S = 150
RECORDED_SMOKE = Path(__file__).with_name("fixtures") / "smoke-run"


def start(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the real `agentload` CLI (CI mode, no AGENT_FAULT_* from the caller's environment)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_FAULT_")}
    full_env.update({"CI": "1", **(env or {})})
    return subprocess.Popen(
        [AGENTLOAD, *args],
        cwd=ROOT,
        env=full_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(procs: Sequence[subprocess.Popen[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Wait for processes started by `start`; any still running on error is ended by its PID."""
    done = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
            done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    finally:
        for proc in procs:
            stop_process(proc)
    return done


def agentload(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `agentload` CLI to its end."""
    return finish([start(*args, env=env)])[0]


def copy_run(run: Path, dest: Path) -> Path:
    """A copy of a run folder (without Prometheus' own data)."""
    return Path(shutil.copytree(run, dest, ignore=shutil.ignore_patterns("prometheus")))


@dataclass
class SmokeRuns:
    """Two smoke runs made at the same time; the clean one ran with ``--baseline``."""

    clean: Path
    slow: Path
    clean_result: subprocess.CompletedProcess[str]
