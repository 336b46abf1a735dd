"""The phase-specific parts of the report: stress steps and knee, load degradation, profile."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from html import escape
from typing import Any

from agentload.metrics.knee import no_knee_finding
from agentload.report.html import fmt_ms, fmt_num, fmt_pct, short_path, table
from agentload.report.rundata import RunData


def stress(run: RunData) -> str:
    """The stress steps table with the knee, stop reason and what saturated first."""
    info: Mapping[str, Any] = run.summary.get("stress") or {}
    knee: Mapping[str, Any] = info.get("knee") or {}
    lines = []
    if knee:
        lines.append(
            f"<p><b>Knee</b>: {fmt_num(knee.get('users'))} users, "
            f"{fmt_num(knee.get('rps'))} requests/s, P95 {fmt_ms(knee.get('p95_ms'))}.</p>"
        )
    elif no_knee := no_knee_finding(info, str(run.summary.get("phase") or "stress")):
        lines.append(f"<p><b>No knee</b>: {escape(no_knee)}.</p>")
    for key, label in (("stop_reason", "Stopped because"), ("saturated", "Saturated first")):
        if info.get(key):
            lines.append(f"<p><b>{label}</b>: {escape(str(info[key]))}</p>")
    rows = [
        [
            fmt_num(s.get("users")),
            fmt_num(s.get("rps")),
            fmt_ms(s.get("p95_ms")),
            fmt_pct(s.get("error_rate")),
        ]
        for s in run.stress_steps
    ]
    if rows:
        lines.append(table(["users", "RPS", "P95", "error rate"], rows))
    return "".join(lines)


def load(run: RunData) -> str:
    """The load phase's steps and the point where P95 starts to degrade."""
    info: Mapping[str, Any] = run.summary.get("load") or {}
    point: Mapping[str, Any] = info.get("degradation") or {}
    text = (
        f"<p><b>P95 starts to degrade</b> at {fmt_num(point.get('users'))} users, "
        f"{fmt_num(point.get('rps'))} requests/s (P95 {fmt_ms(point.get('p95_ms'))}).</p>"
        if point
        else "<p>P95 did not degrade within the load applied.</p>"
    )
    rows = [
        [
            fmt_num(s.get("users")),
            fmt_num(s.get("rps")),
            fmt_ms(s.get("p95_ms")),
            fmt_pct(s.get("error_rate")),
        ]
        for s in info.get("steps") or []
        if isinstance(s, dict)
    ]
    return text + (table(["users", "RPS", "P95", "error rate"], rows) if rows else "")


_HELD = {
    "knee": "the knee the stress steps found",
    "not_saturated": "the largest stress step: the search found no knee",
    "largest_step": "the largest stress step: the search found no knee",
    "given": "as given (--users or knee_users)",
}


def profile(run: RunData) -> str:
    """The flame graph inline and the top-5 functions."""
    info: Mapping[str, Any] = run.summary.get("profile") or {}
    parts = []
    held = _HELD.get(str(info.get("users_from")))
    if held and info.get("users") is not None:
        parts.append(f"<p><b>Held</b>: {fmt_num(info.get('users'))} users, {held}.</p>")
    top = [f for f in info.get("top_functions") or [] if isinstance(f, dict)][:5]
    if top:
        rows = [
            [
                f.get("function", ""),
                f"{short_path(str(f.get('file', '')))}:{f.get('line', '')}",
                f"{fmt_num(f.get('self_pct'))} %",
                f"{fmt_num(f.get('total_pct'))} %",
            ]
            for f in top
        ]
        parts.append("<h3>Top functions</h3>" + table(["function", "where", "self", "total"], rows))
    if run.flamegraph_svg:
        parts.append("<h3>Flame graph</h3>" + _flame(run.flamegraph_svg))
    if info.get("speedscope"):
        parts.append(
            f"<p>Open <code>{escape(str(info['speedscope']))}</code> in "
            "https://www.speedscope.app for an interactive view.</p>"
        )
    return "".join(parts)


def _flame(svg: str) -> str:
    """The flame graph as its own document in an iframe (a data: URL), so its script (zoom,
    search) and its fixed layout work as when the file is opened alone."""
    if "<svg" not in svg:
        return ""
    found = re.search(r'<svg[^>]*?\sheight="(\d+)', svg)
    height = int(found.group(1)) + 6 if found else 800
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<iframe class=flame title="flame graph" style="height:{height}px" '
        f'src="data:image/svg+xml;base64,{data}"></iframe>'
    )
