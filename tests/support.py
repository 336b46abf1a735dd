"""Shared test helpers: free ports and the real target service as a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "agentload-dev-key"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningService:
    """A `python -m target_service` started by a test."""

    process: subprocess.Popen[str]
    url: str
    engine_url: str
    log_path: Path

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {API_KEY}"}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_ready(url: str, process: subprocess.Popen[str], timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; fail early if the process has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was ready")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def start_server(
    module: str, args: list[str], ready_path: str, log: Path, env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """``python -m MODULE --port PORT ARGS`` on a free 127.0.0.1 port (``env`` over this
    process' environment), its output in ``log``, waited for until ``ready_path`` answers 200:
    the process and its URL (ended if not ready)."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", module, "--port", str(port), *args],
            cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}{ready_path}", process)
    except BaseException:
        stop_process(process)
        raise
    return process, url


def stop_process(process: subprocess.Popen[str], grace: float = 10.0) -> None:
    """End a process by its PID: SIGTERM, then SIGKILL after `grace` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def run_target_service(
    tmp_path: Path, env: Mapping[str, str] | None = None, ready_timeout: float = 30.0
) -> Iterator[RunningService]:
    """Start the real target service on free ports; stop it (by PID) on exit."""
    port, engine_port = free_port(), free_port()
    log_path = tmp_path / f"target-{port}.log"
    full_env = {
        **os.environ,
        "AGENT_DB_PATH": str(tmp_path / f"jobs-{port}.sqlite"),
        **(env or {}),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "target_service",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--engine-port",
                str(engine_port),
            ],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/readyz", process, ready_timeout)
        yield RunningService(process, url, f"http://127.0.0.1:{engine_port}", log_path)
    finally:
        stop_process(process)


@contextmanager
def latency_truth_server(log: Path) -> Iterator[str]:
    """tests/servers/latency_truth.py (known exact percentiles) on a free loopback port, its
    output in ``log``: its URL; ended by its PID."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.latency_truth", str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/ok", process)
        yield url
    finally:
        stop_process(process)
