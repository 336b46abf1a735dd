"""Render a ``Comparison``: a rich console table, Markdown (for a PR comment), an HTML section."""

from __future__ import annotations

from html import escape

from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.table import Table

from agentload.report.compare import INCONCLUSIVE, REGRESSION, Comparison, Delta
from agentload.report.html import fmt_ms, fmt_num, fmt_pct, section, table

_STYLES = {REGRESSION: "bold red", INCONCLUSIVE: "yellow", "better": "green"}
_HEADERS = [
    "entry",
    "metric",
    "base",
    "new",
    "delta",
    "noise ±",
    "test",
    "effect",
    "tolerance",
    "status",
]


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "ms":
        return fmt_ms(value)
    if unit == "fraction":
        return fmt_pct(value)
    return fmt_num(value)


def _change(d: Delta) -> str:
    change = d.change
    if change is None:
        return "–"
    if d.unit == "fraction":
        return f"{100 * change:+.2f} pts"
    pct = d.change_pct
    text = f"{change:+,.1f}{' ms' if d.unit == 'ms' else ''}"
    return f"{text} ({pct:+.1f} %)" if pct is not None else text


def _noise(d: Delta) -> str:
    if d.noise is None:
        return "?"
    if d.unit == "fraction":
        return f"{100 * d.noise:.2f} pts"
    return f"{fmt_num(d.noise)} ms" if d.unit == "ms" else fmt_num(d.noise)


def _status(d: Delta, short: bool = False) -> str:
    if d.status == REGRESSION:
        return "REGRESSION"
    if d.status == INCONCLUSIVE:
        if d.needed_n is None:
            return "inconclusive"
        if short:
            return f"inconclusive, n≈{d.needed_n:,}"
        return f"inconclusive: ~{d.needed_n:,} requests per run would settle it"
    return d.status


def rows(comparison: Comparison) -> list[list[str]]:
    """One row of strings per delta, in ``_HEADERS`` order."""
    return [
        [
            d.entry,
            d.metric,
            _value(d.base, d.unit),
            _value(d.new, d.unit),
            _change(d),
            _noise(d),
            d.test,
            d.effect,
            d.tolerance,
            _status(d),
        ]
        for d in comparison.deltas
    ]


def verdict_line(comparison: Comparison) -> str:
    """One line: regression or not, which metrics, and what is inconclusive (and whether that
    fails the comparison)."""
    unsure = [f"{d.metric} {d.entry}" for d in comparison.inconclusive]
    allowed = comparison.tolerances.allow_inconclusive
    maybe = (
        f" Inconclusive (past the tolerance, the samples cannot tell"
        f"{'; allowed' if allowed else '; fails: run longer or pass --allow-inconclusive'}): "
        f"{', '.join(unsure)}."
        if unsure
        else ""
    )
    if not comparison.regressed:
        return "No regression against the baseline." + maybe
    names = ", ".join(f"{d.metric} {d.entry}" for d in comparison.regressions)
    return f"REGRESSION against the baseline: {names}." + maybe


def _notes(comparison: Comparison, console: bool = False) -> list[str]:
    notes = []
    if comparison.base_phase != comparison.new_phase:
        notes.append(
            f"The runs are of different phases ({comparison.base_phase} vs "
            f"{comparison.new_phase}): deltas compare unlike loads."
        )
    notes += comparison.notes
    alpha = comparison.tolerances.alpha
    notes.append(
        f"A breach of a tolerance is a regression when a one-sided test confirms it at "
        f"significance {alpha:g}: for P95/P99 the tail test (share of requests above the two "
        "runs' pooled percentile, Fisher) or the rank test (Mann-Whitney U over the exact "
        "histograms, when its Hodges-Lehmann shift is itself past the tolerance), each at "
        f"{alpha / 2:g}; Fisher's test for error rate and agent success; an exact test of the "
        "request counts for RPS. Inconclusive: no test confirms it but one leans that way "
        "(p < 0.05), with the requests per run that would settle it (80 % power at the observed "
        "effect; n≈ on the console); within noise: no test sees it. P(slower): the chance that a "
        "NEW request is slower than a BASE one (0.5: no shift)."
    )
    if console:
        return notes
    notes.append(
        "noise ± is about two standard errors of the difference: confidence intervals of the "
        "percentiles from each run's requests, the spread over slices of each run, binomial "
        'error of rates ("?": too few samples).'
    )
    return notes


def output_console() -> Console:
    """A console for the table; wide when writing to a log, where lines do not wrap."""
    console = Console()
    return console if console.is_terminal else Console(width=170)


def print_console(comparison: Comparison, console: Console | None = None) -> None:
    """Print the comparison as a rich table (one group of rows per entry), then the verdict."""
    console = console or output_console()
    tab = Table(title=f"{comparison.new_dir}  vs  baseline {comparison.base_dir}", box=SIMPLE_HEAD)
    for header in _HEADERS:
        if header not in ("tolerance", "noise ±"):
            right = header not in ("entry", "metric", "status")
            tab.add_column(
                header,
                justify="right" if right else "left",
                no_wrap=True,
                min_width=12 if header == "entry" else None,
            )
    previous = None
    for d, row in zip(comparison.deltas, rows(comparison), strict=True):
        if previous is not None and d.entry != previous:
            tab.add_section()
        shown = [row[0] if d.entry != previous else "", *row[1:5], *row[6:8], _status(d, True)]
        previous = d.entry
        style = _STYLES.get(d.status, "")
        tab.add_row(*shown, style=style)
    console.print(tab)
    if comparison.functions:
        ftab = Table(title="Top functions (self %)", box=SIMPLE_HEAD)
        for header in ("function", "where", "base", "new"):
            ftab.add_column(header)
        for f in comparison.functions:
            ftab.add_row(f.function, f.where, fmt_num(f.base_self_pct), fmt_num(f.new_self_pct))
        console.print(ftab)
    tol = comparison.tolerances
    console.print(
        f"tolerances: P95 +{tol.p95_pct:g} %, P99 +{tol.p99_pct:g} %, RPS -{tol.rps_pct:g} %, "
        f"error rate +{tol.error_rate_points:g} points, agent success "
        f"-{tol.success_points:g} points, knee RPS -{tol.knee_rps_pct:g} %; "
        f"significance {tol.alpha:g}"
        + ("; inconclusive allowed" if tol.allow_inconclusive else ""),
        style="dim",
    )
    for note in _notes(comparison, console=True):
        console.print(note, style="dim")
    style = "bold red" if comparison.failed else "bold green"
    console.print(verdict_line(comparison), style=style)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(comparison: Comparison) -> str:
    """The comparison as GitHub-flavoured Markdown."""
    lines = [
        f"### agentload: `{comparison.new_dir}` vs baseline `{comparison.base_dir}`",
        "",
        f"**{verdict_line(comparison)}**",
        "",
        "| " + " | ".join(_HEADERS) + " |",
        "|" + "---|" * len(_HEADERS),
    ]
    for row in rows(comparison):
        row[-1] = f"**{row[-1]}**" if row[-1].startswith("REGRESSION") else row[-1]
        lines.append("| " + " | ".join(_md_cell(c) for c in row) + " |")
    if comparison.functions:
        lines += ["", "| function | where | base self % | new self % |", "|---|---|---|---|"]
        lines += [
            f"| `{_md_cell(f.function)}` | {_md_cell(f.where)} | {fmt_num(f.base_self_pct)} "
            f"| {fmt_num(f.new_self_pct)} |"
            for f in comparison.functions
        ]
    lines += ["", *(f"_{note}_" for note in _notes(comparison))]
    return "\n".join(lines) + "\n"


def to_html(comparison: Comparison) -> str:
    """The comparison as a section of the NEW run's report."""
    classes = [
        "bad" if d.status == REGRESSION else ("ok" if d.status == "better" else "")
        for d in comparison.deltas
    ]
    cls = "bad" if comparison.regressed else "ok"
    body = (
        f'<p class="verdict-line {cls}">{escape(verdict_line(comparison))}</p>'
        f"<p>Baseline: <code>{escape(comparison.base_dir)}</code></p>"
        + table(_HEADERS, rows(comparison), row_classes=classes)
    )
    if comparison.functions:
        body += "<h3>Top functions (self %)</h3>" + table(
            ["function", "where", "base", "new"],
            [
                [f.function, f.where, fmt_num(f.base_self_pct), fmt_num(f.new_self_pct)]
                for f in comparison.functions
            ],
        )
    body += "".join(f"<p class=note>{escape(n)}</p>" for n in _notes(comparison))
    return section("Comparison with the baseline", body, "comparison")
