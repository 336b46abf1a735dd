"""Real short smoke runs, made once per session: one clean, one under AGENT_FAULT_LATENCY_MS."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.report.runs import agentload, copy_run

# 16 users for 15 s: enough codegen requests that +200 ms stands well out of the noise.
SMOKE = ("run", "smoke", "--duration", "15s", "--users", "16", "--spawn-rate", "16")


def _smoke(out: Path, env: Mapping[str, str] | None = None) -> Path:
    result = agentload(*SMOKE, "--out", str(out), env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert (out / "summary.json").is_file(), result.stdout + result.stderr
    return out


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 15 s smoke run with 16 users against the embedded target."""
    return _smoke(tmp_path_factory.mktemp("runs") / "clean")


@pytest.fixture(scope="session")
def slow_run(tmp_path_factory: pytest.TempPathFactory, clean_run: Path) -> Path:
    """The same run with 200 ms added to every agent call (AGENT_FAULT_LATENCY_MS=200)."""
    return _smoke(tmp_path_factory.mktemp("runs") / "slow", {"AGENT_FAULT_LATENCY_MS": "200"})


@pytest.fixture
def clean_copy(clean_run: Path, tmp_path: Path) -> Path:
    """A private copy of the clean run, for tests that write into a run folder."""
    return copy_run(clean_run, tmp_path / "clean")
