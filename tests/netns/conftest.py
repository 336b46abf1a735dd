"""Fixtures for the tests across hosts: a namespace network (skipped where the kernel or the
user cannot make one) and servers started inside its hosts, every one ended by PID."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.netns.namespaces import Host, Network, remove_stale, unavailable
from tests.runner.agentload_run import env_with
from tests.support import ROOT

INTERNAL_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})
TARGET_PORT, ENGINE_PORT = 8000, 8001  # a fresh namespace: nothing else listens there


@pytest.fixture(scope="session")
def netns_ok() -> None:
    """Skip (saying why) where namespaces cannot be made; remove our own stale ones once."""
    reason = unavailable()
    if reason is not None:
        pytest.skip(f"no network namespaces: {reason}")
    remove_stale()


@pytest.fixture
def network(netns_ok: None) -> Iterator[Network]:
    """A fresh namespace network; at teardown every process, veth and namespace is removed, and
    the teardown fails if any is left."""
    net = Network()
    try:
        yield net
    finally:
        net.close()


def wait_ready_in(
    net: Network,
    host: Host,
    url: str,
    process: subprocess.Popen[bytes],
    timeout: float = 30.0,
) -> None:
    """Poll `url` from inside `host` until it answers 200; fail early if `process` exited."""
    deadline = time.monotonic() + timeout

    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited before {url} was ready")
        if net.call(host, ready):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout}s")


@dataclass
class Target:
    """The embedded target in its own namespace, read from any host of the network."""

    net: Network
    host: Host
    url: str

    def served(self, reader: Host) -> int:
        """The target's own count of API requests (its /metrics, internal routes excluded),
        read from `reader`'s namespace."""

        def scrape() -> str:
            return httpx.get(f"{self.url}/metrics", timeout=5.0).text

        total = 0.0
        for family in text_string_to_metric_families(self.net.call(reader, scrape)):
            for sample in family.samples:
                if sample.name == "agent_http_request_duration_seconds_count":
                    if sample.labels.get("route") not in INTERNAL_ROUTES:
                        total += sample.value
        return int(total)


@pytest.fixture
def start_target(network: Network, tmp_path: Path) -> Callable[[Host], Target]:
    """Start `python -m target_service` on `host`'s address (quick engine, as the runner's
    tests use); ended by PID with the network."""

    def start(host: Host) -> Target:
        env = env_with({"AGENT_DB_PATH": str(tmp_path / "target-jobs.sqlite")})
        cmd = [sys.executable, "-m", "target_service", "--host", host.address]
        cmd += ["--port", str(TARGET_PORT), "--engine-port", str(ENGINE_PORT)]
        process = network.start(host, cmd, tmp_path / "target.log", env=env, cwd=ROOT)
        url = f"http://{host.address}:{TARGET_PORT}"
        wait_ready_in(network, host, f"{url}/readyz", process)
        return Target(network, host, url)

    return start


@pytest.fixture
def start_capacity(network: Network, tmp_path: Path) -> Callable[[Host, int, float], str]:
    """Start tests/servers/capacity.py (plateau: SLOTS of SERVICE_MS) on `host`'s address; its
    URL. Ended by PID with the network."""

    def start(host: Host, slots: int, service_ms: float) -> str:
        cmd = [sys.executable, "-m", "tests.netns.capacity_on", host.address, str(TARGET_PORT)]
        cmd += ["plateau", str(slots), str(service_ms)]
        process = network.start(host, cmd, tmp_path / "capacity.log", cwd=ROOT)
        url = f"http://{host.address}:{TARGET_PORT}"
        wait_ready_in(network, host, f"{url}/readyz", process)
        return url

    return start
