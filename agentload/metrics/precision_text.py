"""Figures with their 95 % interval in words, for the console and the report (pure).

``with_ci("ms", 312.4, [298.0, 330.1])`` is ``312 ms [298–330]``; a bound not known is ``?``
(``480 ms [455–?]``); ``thin_mark(figure)`` is `` thin: ±5 % needs ~2,300 calls`` for a figure
wider than ±10 %. :func:`entry_lines` gives one console line per HTTP entry (P50, P95, P99,
rps and error rate with their intervals), :func:`totals_text` the run's rps, error rate and
agent success, :func:`precision_line` how many figures are thin.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from agentload.metrics.precision import Figure, summary_figures
from agentload.metrics.stats import is_http

MAX_ENTRIES = 12  # the console lists this many entries, then says how many more
_LATENCIES = ("p50", "p95", "p99")


def number(unit: str, value: float | None) -> str:
    """A value in the unit's digits: ms as the histogram resolves them, % of a share, /s."""
    if value is None:
        return "?"
    if unit == "%":
        pct = 100 * value
        return f"{pct:.2f}" if pct < 10 else f"{pct:.1f}"
    if unit == "ms":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def with_ci(unit: str, value: float | None, ci: Sequence[float | None] | None) -> str:
    """``312 ms [298–330]``, ``0.00 % [0.00–0.92]``, ``13.7/s [12.4–15.1]``; no brackets
    without an interval, ``n/a`` without a value."""
    if value is None:
        return "n/a"
    suffix = {"ms": " ms", "%": " %", "/s": "/s", "rps": " rps"}.get(unit, "")
    text = f"{number(unit, value)}{suffix}"
    if ci is None or len(ci) != 2:
        return text
    return f"{text} [{number(unit, ci[0])}–{number(unit, ci[1])}]"


def thin_mark(figure: Figure | None, calls: str = "calls") -> str:
    """`` thin: ±5 % needs ~2,300 calls`` when the figure is thin, else empty."""
    if figure is None or figure.value is None or not figure.thin:
        return ""
    needed = figure.samples_for_5pct
    return f" thin: ±5 % needs ~{needed:,} {calls}" if needed else " thin"


def by_name(summary: Mapping[str, Any]) -> dict[str, Figure]:
    """The summary's figures with an interval, by their gate names."""
    return {f.name: f for f in summary_figures(summary)}


def totals_text(summary: Mapping[str, Any]) -> str:
    """``13.7 rps [12.4–15.1], error rate 0.00 % [0.00–0.92], agent success 100.0 % [...]``."""
    totals = summary.get("totals") or {}
    figures = by_name(summary)
    parts = [
        with_ci("rps", totals.get("rps") or 0.0, totals.get("rps_ci")),
        f"error rate {with_ci('%', totals.get('error_rate'), totals.get('error_rate_ci'))}"
        + thin_mark(figures.get("error_rate")),
        "agent success "
        + with_ci("%", totals.get("agent_success_rate"), totals.get("agent_success_rate_ci"))
        + thin_mark(figures.get("agent_success_rate"), "tasks"),
    ]
    return ", ".join(parts)


def entry_lines(summary: Mapping[str, Any]) -> list[str]:
    """One line per HTTP entry: ``GET /x: 412 calls, p50 120 ms [118–124], p95 ..., 13.7/s
    [12.4–15.1], errors 0.00 % [0.00–0.92]``, a thin figure marked with the samples it needs."""
    endpoints = summary.get("endpoints") or {}
    figures = by_name(summary)
    names = [name for name in endpoints if is_http(name)]
    lines = []
    for name in names[:MAX_ENTRIES]:
        stats = endpoints[name] or {}
        if "p95_ci_ms" not in stats:
            continue  # a summary written before the intervals
        parts = [f"{stats.get('requests') or 0:,} calls"]
        for metric in _LATENCIES:
            value = stats.get(f"{metric}_ms")
            if value is not None:
                shown = with_ci("ms", value, stats.get(f"{metric}_ci_ms"))
                parts.append(f"{metric} {shown}{thin_mark(figures.get(f'{metric}({name})'))}")
        parts.append(with_ci("/s", stats.get("rps"), stats.get("rps_ci")))
        errors = with_ci("%", stats.get("error_rate"), stats.get("error_rate_ci"))
        parts.append(f"errors {errors}{thin_mark(figures.get(f'error_rate({name})'))}")
        lines.append(f"{name}: {', '.join(parts)}")
    if len(names) > MAX_ENTRIES:
        lines.append(f"... and {len(names) - MAX_ENTRIES} more entries (summary.json)")
    return lines


def precision_line(summary: Mapping[str, Any]) -> str | None:
    """``4 of 40 figures are thin (95 % interval wider than ±10 %): p99(GET /x), ...``."""
    section = summary.get("precision") or {}
    thin = [row.get("figure") for row in section.get("thin") or [] if isinstance(row, Mapping)]
    if not section.get("figures"):
        return None
    if not thin:
        return f"all {section['figures']} figures are within ±10 % (95 % intervals)"
    shown = ", ".join(str(name) for name in thin[:6]) + (", ..." if len(thin) > 6 else "")
    return (
        f"{len(thin)} of {section['figures']} figures are thin (95 % interval wider than "
        f"±10 %; summary.json's precision lists them): {shown}"
    )
