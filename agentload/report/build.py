"""``build_report(run_dir) -> Path``: write ``run_dir/report.html``, one self-contained page.

Everything is inline (Plotly's JS once, the styles, the flame graph SVG as a data: URL), so
the page works offline and can be attached to a CI job as a single file.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from plotly.offline import get_plotlyjs

from agentload.report import charts, llm_section, phase_sections, sections, server_side
from agentload.report.compare import Comparison
from agentload.report.compare_render import to_html as comparison_html
from agentload.report.html import section
from agentload.report.requests_chart import requests_scatter
from agentload.report.resources import resource_series
from agentload.report.rundata import RunData, load_run
from agentload.report.series import (
    agent_success,
    default_width,
    entry_names,
    entry_percentiles,
    windows,
)
from agentload.report.style import CSS
from agentload.report.sweep_section import sweep_chart, sweep_table

REPORT_NAME = "report.html"


def _charts_html(items: list[charts.Chart | None], wide: bool = False) -> str:
    inner = "".join(f'<div class="chart">{c.html}</div>' for c in items if c is not None)
    return f'<div class="charts{" wide" if wide else ""}">{inner}</div>'


def _over_time(run: RunData) -> str:
    if not run.timeline:
        return section("Over time", "<p>No timeline.jsonl in this run folder.</p>", "over-time")
    wins = windows(run.timeline)
    step = default_width(run.timeline)
    lines = run.timeline[step - 1 :: step]
    latency = [
        charts.latency_over_time(entry_percentiles(run.timeline, name))
        for name in entry_names(run.timeline)
    ]
    success = charts.success_over_time(
        [float(x.get("t", 0.0)) for x in lines], [agent_success(x) for x in lines]
    )
    body = _charts_html(
        [charts.load_over_time(wins), charts.errors_over_time(wins), *latency, success]
    )
    note = (
        f"<p class=note>Windows of {step} s (one timeline line a second).</p>" if step > 1 else ""
    )
    return section("Over time", note + body, "over-time")


def _requests(run: RunData) -> str:
    found = requests_scatter(run.run_dir)
    if found is None:
        return ""
    chart, drawn, lines = found
    info = run.summary.get("requests_file") or {}
    sample = (
        f" The file itself is a sample of {lines:,} of the run's {info['requests']:,} requests."
        if info.get("sampled") and info.get("requests")
        else ""
    )
    shown = f"{drawn:,} of its {lines:,} lines, a uniform sample" if drawn < lines else "all"
    note = f"<p class=note>From requests.jsonl.gz: {shown}.{sample}</p>"
    return section("Every request", note + _charts_html([chart], wide=True), "requests")


def _stress(run: RunData) -> str:
    info = run.summary.get("stress") or {}
    if not run.stress_steps and not info:
        return ""
    chart = charts.stress_curves(run.stress_steps, info.get("knee") or {})
    return section(
        "Stress: throughput and latency against load",
        _charts_html([chart], wide=True) + phase_sections.stress(run),
        "stress",
    )


def _sweep(run: RunData) -> str:
    info = run.summary.get("sweep")
    if not isinstance(info, dict):
        return ""
    chart = sweep_chart(info)
    return section(
        "Sweep: latency and goodput against the request rate",
        _charts_html([chart], wide=True) + sweep_table(info),
        "sweep",
    )


def _load(run: RunData) -> str:
    info = run.summary.get("load")
    if not isinstance(info, dict) or not info.get("steps"):
        return ""
    point = info.get("degradation") or {}
    title = f"Load steps ({info.get('entry', '')})"
    # One plateau is a point, not a curve: the table says it all.
    chart = (
        charts.stress_curves(info["steps"], point, title=title, mark="degrades")
        if len(info["steps"]) > 1
        else None
    )
    return section(
        "Load: where P95 starts to degrade",
        _charts_html([chart], wide=True) + phase_sections.load(run),
        "load",
    )


def _resources(run: RunData) -> str:
    res = resource_series(run.prometheus, run.resources)
    if res.empty():
        return ""
    body = f"<p class=note>Source: {escape(res.source)}.</p>" + _charts_html(
        [
            charts.resource_chart("Target CPU", res.cpu, "% of one core"),
            charts.resource_chart("Target memory (RSS)", res.memory_mb, "MB"),
            charts.resource_chart("Engine queue and slots", res.engine, "count"),
        ]
    )
    return section("Resources", body, "resources")


def _profile(run: RunData) -> str:
    body = phase_sections.profile(run)
    return section("Profile: where the time goes", body, "profile") if body else ""


def _comparison(run: RunData) -> str:
    if not run.comparison:
        return ""
    try:
        comparison = Comparison.from_json(run.comparison)
    except (KeyError, TypeError, ValueError) as err:
        note = f"<p>comparison.json is not a comparison this version can read ({err!r}).</p>"
        return section("Comparison with the baseline", note, "comparison")
    return comparison_html(comparison)


def render(run: RunData) -> str:
    """The report page of a loaded run."""
    parts = [
        sections.gates(run),
        sections.kpis(run),
        llm_section.llm(run),
        _comparison(run),
        _over_time(run),
        _requests(run),
        _stress(run),
        _sweep(run),
        _load(run),
        _resources(run),
        _profile(run),
        server_side.server_side(run),
        sections.metadata(run),
    ]
    body = "".join(p for p in parts if p)
    toc = "".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("gates", "Gates"),
            ("kpis", "Key figures"),
            ("comparison", "Comparison"),
            ("over-time", "Over time"),
            ("requests", "Requests"),
            ("stress", "Stress"),
            ("load", "Load"),
            ("resources", "Resources"),
            ("profile", "Profile"),
            ("server-side", "Server side"),
            ("meta", "Metadata"),
        )
        if f'id="{anchor}"' in body
    )
    title = f"agentload {run.phase} — {run.summary.get('verdict', '?')}"
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
        f"{sections.banner(run)}<nav>{toc}</nav><main>{body}</main></body></html>"
    )


def build_report(run_dir: Path) -> Path:
    """Write ``run_dir/report.html`` from the run folder's files; return its path."""
    run = load_run(run_dir)
    path = run_dir / REPORT_NAME
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render(run), encoding="utf-8")
    os.replace(tmp, path)
    return path
