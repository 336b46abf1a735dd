"""The report's per-request view from ``requests.jsonl.gz``; the comparison's histograms from it.

``requests_scatter(run_dir)``: every request's E2E against the time it started, one colour per
outcome, as a Plotly chart; at most ``MAX_POINTS`` points (a seeded uniform sample of the lines
when the file has more, so the page stays small). ``histograms_from_lines(path)``: per entry the
exact histogram of the E2E of the requests Locust counted successful (``failed`` false), for
``agentload compare`` (:mod:`agentload.report.latency_compare`).
"""

from __future__ import annotations

import random
from pathlib import Path

import plotly.graph_objects as go

from agentload.metrics import latency
from agentload.report.charts import Chart, render
from agentload.results.requests_file import FILE_NAME, read_lines

MAX_POINTS = 4000
_OUTCOME_COLORS = {
    "success": "#2a9d8f", "invalid": "#e9c46a", "error": "#e76f51", "timeout": "#9b2226",
    "rejected": "#8d99ae", "dropped": "#6d597a", "none": "#adb5bd",
}  # fmt: skip


def requests_scatter(run_dir: Path) -> tuple[Chart, int, int] | None:
    """The chart, the points drawn and the file's lines; None without the file or a line."""
    path = run_dir / FILE_NAME
    if not path.is_file():
        return None
    points: list[tuple[float, float, str, str]] = []
    rng, seen = random.Random(0), 0
    for line in read_lines(path):
        start = line.get("start") if line.get("start") is not None else line.get("intended_start")
        e2e = line.get("e2e_ms")
        if not isinstance(start, int | float) or not isinstance(e2e, int | float):
            continue
        seen += 1
        point = (float(start), float(e2e), str(line.get("outcome") or "none"),
                 str(line.get("entry") or ""))  # fmt: skip
        if len(points) < MAX_POINTS:  # reservoir sampling: a uniform sample of the lines
            points.append(point)
        elif (slot := rng.randrange(seen)) < MAX_POINTS:
            points[slot] = point
    if not points:
        return None
    origin = min(p[0] for p in points)
    fig = go.Figure()
    for outcome in sorted({p[2] for p in points}):
        chosen = [p for p in points if p[2] == outcome]
        fig.add_trace(
            go.Scattergl(
                x=[round(p[0] - origin, 3) for p in chosen],
                y=[round(p[1], 1) for p in chosen],
                mode="markers",
                name=outcome,
                text=[p[3] for p in chosen],
                hovertemplate="%{text}<br>%{x:.2f} s: %{y:.0f} ms<extra></extra>",
                marker={
                    "size": 4,
                    "opacity": 0.6,
                    "color": _OUTCOME_COLORS.get(outcome, "#264653"),
                },  # fmt: skip
            )
        )
    fig.update_xaxes(title_text="request start (s from the first)")
    fig.update_yaxes(title_text="E2E (ms)", type="log")
    return render(fig, "Every request: E2E over time, by outcome"), len(points), seen


def histograms_from_lines(path: Path) -> dict[str, latency.Histogram | None]:
    """``{entry: histogram of its successful requests' E2E}`` from a requests file."""
    out: dict[str, latency.Histogram | None] = {}
    for line in read_lines(path):
        entry, e2e = line.get("entry"), line.get("e2e_ms")
        if not isinstance(entry, str):
            continue
        hist = out.get(entry)
        if line.get("failed") or not isinstance(e2e, int | float):
            out.setdefault(entry, None)
            continue
        if hist is None:
            hist = out[entry] = latency.new()
        latency.record(hist, float(e2e))
    return out
