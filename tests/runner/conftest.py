"""Fixtures shared by the runner's tests: servers whose capacity follows from their settings."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import ROOT, free_port, stop_process, wait_ready


class Capacity:
    """A running tests/servers/capacity.py."""

    def __init__(self, process: subprocess.Popen[str], url: str, rps: float) -> None:
        self.process, self.url, self.capacity_rps = process, url, rps


@pytest.fixture
def capacity_server(tmp_path: Path) -> Iterator[Callable[[str, int, float], Capacity]]:
    """Start capacity servers (mode, slots, service_ms); each is ended by its PID at teardown."""
    started: list[subprocess.Popen[str]] = []

    def start(mode: str, slots: int, service_ms: float) -> Capacity:
        port = free_port()
        log = (tmp_path / f"capacity-{port}.log").open("w")
        cmd = [sys.executable, "-m", "tests.servers.capacity", str(port), mode]
        process = subprocess.Popen(
            [*cmd, str(slots), str(service_ms)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/readyz", process)
        return Capacity(process, url, slots / (service_ms / 1000.0))

    try:
        yield start
    finally:
        for process in started:
            stop_process(process)
