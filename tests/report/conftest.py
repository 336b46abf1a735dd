"""Real short smoke runs made once per session: a clean one and one under AGENT_FAULT_LATENCY_MS=200."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.support import ROOT, stop_process

AGENTLOAD = str(Path(sys.executable).with_name("agentload"))
RUN_TIMEOUT_S = 120


def agentload(*args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `agentload` CLI; the process is ended by its PID if it overruns."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_FAULT_")}
    full_env.update({"CI": "1", **(env or {})})
    proc = subprocess.Popen(
        [AGENTLOAD, *args], cwd=ROOT, env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        stop_process(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _smoke(out: Path, env: Mapping[str, str] | None = None) -> Path:
    result = agentload("run", "smoke", "--duration", "10s", "--out", str(out), env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert (out / "summary.json").is_file(), result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s smoke run against the embedded target."""
    return _smoke(tmp_path_factory.mktemp("runs") / "clean")


@pytest.fixture(scope="session")
def slow_run(tmp_path_factory: pytest.TempPathFactory, clean_run: Path) -> Path:
    """The same run with 200 ms added to every agent call (AGENT_FAULT_LATENCY_MS=200)."""
    return _smoke(tmp_path_factory.mktemp("runs") / "slow", {"AGENT_FAULT_LATENCY_MS": "200"})


@pytest.fixture
def clean_copy(clean_run: Path, tmp_path: Path) -> Path:
    """A private copy of the clean run, for tests that write into a run folder."""
    return Path(shutil.copytree(clean_run, tmp_path / "clean", ignore=shutil.ignore_patterns("prometheus")))
