"""Prometheus during runs: a server per run, the server-side view, exported time series.

How the orchestrator uses it:

    session = start_prometheus(run_dir, ScrapeTargets(api_url, engine_url, locust_metrics_url))
    try:
        ...  # run Locust
        summary["server_side"] = server_side(session.url, start, end, final["entries"])
        export_series(session.url, start, end, run_dir)
    finally:
        session.stop()

May import: ``agentload.processes`` (the Prometheus process is ended by PID), httpx. Never
the runner or the CLI (the runner uses this package);
``agentload.report`` reads ``compare``'s verdicts.
"""

from agentload.prometheus.errors import PrometheusError, PrometheusUnavailable
from agentload.prometheus.query import missing_server_side, server_side
from agentload.prometheus.rules import copy_rules, default_rules_dir
from agentload.prometheus.series import export_series
from agentload.prometheus.server import (
    PrometheusSession,
    ScrapeTargets,
    find_prometheus,
    start_prometheus,
)

__all__ = [
    "PrometheusError",
    "PrometheusSession",
    "PrometheusUnavailable",
    "ScrapeTargets",
    "copy_rules",
    "default_rules_dir",
    "export_series",
    "find_prometheus",
    "missing_server_side",
    "server_side",
    "start_prometheus",
]
