"""Client-side Prometheus metrics of the Locust process, off unless ``--client-metrics-port``.

Served on ``127.0.0.1:PORT`` by the master (or the local runner); workers serve nothing. Request
events only fire on workers, so the figures are not counted from events: a custom collector
reads, at scrape time, the runner's statistics (on a master: the workers' reports merged by
Locust) and the outcome totals (summed over workers by :mod:`agentload.locust.outcomes`).

- ``loadtest_request_duration_seconds{request_type,name}`` histogram (from Locust's rounded
  response times, so bucket bounds are exact to Locust's rounding: 1 ms < 100 ms, 10 ms < 1 s)
- ``loadtest_requests_total{request_type,name,result="success|failure"}``
- ``loadtest_agent_outcomes_total{scenario,outcome}``
- ``loadtest_users`` (users running now)
- ``loadtest_ttft_seconds{scenario}`` and ``loadtest_ttc_seconds{scenario}`` histograms (the
  ``TTFT <scenario>`` and ``TTC <scenario>`` entries)

Like Locust's statistics, the counters restart from zero when a new test starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from agentload.locust import outcomes

BUCKETS_S = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75,
    1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 30.0, 60.0, 120.0,
)  # fmt: skip


def histogram_buckets(response_times: dict[int, int]) -> list[tuple[str, float]]:
    """Cumulative ``(le, count)`` pairs, in seconds, from a ms -> count histogram."""
    ordered = sorted(response_times.items())
    buckets: list[tuple[str, float]] = []
    running, i = 0, 0
    for bound in BUCKETS_S:
        limit_ms = bound * 1000
        while i < len(ordered) and ordered[i][0] <= limit_ms:
            running += ordered[i][1]
            i += 1
        buckets.append((repr(bound), float(running)))
    buckets.append(("+Inf", float(sum(response_times.values()))))
    return buckets


class LocustCollector(Collector):
    """Builds the loadtest_* metrics from the runner's stats at each scrape."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment

    def collect(self) -> Iterator[Metric]:
        runner = self.environment.runner
        durations = HistogramMetricFamily(
            "loadtest_request_duration_seconds",
            "Response time of Locust requests (custom TTFT/TPOT/TTC entries included)",
            labels=["request_type", "name"],
        )
        requests = CounterMetricFamily(
            "loadtest_requests",
            "Locust requests by result",
            labels=["request_type", "name", "result"],
        )
        ttft = _per_scenario("loadtest_ttft_seconds", "Time to first token of streamed calls")
        ttc = _per_scenario("loadtest_ttc_seconds", "Time to completion of jobs")
        for entry in list(runner.stats.entries.values()) if runner is not None else []:
            labels = [entry.method, entry.name]
            buckets = histogram_buckets(dict(entry.response_times))
            total_s = entry.total_response_time / 1000.0
            durations.add_metric(labels, buckets, total_s)
            ok = entry.num_requests - entry.num_failures
            requests.add_metric([*labels, "success"], max(ok, 0))
            requests.add_metric([*labels, "failure"], entry.num_failures)
            if entry.method == "TTFT":
                ttft.add_metric([entry.name], buckets, total_s)
            if entry.method == "TTC":
                ttc.add_metric([entry.name], buckets, total_s)
        agent = CounterMetricFamily(
            "loadtest_agent_outcomes",
            "Agent task outcomes judged on content",
            labels=["scenario", "outcome"],
        )
        for scenario, counts in outcomes.totals(self.environment).items():
            for outcome, n in counts.items():
                agent.add_metric([scenario, outcome], n)
        users = GaugeMetricFamily("loadtest_users", "Locust users running")
        users.add_metric([], runner.user_count if runner is not None else 0)
        yield from (durations, requests, agent, users, ttft, ttc)


def _per_scenario(name: str, documentation: str) -> HistogramMetricFamily:
    return HistogramMetricFamily(name, documentation, labels=["scenario"])


_server: Any = None


def serve(environment: Any, port: int, host: str = "127.0.0.1") -> CollectorRegistry:
    """Start the exporter on ``host``:``port`` with a registry of its own."""
    global _server
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LocustCollector(environment))
    _server = start_http_server(port, addr=host, registry=registry)
    return registry
