"""The server-side (Prometheus) view next to the client-side (Locust) figures."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

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
        bucket = row.get("server_bucket_ms") or [None, None]
        upper = "+Inf" if bucket[1] is None else fmt_num(bucket[1], 0)
        rows.append(
            [
                row.get("entry", ""),
                row.get("quantile", ""),
                fmt_ms(row.get("client_ms")),
                fmt_ms(row.get("server_ms")),
                f"({fmt_num(bucket[0], 0)}, {upper}] ms",
                "yes" if row.get("within_one_bucket") else "no",
            ]
        )
        classes.append("" if row.get("within_one_bucket") else "bad")
    if rows:
        body += "<h3>Latency per route</h3>" + table(
            ["entry", "quantile", "client", "server", "server bucket", "within one bucket"],
            rows,
            row_classes=classes,
        )
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


def _mb(value: Any) -> str:
    return f"{value / 1048576:,.0f} MB" if isinstance(value, int | float) and value else "–"
