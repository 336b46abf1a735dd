"""What the target's own metrics say: ``summary["server_side"]`` (the Prometheus view).

``routes[ROUTE]`` (``p50_ms``/``p95_ms``/``p99_ms``, with the bucket bounds ``p95_lo_ms``,
``p95_hi_ms``, ... when known; ``rps``, ``error_rate``, ``requests``, ``errors_5xx``), top-level
``rps``/``requests``/``agent_success_rate`` and ``agents[AGENT]["success_rate"]``;
``{"missing": reason}`` without Prometheus. Server latencies are ``histogram_quantile``
estimates inside a bucket, and the gate's reason says so (with the bucket when known).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentload.errors import ConfigError
from agentload.gates.client import Observed, key, number
from agentload.gates.grammar import LATENCY_METRICS, Gate, finite

#: Routes of the target's own plumbing, left out of server-side totals.
INTERNAL_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})


def observe_server(gate: Gate, summary: Mapping[str, Any]) -> Observed:
    """A ``server.`` gate's value; for a latency, the reason names it a bucket estimate."""
    server = summary.get("server_side") or {}
    routes = server.get("routes") or {}
    if not routes and not server.get("source"):
        reason = server.get("missing") or "no Prometheus data"
        return None, f"server-side view missing: {reason}"
    if gate.metric == "agent_success_rate":
        if gate.entry is None:
            return number(server.get("agent_success_rate"), "no agent outcomes on the server")
        agent = (server.get("agents") or {}).get(gate.entry) or {}
        return number(agent.get("success_rate"), f"no {gate.entry} outcomes on the server")
    if gate.entry is None:
        if gate.metric in ("error_rate", "failures"):
            v1 = [r for name, r in routes.items() if name not in INTERNAL_ROUTES]
            errors = sum(int(r.get("errors_5xx") or 0) for r in v1)
            requests = sum(int(r.get("requests") or 0) for r in v1)
            if gate.metric == "failures":
                return float(errors), ""
            return (errors / requests, "") if requests else (None, "no requests on the server")
        return number(server.get(gate.metric), f"no server-side {gate.metric}")
    route = routes.get(gate.entry)
    if route is None:
        client_names = {name.split(" ", 1)[-1] for name in summary.get("endpoints") or {}}
        if gate.entry in client_names:
            return None, f"route {gate.entry!r} missing from the server-side view"
        raise ConfigError(
            f"gate {gate.expr!r}: unknown route {gate.entry!r}, the server view has "
            f"{sorted(routes)}"
        )
    name = "errors_5xx" if gate.metric == "failures" else key(gate.metric)
    value, reason = number(route.get(name), f"no server-side {gate.metric} for {gate.entry!r}")
    if gate.metric in LATENCY_METRICS and value is not None:
        return value, _bucket_note(gate.metric, route)
    return value, reason


def _bucket_note(metric: str, route: Mapping[str, Any]) -> str:
    """``bucket estimate, true value in (lo, hi] ms`` (the bounds when the view has them)."""
    lo, hi = finite(route.get(f"{metric}_lo_ms")), finite(route.get(f"{metric}_hi_ms"))
    note = "histogram-bucket estimate"
    if lo is not None and hi is not None:
        return f"{note}, true value in ({lo:g}, {hi:g}] ms"
    return f"{note}, true value somewhere in its bucket"
