"""Against a real Prometheus scraping the real target service and a real Locust run.

One short Locust run (mixed users) feeds every test here: the dashboard's queries all return data,
the server-side view judges Locust's exact figures against its own buckets, the series export
holds the run, and injected faults make the alerts fire.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentload.prometheus import (
    PrometheusSession,
    ScrapeTargets,
    export_series,
    find_prometheus,
    server_side,
    start_prometheus,
)
from agentload.prometheus.client import PromClient
from agentload.prometheus.compare import (
    AGREES,
    ARTEFACT,
    CLIENT_ABOVE,
    CLIENT_BELOW,
    Ranks,
    judge,
)
from tests.support import API_KEY, ROOT, RunningService, free_port, run_target_service, stop_process

ADMIN_KEY = "deploy-test-admin"
DASHBOARD = ROOT / "deploy/grafana/dashboards/agentload.json"
RATE_INTERVAL = "5s"  # Grafana's $__rate_interval at a 1 s scrape interval (4 x scrape, rounded up)

pytestmark = pytest.mark.skipif(
    find_prometheus() is None, reason="prometheus missing: run `make install`"
)


@dataclass
class Stack:
    target: RunningService
    prometheus: PrometheusSession
    run_dir: Path
    start: float
    end: float
    final: dict[str, Any]
    server: dict[str, Any]


def run_locust(target: RunningService, out: Path, metrics_port: int) -> None:
    """A short headless Locust run of the mixed user, bounded to 12 s of load."""
    command = [
        sys.executable, "-m", "locust", "-f", "locustfiles/agents.py", "--headless",
        "-u", "6", "-r", "6", "-t", "12s", "--stop-timeout", "5", "--only-summary",
        "--host", target.url, "--agentload-out", str(out),
        "--client-metrics-port", str(metrics_port), "MixedAgentUser",
    ]  # fmt: skip
    log = out / "locust.log"
    with log.open("w") as handle:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "AGENT_API_KEY": API_KEY},
        )  # fmt: skip
        try:
            process.wait(timeout=60)
        finally:
            stop_process(process)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert (out / "final.json").is_file(), text[-3000:]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("prom-run")
    env = {"AGENT_ADMIN_KEY": ADMIN_KEY, "AGENT_BREAKER_THRESHOLD": "3"}
    with run_target_service(run_dir, env=env) as target:
        metrics_port = free_port()
        targets = ScrapeTargets(target.url, target.engine_url, f"http://127.0.0.1:{metrics_port}")
        session = start_prometheus(run_dir, targets, rules_for="1s")
        try:
            time.sleep(1.5)  # a first scrape of every job before the load starts
            start = time.time()
            run_locust(target, run_dir, metrics_port)
            end = time.time()
            final = json.loads((run_dir / "final.json").read_text())
            server = server_side(session.url, start, end, final["entries"])
            yield Stack(target, session, run_dir, start, end, final, server)
        finally:
            session.stop()
    assert session.process is not None and session.process.poll() is not None


def dashboard_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (f"{panel['title']} [{target['refId']}]", target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def test_every_dashboard_query_returns_data(stack: Stack) -> None:
    """Each panel's PromQL runs without error and has finite values during the run."""
    client = PromClient(stack.prometheus.url)
    empty = []
    try:
        for name, expr in dashboard_queries():
            promql = expr.replace("$__rate_interval", RATE_INTERVAL)
            result = client.range(promql, stack.start, stack.end + 2, 1.0)
            finite = [
                v for series in result for _, v in series["values"] if math.isfinite(float(v))
            ]
            if not finite:
                empty.append(name)
    finally:
        client.close()
    assert not empty, f"panels without data: {empty}"


def test_server_side_view_has_the_run(stack: Stack) -> None:
    """The server counted the requests Locust made per route, and read agents, CPU and engine."""
    server = stack.server
    assert server["source"] == stack.prometheus.url
    for entry, figures in stack.final["entries"].items():
        method, _, route = entry.partition(" ")
        if method in ("GET", "POST") and figures["requests"] > 0:
            assert server["routes"][route]["requests"] >= figures["requests"], entry
    assert 0 < server["agent_success_rate"] <= 1
    assert server["agents"]["codegen"]["outcomes"]["success"] > 0
    assert server["cpu_pct"] > 0 and server["rss_bytes"] > 0
    assert set(server["processes"]) == {"agent-api", "engine"}
    assert server["engine"]["slots_total"] > 0 and server["engine"]["slots_busy_max"] > 0


def test_server_quantiles_carry_the_bucket_they_were_interpolated_in(stack: Stack) -> None:
    """Every server P50/P95/P99 (routes, custom entries, engine TTFT) has its bucket (lo, hi],
    and Prometheus' estimate lies in it; the buckets are at most 10 % wide where latency fell;
    its 95 % interval (the buckets of the ranks that bound it) holds that bucket."""
    figures = [*stack.server["routes"].values(), *stack.server["custom"].values()]
    assert stack.server["custom"], "no custom (TTC) entry compared with a job histogram"
    checked = with_interval = 0
    for f in figures:
        for q in ("p50", "p95", "p99"):
            lo, hi = f[f"{q}_lo_ms"], f[f"{q}_hi_ms"]
            assert hi is not None and lo <= f[f"{q}_ms"] <= hi, (q, f)
            assert lo == 0 or hi / lo <= 1.1 + 1e-6, (q, f)  # the target's fine buckets
            # its 95 % interval, from the buckets of the ranks that bound it (a bound is null
            # when its rank is past the samples: a median of 2 has neither)
            ci_lo, ci_hi = f[f"{q}_ci_ms"] or (None, None)
            assert (ci_lo is None or ci_lo <= lo) and (ci_hi is None or hi <= ci_hi), (q, f)
            if q == "p50" and (f.get("requests") or f.get("count") or 0) >= 20:
                assert ci_lo is not None and ci_hi is not None, (q, f)
                with_interval += 1
            checked += 1
    engine = stack.server["engine"]
    assert engine["ttft_p95_lo_ms"] <= engine["ttft_p95_ms"] <= engine["ttft_p95_hi_ms"]
    assert checked >= 12 and with_interval >= 1


def test_client_p95_is_judged_against_the_servers_bucket(stack: Stack) -> None:
    """Per route, the client's exact P95 is judged against the server's bucket (lo, hi]: inside it
    and not below the server's estimate it agrees; the server above the client is never agreement;
    the client is never faster than the server's bucket (its time includes the server's) unless
    the two quantiles are different requests (few of them: `ranks_apart`); on the
    codegen route, where the server's time dominates, the client is at most one bucket above."""
    rows = [r for r in stack.server["comparison"] if r["quantile"] == "p95"]
    assert {"/v1/status", "/v1/agents/codegen"} <= {r["route"] for r in rows}
    for row in stack.server["comparison"]:
        c, s, lo = row["client_ms"], row["server_ms"], row["lo_ms"]
        hi = math.inf if row["hi_ms"] is None else row["hi_ms"]
        at = Ranks(**row["ranks"]) if row["ranks"] else None
        expected = judge(c, s, lo, hi, at)[0]
        assert row["verdict"] == expected, json.dumps(row, indent=1)
        assert row["agrees"] is (lo < c <= hi and s <= c), json.dumps(row, indent=1)
    above = [r for r in stack.server["comparison"] if r["server_ms"] > r["client_ms"]]
    assert not [r for r in above if r["agrees"]], json.dumps(above, indent=1)
    below = [r for r in rows if r["verdict"] == CLIENT_BELOW]
    assert not below, json.dumps(below, indent=1)
    [codegen] = [r for r in rows if r["route"] == "/v1/agents/codegen"]
    assert codegen["server_ms"] >= 100.0, codegen
    assert codegen["verdict"] in (AGREES, ARTEFACT) or (
        codegen["verdict"] == CLIENT_ABOVE and codegen["bucket_distance"] <= 1
    ), json.dumps(codegen, indent=1)


def test_export_series_writes_the_run(stack: Stack) -> None:
    """prometheus_series.json holds per-route latency and load with times relative to start."""
    path = export_series(stack.prometheus.url, stack.start, stack.end, stack.run_dir)
    data = json.loads(path.read_text())
    assert path.name == "prometheus_series.json"
    p95 = data["series"]["server_p95_ms"]["series"]
    assert {s["labels"]["route"] for s in p95} >= {"/v1/status", "/v1/agents/codegen"}
    points = [p for s in p95 for p in s["points"]]
    assert points and all(0 <= t <= stack.end - stack.start + 1 for t, _ in points)
    assert data["series"]["users"]["series"], "no users series"
    assert data["series"]["server_errors_rps"]["series"], "errors are zero-filled, not missing"


def wait_for_alert(url: str, name: str, timeout: float, poke: Any) -> None:
    """Call `poke()` until Prometheus shows alert `name` firing (its copy has `for: 1s`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poke()
        alerts = httpx.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
        if any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts):
            return
        time.sleep(0.5)
    raise AssertionError(f"alert {name} did not fire within {timeout}s")


def test_injected_faults_fire_error_rate_and_breaker_alerts(stack: Stack) -> None:
    """With every agent call failing, then the engine down, the error-rate alert and the
    breaker alert fire on the run's Prometheus, and the server-side view lists them."""
    target, url = stack.target, stack.prometheus.url
    start = time.time()
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    body = {"prompt": "reverse a string", "language": "python", "max_tokens": 16}
    with httpx.Client(base_url=target.url, timeout=30) as client:

        def codegen_burst() -> None:
            for _ in range(3):
                client.post("/v1/agents/codegen", json=body, headers=target.auth)

        faults = client.post("/admin/faults", json={"error_rate": 1.0}, headers=admin)
        assert faults.status_code == 200, faults.text
        wait_for_alert(url, "AgentHighErrorRate", 20, codegen_burst)
        faults = client.post(
            "/admin/faults", json={"error_rate": 0.0, "engine_outage": True}, headers=admin
        )
        assert faults.status_code == 200, faults.text
        try:
            wait_for_alert(url, "EngineCircuitBreakerOpen", 20, codegen_burst)
        finally:
            client.post("/admin/faults", json={"engine_outage": False}, headers=admin)
    view = server_side(url, start, time.time())
    fired = {alert["alertname"] for alert in view["alerts_fired"]}
    assert {"AgentHighErrorRate", "EngineCircuitBreakerOpen"} <= fired
    assert view["routes"]["/v1/agents/codegen"]["errors_5xx"] > 0
