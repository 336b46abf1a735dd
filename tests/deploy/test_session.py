"""The run's Prometheus session: finding the binary, bad input, start and stop by PID."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from agentload.prometheus import (
    PrometheusError,
    PrometheusSession,
    PrometheusUnavailable,
    ScrapeTargets,
    find_prometheus,
    missing_server_side,
    server_side,
    start_prometheus,
)
from agentload.prometheus.server import render_scrape_config
from tests.support import free_port


def test_missing_binary_is_unavailable_with_install_hint(tmp_path: Path) -> None:
    """A binary path that does not exist gives PrometheusUnavailable saying how to install."""
    assert find_prometheus(str(tmp_path / "nope")) is None
    targets = ScrapeTargets("http://127.0.0.1:1")
    with pytest.raises(PrometheusUnavailable, match="make install"):
        start_prometheus(tmp_path, targets, binary=str(tmp_path / "nope"))


def test_bad_urls_are_refused_with_the_expected_form() -> None:
    """A Prometheus URL or scrape target without a host is one clear error."""
    with pytest.raises(PrometheusError, match='must look like "http://host:9090"'):
        PrometheusSession.external("localhost:9090")
    with pytest.raises(PrometheusError, match='must look like "http://host:port"'):
        render_scrape_config(ScrapeTargets("http://"))


def test_unreachable_server_is_unavailable() -> None:
    """An existing-server URL nobody answers on, or a query to it, is PrometheusUnavailable."""
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PrometheusUnavailable, match="not ready"):
        PrometheusSession.external(url, timeout=0.3)
    with pytest.raises(PrometheusUnavailable, match="does not answer"):
        server_side(url, time.time() - 5, time.time())
    assert missing_server_side("--no-prometheus given") == {
        "source": None,
        "missing": "--no-prometheus given",
    }


@pytest.mark.skipif(find_prometheus() is None, reason="prometheus missing: run `make install`")
def test_session_keeps_data_in_the_run_folder_and_stops_by_pid(tmp_path: Path) -> None:
    """start_prometheus writes config, rules and data under RUN/prometheus and stop() ends it."""
    session = start_prometheus(tmp_path, ScrapeTargets(f"http://127.0.0.1:{free_port()}"))
    try:
        assert session.owned and session.pid is not None
        assert httpx.get(f"{session.url}/-/ready", timeout=5).status_code == 200
        rules = httpx.get(f"{session.url}/api/v1/rules", timeout=5).json()["data"]["groups"]
        assert {g["name"] for g in rules} >= {"agentload-alerts", "agentload-recording"}
        folder = tmp_path / "prometheus"
        assert (folder / "prometheus.yml").is_file() and (folder / "data").is_dir()
        assert (folder / "rules" / "alerts.yml").read_text().count("for: 10s") >= 1
        external = PrometheusSession.external(session.url)
        external.stop()  # not ours: a no-op
        assert not external.owned
        assert httpx.get(f"{session.url}/-/ready", timeout=5).status_code == 200
    finally:
        session.stop()
    assert session.process is not None and session.process.poll() is not None
    session.stop()  # idempotent
