"""Real short smoke runs, made once per session: one clean, one under AGENT_FAULT_LATENCY_MS=200.

The two run side by side, so that whatever else loads the machine weighs on both alike.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.runs import RECORDED_SMOKE, SmokeRuns, copy_run, finish, start

# 16 users for 25 s: enough codegen requests that +200 ms stands well out of the noise.
SMOKE = ("run", "smoke", "--duration", "25s", "--users", "16", "--spawn-rate", "16")


@pytest.fixture(scope="session")
def smoke_runs(tmp_path_factory: pytest.TempPathFactory) -> SmokeRuns:
    """The clean run compares itself with the recorded smoke run at its end (``--baseline``)."""
    root = tmp_path_factory.mktemp("runs")
    clean, slow = root / "clean", root / "slow"
    procs = [
        start(*SMOKE, "--out", str(clean), "--baseline", str(RECORDED_SMOKE)),
        start(*SMOKE, "--out", str(slow), env={"AGENT_FAULT_LATENCY_MS": "200"}),
    ]
    results = finish(procs)
    for run, result in zip((clean, slow), results, strict=True):
        assert result.returncode in (0, 1), result.stdout + result.stderr
        assert (run / "summary.json").is_file(), result.stdout + result.stderr
    return SmokeRuns(clean, slow, results[0])


@pytest.fixture(scope="session")
def clean_run(smoke_runs: SmokeRuns) -> Path:
    """A 25 s smoke run with 16 users against the embedded target."""
    return smoke_runs.clean


@pytest.fixture(scope="session")
def slow_run(smoke_runs: SmokeRuns) -> Path:
    """The same run with 200 ms added to every agent call (AGENT_FAULT_LATENCY_MS=200)."""
    return smoke_runs.slow


@pytest.fixture
def clean_copy(clean_run: Path, tmp_path: Path) -> Path:
    """A private copy of the clean run, for tests that write into a run folder."""
    return copy_run(clean_run, tmp_path / "clean")
