"""The server-side (Prometheus) view next to the client-side (Locust) figures."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from agentload.prometheus.compare import AGREES, ARTEFACT, CLIENT_BELOW, RANKS_APART
from agentload.report.html import fmt_any, fmt_ms, fmt_num, fmt_pct, section, table
from agentload.report.rundata import RunData


def server_side(run: RunData) -> str:
    """Server-side (Prometheus) figures next to the client-side ones, when present."""
    data = run.summary.get("server_side")
    if not isinstance(data, dict) or not data:
        return ""
    if data.get("missing"):
        body = f"<p>No server-side view for this run: {escape(str(data['missing']))}.</p>"
        return section("Server side vs client side", body, "server-side")
    totals: Mapping[str, Any] = run.summary.get("totals") or {}
    overview = [
        ["requests (/v1/*)", fmt_num(totals.get("requests")), fmt_num(data.get("requests"))],
        ["requests / s", fmt_num(totals.get("rps")), fmt_num(data.get("rps"))],
        [
            "agent success",
            fmt_pct(totals.get("agent_success_rate")),
            fmt_pct(data.get("agent_success_rate")),
        ],
    ]
    body = table(["figure", "client side (Locust)", "server side (Prometheus)"], overview)
    rows, classes = [], []
    for row in data.get("comparison") or []:
        rows.append(_latency_row(row))
        classes.append(_CLASSES.get(str(row.get("verdict")), ""))
    if rows:
        body += (
            "<h3>Latency per route</h3><p>The client's percentiles are exact; the server's are "
            "estimates interpolated inside one histogram bucket (lo, hi]. They agree when the "
            "client's value lies in that bucket, not below the server's estimate: a client "
            "request holds its server time plus the network.</p>"
        )
        headers = ["entry", "quantile", "client (exact)", "server (estimate)", "server bucket"]
        body += table([*headers, "verdict"], rows, row_classes=classes)
    procs: Mapping[str, Any] = data.get("processes") or {}
    if procs:
        body += "<h3>Target processes</h3>" + table(
            ["job", "CPU %", "max RSS", "last RSS"],
            [
                [
                    job,
                    fmt_num(p.get("cpu_pct")),
                    _mb(p.get("rss_bytes_max")),
                    _mb(p.get("rss_bytes_last")),
                ]
                for job, p in sorted(procs.items())
            ],
        )
    engine: Mapping[str, Any] = data.get("engine") or {}
    if engine:
        body += "<h3>Engine</h3>" + table(
            ["figure", "value"], [[k, fmt_any(v)] for k, v in engine.items()]
        )
    alerts = data.get("alerts_fired") or []
    if alerts:
        body += "<h3>Alerts fired</h3>" + table(
            ["alert", "details"],
            [
                [
                    a.get("alertname", "?"),
                    fmt_any({k: v for k, v in a.items() if k != "alertname"}),
                ]
                for a in alerts
                if isinstance(a, dict)
            ],
        )
    return section("Server side vs client side", body, "server-side")


_CLASSES = {AGREES: "ok", ARTEFACT: "warn", RANKS_APART: "warn", CLIENT_BELOW: "bad"}


def _latency_row(row: Mapping[str, Any]) -> list[str]:
    """entry, quantile, client, server, its bucket and the verdict's sentence of one row."""
    lo, hi = row.get("lo_ms"), row.get("hi_ms")
    if lo is None:  # summaries written before the bounds were kept
        lo, hi = (row.get("server_bucket_ms") or [None, None])[:2]
    upper = "+Inf" if hi is None else _bound(hi)
    return [
        row.get("entry", ""),
        row.get("quantile", ""),
        fmt_ms(row.get("client_ms")),
        fmt_ms(row.get("server_ms")),
        f"({_bound(lo)}, {upper}] ms",
        str(row.get("note") or "–"),
    ]


def _bound(value: Any) -> str:
    """A bucket bound in ms as the histogram has it (``3.31``, ``2,290``), not rounded."""
    return f"{value:,g}" if isinstance(value, int | float) else "–"


def _mb(value: Any) -> str:
    return f"{value / 1048576:,.0f} MB" if isinstance(value, int | float) and value else "–"
