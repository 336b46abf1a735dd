"""Fixtures for the scenario tests: the real target service (fast engine) and Locust runs."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, RunningService, run_target_service, stop_process

# The plugin's AGENTLOAD_API would override --api: runs here see only their own options
# (agentload.locust.plugin is not imported: Locust's monkey-patching must stay out of pytest).
API_ENV = "AGENTLOAD_API"
LOCUST = str(ROOT / ".venv" / "bin" / "locust")
LOCUSTFILE = str(ROOT / "locustfiles" / "agents.py")
# A quick engine that writes invalid code half the time, no cache: outcomes of both kinds.
SERVICE_ENV = {
    "ENGINE_TTFT_MS": "30",
    "ENGINE_OUTPUT_TOKENS": "12",
    "ENGINE_TOKENS_PER_S": "400",
    "ENGINE_INVALID_RATE": "0.5",
    "AGENT_CACHE_SIZE": "0",
    "AGENT_STATUS_CACHE_S": "0",
}


@dataclass
class LocustRun:
    """A finished Locust subprocess and the files it wrote."""

    returncode: int
    output: str
    out_dir: Path

    def final(self) -> dict[str, Any]:
        return json.loads((self.out_dir / "final.json").read_text())

    def timeline(self) -> list[dict[str, Any]]:
        lines = (self.out_dir / "timeline.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with run_target_service(tmp_path_factory.mktemp("target"), env=SERVICE_ENV) as running:
        yield running


def start_locust(args: Sequence[str], out_dir: Path, env: dict[str, str] | None = None):
    """Start Locust headless with the shipped locustfile (``--api`` agent-v1 unless ``args``
    say otherwise; output to a log file); the caller ends it by PID."""
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [LOCUST, "-f", LOCUSTFILE, "--headless", "--agentload-out", str(out_dir), *args]
    env = {key: value for key, value in {**os.environ, **(env or {})}.items() if key != API_ENV}
    with (out_dir / "locust.log").open("w") as log:
        return subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
            env=env,
        )  # fmt: skip


def run_locust(
    args: Sequence[str], out_dir: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> LocustRun:
    """Run Locust to its end (bounded by ``timeout``) and collect its output."""
    process = start_locust(args, out_dir, env)
    try:
        process.wait(timeout=timeout)
    finally:
        stop_process(process)
    return LocustRun(process.returncode, (out_dir / "locust.log").read_text(), out_dir)


def write_config(path: Path, text: str) -> Path:
    """A scenario config: an overlay on agent-v1's scenarios (its datasets are the shipped ones)."""
    path.write_text(text)
    return path
