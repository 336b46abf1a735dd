"""Real short smoke runs, made once per session: one clean, one under AGENT_FAULT_LATENCY_MS=200.

The two run side by side, so that whatever else loads the machine weighs on both alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.runs import copy_run, finish, start

# 16 users for 25 s: enough codegen requests that +200 ms stands well out of the noise.
SMOKE = ("run", "smoke", "--duration", "25s", "--users", "16", "--spawn-rate", "16")


@pytest.fixture(scope="session")
def smoke_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(clean, slow) run folders of two smoke runs made at the same time."""
    root = tmp_path_factory.mktemp("runs")
    clean, slow = root / "clean", root / "slow"
    procs = [
        start(*SMOKE, "--out", str(clean)),
        start(*SMOKE, "--out", str(slow), env={"AGENT_FAULT_LATENCY_MS": "200"}),
    ]
    for run, result in zip((clean, slow), finish(procs), strict=True):
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert (run / "summary.json").is_file(), result.stdout + result.stderr
    return clean, slow


@pytest.fixture(scope="session")
def clean_run(smoke_pair: tuple[Path, Path]) -> Path:
    """A 25 s smoke run with 16 users against the embedded target."""
    return smoke_pair[0]


@pytest.fixture(scope="session")
def slow_run(smoke_pair: tuple[Path, Path]) -> Path:
    """The same run with 200 ms added to every agent call (AGENT_FAULT_LATENCY_MS=200)."""
    return smoke_pair[1]


@pytest.fixture
def clean_copy(clean_run: Path, tmp_path: Path) -> Path:
    """A private copy of the clean run, for tests that write into a run folder."""
    return copy_run(clean_run, tmp_path / "clean")
