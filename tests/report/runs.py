"""Helpers for the report tests: the real `agentload` CLI as a subprocess, run-folder copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.support import ROOT, stop_process

AGENTLOAD = str(Path(sys.executable).with_name("agentload"))
RUN_TIMEOUT_S = 120


def agentload(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `agentload` CLI; the process is ended by its PID if it overruns."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_FAULT_")}
    full_env.update({"CI": "1", **(env or {})})
    proc = subprocess.Popen(
        [AGENTLOAD, *args],
        cwd=ROOT,
        env=full_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        stop_process(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def copy_run(run: Path, dest: Path) -> Path:
    """A copy of a run folder (without Prometheus' own data)."""
    return Path(shutil.copytree(run, dest, ignore=shutil.ignore_patterns("prometheus")))
