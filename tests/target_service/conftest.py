"""Shared fixtures for the target service: the real engine and agent API as subprocesses.

    launch.engine(**env) -> Proc         python -m target_service.engine on a free port
    launch.api(engine_url, **env) -> Proc  python -m target_service.api on a free port
    module_launch                        the same, shared by one test module
    service                              `python -m target_service` for a whole session (fast
                                         engine, default agent settings): .url, .engine_url
    scrape(url) -> Samples               parsed /metrics: samples[name][labels] -> value

Every process is ended by its PID when its fixture tears down. Environment values are strings;
the engine defaults here are fast (short TTFT, quick decode, no invalid code) unless overridden.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import (
    API_KEY,
    ROOT,
    RunningService,
    free_port,
    run_target_service,
    stop_process,
    wait_ready,
)

FAST_ENGINE = {
    "ENGINE_TTFT_MS": "10",
    "ENGINE_TOKENS_PER_S": "4000",
    "ENGINE_OUTPUT_TOKENS": "24",
    "ENGINE_INVALID_RATE": "0",
    "ENGINE_SLOTS": "16",
}
ADMIN_KEY = "test-admin-key-0123"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]


@dataclass
class Proc:
    """One started process and its base URL."""

    process: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Launcher:
    """Starts engines and agent APIs on free ports; `close()` ends them all by PID."""

    tmp: Path
    corpus_cache: Path
    started: list[Proc] = field(default_factory=list)

    def _start(self, module: str, env: dict[str, str], ready_path: str) -> Proc:
        port = free_port()
        log_path = self.tmp / f"{module.rsplit('.', 1)[-1]}-{port}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        proc = Proc(process, f"http://127.0.0.1:{port}", log_path)
        self.started.append(proc)
        try:
            wait_ready(proc.url + ready_path, process, timeout=30)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{module} did not start: {exc}\n{proc.log()}") from exc
        return proc

    def engine(self, **env: str) -> Proc:
        """The simulated engine with fast defaults and an admin key."""
        return self._start(
            "target_service.engine",
            {**FAST_ENGINE, "ENGINE_ADMIN_KEY": ADMIN_KEY, **env},
            "/healthz",
        )

    def api(self, engine_url: str, ready_path: str = "/readyz", **env: str) -> Proc:
        """The agent API in front of `engine_url` (own job database); started when
        `ready_path` answers 200 (`/healthz` for an API whose engine is down)."""
        db = self.tmp / f"jobs-{len(self.started)}.sqlite"
        return self._start(
            "target_service.api",
            {
                "AGENT_ENGINE_URL": engine_url,
                "AGENT_DB_PATH": str(db),
                "AGENT_RESEARCH_CORPUS_CACHE": str(self.corpus_cache),
                **env,
            },
            ready_path,
        )

    def close(self) -> None:
        for proc in reversed(self.started):
            stop_process(proc.process)


@pytest.fixture(scope="session")
def corpus_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One research corpus cache for every API the tests start (built once)."""
    return tmp_path_factory.mktemp("corpus-cache")


@pytest.fixture
def launch(tmp_path: Path, corpus_cache: Path) -> Iterator[Launcher]:
    """Start engines/APIs for one test; all are ended when the test ends."""
    launcher = Launcher(tmp_path, corpus_cache)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="module")
def module_launch(
    tmp_path_factory: pytest.TempPathFactory, corpus_cache: Path
) -> Iterator[Launcher]:
    """Like `launch`, for processes shared by one test module."""
    launcher = Launcher(tmp_path_factory.mktemp("module"), corpus_cache)
    try:
        yield launcher
    finally:
        launcher.close()


@pytest.fixture(scope="session")
def service(
    tmp_path_factory: pytest.TempPathFactory, corpus_cache: Path
) -> Iterator[RunningService]:
    """The whole `python -m target_service` (supervisor, fast engine, API with default
    settings and no admin key) for a test session."""
    env = {**FAST_ENGINE, "AGENT_RESEARCH_CORPUS_CACHE": str(corpus_cache)}
    with run_target_service(tmp_path_factory.mktemp("service"), env) as running:
        yield running


def parse_metrics(text: str) -> Samples:
    """Prometheus exposition text as samples[name][frozenset(labels)] -> value."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


@pytest.fixture
def scrape() -> Callable[[str], Samples]:
    """`scrape(base_url)`: GET base_url/metrics, parsed."""

    def _scrape(base_url: str) -> Samples:
        response = httpx.get(f"{base_url}/metrics", timeout=5)
        response.raise_for_status()
        return parse_metrics(response.text)

    return _scrape


def sample(samples: Samples, name: str, **labels: str) -> float:
    """The value of `name{labels}` (0.0 when absent)."""
    return samples.get(name, {}).get(frozenset(labels.items()), 0.0)


@pytest.fixture
def metric() -> Callable[..., float]:
    """`metric(samples, name, **labels)` -> value (0.0 when absent)."""
    return sample
