"""The report's sweep section: latency percentiles and goodput against the achieved rate (runs
not measured left out), and the runs as a table, the max rate under SLO marked."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from agentload.metrics.sweep import sweep_finding
from agentload.report.charts import Chart, render
from agentload.report.html import fmt_ms, fmt_num, fmt_pct, table


def runs(info: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The sweep's runs in rate order: synchronous, the rates, throughput."""
    rows = [info.get("synchronous"), *(info.get("rates") or []), info.get("throughput")]
    found = [r for r in rows if isinstance(r, Mapping) and r.get("achieved_rate") is not None]
    return sorted(found, key=lambda r: float(r["achieved_rate"]))


def sweep_chart(info: Mapping[str, Any]) -> Chart | None:
    """E2E (and TTFT) percentiles, and goodput, against the achieved rate (measured runs)."""
    rows = [r for r in runs(info) if not r.get("not_measured")]
    if not rows:
        return None
    rates = [float(r["achieved_rate"]) for r in rows]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Latency vs rate", "Goodput vs rate"))
    for kind, key in (("e2e_ms", "p50"), ("e2e_ms", "p95"), ("e2e_ms", "p99"), ("ttft_ms", "p95")):
        values = [(r.get(kind) or {}).get(key) for r in rows]
        if any(v is not None for v in values):
            name = f"{kind.removesuffix('_ms').upper()} {key.upper()}"
            fig.add_trace(go.Scatter(x=rates, y=values, name=name, mode="lines+markers"), 1, 1)
    goodput = [r.get("goodput") for r in rows]
    if any(g is not None for g in goodput):
        shares = [g * 100 if g is not None else None for g in goodput]
        fig.add_trace(go.Scatter(x=rates, y=shares, name="goodput %", mode="lines+markers"), 1, 2)
    target = info.get("goodput_target")
    if isinstance(target, int | float):
        fig.add_hline(y=target * 100, line_dash="dot", line_color="#8d99ae", row=1, col=2)
    found = info.get("max_rate_under_slo")
    if isinstance(found, Mapping) and found.get("rate") is not None:
        for col in (1, 2):
            fig.add_vline(x=found["rate"], line_dash="dot", line_color="#c1121f", row=1, col=col)
    fig.update_xaxes(title_text="achieved requests / s")
    fig.update_yaxes(title_text="ms", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="% of calls meeting the SLOs", range=[0, 105], row=1, col=2)
    return render(fig, "Sweep", height=380, show_title=False)


def sweep_table(info: Mapping[str, Any]) -> str:
    """The finding, then one row per run."""
    rows: Sequence[Mapping[str, Any]] = runs(info)
    body = [
        [
            escape(str(r.get("kind")) + (" (not measured)" if r.get("not_measured") else "")),
            fmt_num(r.get("target_rate")) if r.get("target_rate") is not None else "–",
            fmt_num(r.get("achieved_rate")),
            fmt_num(r.get("users")),
            fmt_pct(r.get("error_rate")),
            fmt_ms((r.get("ttft_ms") or {}).get("p95")),
            fmt_ms((r.get("itl_ms") or {}).get("p95")),
            fmt_ms((r.get("e2e_ms") or {}).get("p50")),
            fmt_ms((r.get("e2e_ms") or {}).get("p95")),
            fmt_pct(r.get("goodput")),
        ]
        for r in rows
    ]
    headers = ["run", "asked /s", "achieved /s", "users", "errors", "TTFT P95", "ITL P95"]
    headers += ["E2E P50", "E2E P95", "goodput"]
    slo = info.get("slo") or {}
    slos = ", ".join(f"{k} ≤ {fmt_ms(v)}" for k, v in slo.items()) or "none"
    return (
        f"<p><b>{escape(sweep_finding(info))}</b>.</p>"
        f"<p class=note>Scenario {escape(str(info.get('scenario')))}; SLOs: {escape(slos)}; "
        f"each run {fmt_num(info.get('step_duration_s'))} s.</p>" + table(headers, body)
    )
