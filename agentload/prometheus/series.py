"""Time series of a run exported from Prometheus to JSON, for the HTML report.

`prometheus_series.json`:

    {"source": URL, "start": unix_s, "end": unix_s, "step_s": 1.0, "rate_window_s": 5.0,
     "series": {NAME: {"expr": PROMQL, "unit": "ms|rps|ratio|pct|bytes|count",
                       "series": [{"labels": {...}, "points": [[t, value], ...]}]}}}

`t` is seconds since `start` (as `t` in timeline.jsonl); NaN points are left out.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from agentload.prometheus.client import PromClient
from agentload.prometheus.query import HTTP_HISTOGRAM, INTERNAL_ROUTES
from agentload.prometheus.server import JOB_AGENT_API, JOB_ENGINE

INTERNAL = "|".join(sorted(INTERNAL_ROUTES))

MAX_POINTS = 10_000  # Prometheus refuses range queries of more than 11,000 points per series


def series_queries(
    rate_window: str, jobs: str = f"{JOB_AGENT_API}|{JOB_ENGINE}"
) -> dict[str, tuple[str, str]]:
    """Name → (PromQL, unit) of every exported series."""
    r = rate_window
    by_route = f'sum by (le, route) (rate({HTTP_HISTOGRAM}_bucket{{route!~"{INTERNAL}"}}[{r}]))'
    client = "sum by (le, request_type, name) (rate(loadtest_request_duration_seconds_bucket[{r}]))"
    return {
        "server_p95_ms": (f"histogram_quantile(0.95, {by_route}) * 1000", "ms"),
        "server_p99_ms": (f"histogram_quantile(0.99, {by_route}) * 1000", "ms"),
        "server_rps": (
            f'sum by (route) (rate({HTTP_HISTOGRAM}_count{{route!~"{INTERNAL}"}}[{r}]))',
            "rps",
        ),
        "server_errors_rps": (  # zero-filled: a route without 5xx shows 0, not nothing
            f"sum by (route) (rate({HTTP_HISTOGRAM}_count"
            f'{{route!~"{INTERNAL}", status=~"5.."}}[{r}]))'
            f' or sum by (route) (rate({HTTP_HISTOGRAM}_count{{route!~"{INTERNAL}"}}[{r}])) * 0',
            "rps",
        ),
        "agent_success_ratio": (
            f'sum by (agent) (rate(agent_task_outcomes_total{{outcome="success"}}[{r}]))'
            f" / sum by (agent) (rate(agent_task_outcomes_total[{r}]))",
            "ratio",
        ),
        "client_p95_ms": (f"histogram_quantile(0.95, {client.format(r=r)}) * 1000", "ms"),
        "users": ("sum(loadtest_users)", "count"),
        "engine_queue_depth": ("sum(engine_queue_depth)", "count"),
        "engine_slots_busy": ("sum(engine_slots_busy)", "count"),
        "cpu_pct": (
            f'sum by (job) (rate(process_cpu_seconds_total{{job=~"{jobs}"}}[{r}])) * 100',
            "pct",
        ),
        "rss_bytes": (f'sum by (job) (process_resident_memory_bytes{{job=~"{jobs}"}})', "bytes"),
    }


def _points(values: list[list[Any]], start: float) -> list[list[float]]:
    points = []
    for t, v in values:
        value = float(v)
        if math.isfinite(value):
            points.append([round(float(t) - start, 3), round(value, 6)])
    return points


def fetch_series(
    url: str, start: float, end: float, step_s: float = 1.0, rate_window_s: float = 5.0
) -> dict[str, Any]:
    """Range-query every series of `series_queries` between `start` and `end`."""
    step = max(step_s, (end - start) / MAX_POINTS)
    client = PromClient(url)
    try:
        out: dict[str, Any] = {}
        for name, (expr, unit) in series_queries(f"{max(int(rate_window_s * 1000), 1)}ms").items():
            result = client.range(expr, start, end, step)
            out[name] = {
                "expr": expr,
                "unit": unit,
                "series": [
                    {"labels": item["metric"], "points": _points(item["values"], start)}
                    for item in result
                ],
            }
        return {
            "source": client.url,
            "start": start,
            "end": end,
            "step_s": step,
            "rate_window_s": rate_window_s,
            "series": out,
        }
    finally:
        client.close()


def export_series(
    url: str,
    start: float,
    end: float,
    run_dir: Path,
    step_s: float = 1.0,
    rate_window_s: float = 5.0,
) -> Path:
    """Write `run_dir/prometheus_series.json` (see the module docstring); its path."""
    path = run_dir / "prometheus_series.json"
    path.write_text(json.dumps(fetch_series(url, start, end, step_s, rate_window_s), indent=1))
    return path
