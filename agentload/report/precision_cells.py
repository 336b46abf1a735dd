"""The report's figures with their 95 % intervals: table cells and the thin figures' table.

A cell shows the figure, its interval beneath in small type (``[298–330]``, ``?`` for a bound
the samples cannot give) and, for a thin figure (wider than ±10 %), how many samples would make
it ±5 %. :func:`thin_table` lists the summary's ``precision.thin`` figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from agentload.metrics.precision import Figure
from agentload.metrics.precision_text import number
from agentload.report.html import Raw, fmt_ms, fmt_num, fmt_pct, table

MAX_THIN_ROWS = 25


def with_ci(
    shown: str, unit: str, ci: Sequence[float | None] | None, figure: Figure | None = None
) -> Raw:
    """``shown`` with its interval beneath (in ``unit``: ms, % or /s) and a thin mark."""
    html = escape(shown)
    if isinstance(ci, Sequence) and len(ci) == 2 and shown not in ("–", "n/a"):
        html += f"<br><span class=ci>[{number(unit, ci[0])}–{number(unit, ci[1])}]</span>"
    if figure is not None and figure.value is not None and figure.thin:
        needed = figure.samples_for_5pct
        mark = f"thin, ±5 %: ~{needed:,}" if needed else "thin"
        html += f"<br><span class=thin>{escape(mark)}</span>"
    return Raw(html)


def ms_cell(stats: Mapping[str, Any], metric: str, figure: Figure | None) -> Raw:
    """A latency cell: ``p95_ms`` with ``p95_ci_ms``."""
    return with_ci(fmt_ms(stats.get(f"{metric}_ms")), "ms", stats.get(f"{metric}_ci_ms"), figure)


def pct_cell(value: Any, ci: Any, figure: Figure | None = None) -> Raw:
    """A share cell: ``1.20 %`` with its interval in %."""
    return with_ci(fmt_pct(value), "%", ci, figure)


def rate_cell(value: Any, ci: Any, figure: Figure | None = None) -> Raw:
    """A rate cell: requests per second with its interval."""
    return with_ci(fmt_num(value), "/s", ci, figure)


def thin_table(summary: Mapping[str, Any]) -> str:
    """The thin figures (``precision.thin``) as a table, with what the intervals are."""
    section = summary.get("precision") or {}
    thin = [row for row in section.get("thin") or [] if isinstance(row, Mapping)]
    if not section.get("figures"):
        return ""
    note = (
        "<p class=note>Brackets are 95 % intervals: percentiles from order statistics over the "
        "exact histogram, rates from Poisson, shares from Wilson (docs: uncertainty). "
    )
    if not thin:
        return note + f"All {section['figures']} figures are within ±10 %.</p>"
    note += (
        f"{len(thin)} of {section['figures']} figures are <em>thin</em>: their interval is "
        "wider than ±10 % (a bound marked ? is not known from so few samples).</p>"
    )
    rows = [
        [
            str(row.get("figure")),
            _value(row),
            "[" + "–".join(_value(row, bound) for bound in (0, 1)) + "]",
            fmt_num(row.get("samples")),
            fmt_num(row.get("samples_for_5pct")),
        ]
        for row in thin[:MAX_THIN_ROWS]
    ]
    more = len(thin) - MAX_THIN_ROWS
    tail = f"<p class=note>... and {more} more in summary.json.</p>" if more > 0 else ""
    headers = ["thin figure", "value", "95 % interval", "samples", "samples for ±5 %"]
    return note + table(headers, rows) + tail


def _value(row: Mapping[str, Any], bound: int | None = None) -> str:
    name = str(row.get("figure") or "")
    ci = row.get("ci") or [None, None]
    value = row.get("value") if bound is None else ci[bound]
    if value is None:
        return "?"
    metric = name.split("(", 1)[0].removeprefix("server.")
    if metric.startswith("p"):
        return number("ms", value) + " ms"
    if metric == "rps":
        return number("/s", value) + "/s"
    return number("%", value) + " %"
