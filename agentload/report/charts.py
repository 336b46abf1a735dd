"""Plotly charts of a run, each rendered as an HTML ``<div>`` without Plotly's JS.

The page embeds ``plotly.offline.get_plotlyjs()`` once (see ``build.py``); a chart is only made
when it has data, so every chart on the page has points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from agentload.report.series import Percentiles, Window

_CONFIG = {"displaylogo": False, "responsive": True}
_COLORS = {
    "p50": "#2a9d8f",
    "p95": "#e9c46a",
    "p99": "#e76f51",
    "rps": "#264653",
    "users": "#8d99ae",
}


@dataclass
class Chart:
    """A titled chart as an HTML fragment."""

    title: str
    html: str


def render(fig: go.Figure, title: str, height: int = 340, show_title: bool = True) -> Chart:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 30, "t": 40, "b": 45},
        legend={"orientation": "h", "y": -0.22},
        title={"text": title if show_title else "", "font": {"size": 15}},
    )
    html = fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG)
    return Chart(title, html)


def _clean(values: Sequence[float]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values]


def load_over_time(wins: Sequence[Window]) -> Chart | None:
    """Requests per second and users over time."""
    if not wins:
        return None
    t = [w.t for w in wins]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=t, y=[w.rps for w in wins], name="RPS", line_color=_COLORS["rps"]))
    fig.add_trace(
        go.Scatter(
            x=t,
            y=[w.users for w in wins],
            name="users",
            line={"color": _COLORS["users"], "shape": "hv"},
        ),
        secondary_y=True,
    )
    fig.update_xaxes(title_text="seconds since start")
    fig.update_yaxes(title_text="requests / s", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(
        title_text="users", rangemode="tozero", secondary_y=True, showgrid=False, tickmode="auto"
    )
    fig.update_layout(yaxis2={"tickformat": "d"})
    return render(fig, "Throughput and users")


def latency_over_time(pct: Percentiles) -> Chart | None:
    """P50/P95/P99 of one entry per window."""
    if all(math.isnan(v) for v in pct.p95_ms):
        return None
    fig = go.Figure()
    for key, label in (("p50", "P50"), ("p95", "P95"), ("p99", "P99")):
        values = _clean(getattr(pct, f"{key}_ms"))
        fig.add_trace(go.Scatter(x=pct.t, y=values, name=label, line_color=_COLORS[key]))
    fig.update_xaxes(title_text="seconds since start")
    fig.update_yaxes(title_text="ms", rangemode="tozero")
    window = f" ({pct.width} s windows)" if pct.width > 1 else ""
    return render(fig, f"Response time: {pct.entry}{window}", height=300)


def errors_over_time(wins: Sequence[Window]) -> Chart | None:
    """Failed HTTP requests per second."""
    if not wins:
        return None
    fig = go.Figure(
        go.Bar(x=[w.t for w in wins], y=[w.errors_per_s for w in wins], marker_color="#c1121f")
    )
    fig.update_xaxes(title_text="seconds since start")
    fig.update_yaxes(title_text="failures / s", rangemode="tozero")
    fig.update_layout(showlegend=False)
    return render(fig, "Errors", height=280)


def success_over_time(times: Sequence[float], rates: Sequence[Mapping[str, float]]) -> Chart | None:
    """Cumulative agent success rate per scenario."""
    scenarios = sorted({s for r in rates for s in r})
    if not scenarios:
        return None
    fig = go.Figure()
    for scenario in scenarios:
        y = [100 * r[scenario] if scenario in r else None for r in rates]
        fig.add_trace(go.Scatter(x=list(times), y=y, name=scenario))
    fig.update_xaxes(title_text="seconds since start")
    fig.update_yaxes(title_text="% success (cumulative)", range=[0, 101])
    return render(fig, "Agent success rate", height=280)


def stress_curves(
    steps: Sequence[Mapping[str, Any]],
    knee: Mapping[str, Any],
    title: str = "Stress steps",
    mark: str = "knee",
) -> Chart | None:
    """Throughput and P95 against users per step, ``knee`` marked (as ``mark``) on both."""
    steps = [s for s in steps if "users" in s]
    if not steps:
        return None
    users = [s["users"] for s in steps]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Throughput vs load", "P95 vs load"))
    fig.add_trace(
        go.Scatter(x=users, y=[s.get("rps") for s in steps], name="RPS", mode="lines+markers"),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=users, y=[s.get("p95_ms") for s in steps], name="P95 ms", mode="lines+markers"
        ),
        row=1,
        col=2,
    )
    if knee.get("users") is not None:
        for col, key in ((1, "rps"), (2, "p95_ms")):
            fig.add_trace(
                go.Scatter(
                    x=[knee["users"]],
                    y=[knee.get(key)],
                    name=mark,
                    mode="markers+text",
                    text=[mark],
                    textposition="top center",
                    marker={"size": 14, "symbol": "x", "color": "#c1121f"},
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
            fig.add_vline(x=knee["users"], line_dash="dot", line_color="#c1121f", row=1, col=col)
    fig.update_xaxes(title_text="users")
    fig.update_yaxes(title_text="requests / s", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="ms", rangemode="tozero", row=1, col=2)
    return render(fig, title, height=380, show_title=False)


def resource_chart(
    title: str, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], unit: str
) -> Chart | None:
    """Lines of (t, value) series sharing one unit, e.g. CPU % of the API and the engine."""
    series = {k: v for k, v in series.items() if v[0]}
    if not series:
        return None
    fig = go.Figure()
    for name, (t, y) in series.items():
        fig.add_trace(go.Scatter(x=list(t), y=list(y), name=name))
    fig.update_xaxes(title_text="seconds since start")
    fig.update_yaxes(title_text=unit, rangemode="tozero")
    return render(fig, title, height=280)
