"""What ``agentload report``, ``agentload compare`` and ``run --baseline`` do (the CLI wires them).

Each prints its result and returns the process exit code; bad input raises ``ConfigError``
(exit 2), which the CLI turns into one line.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from agentload.errors import ExitCode
from agentload.report.build import build_report
from agentload.report.compare import Comparison, Tolerances, compare_runs
from agentload.report.compare_render import output_console, print_console, to_markdown
from agentload.results.requests_file import FILE_NAME

COMPARISON_JSON = "comparison.json"
COMPARISON_MD = "comparison.md"


def report_command(run_dir: Path, console: Console | None = None) -> int:
    """Rebuild ``run_dir/report.html`` and print where it is."""
    path = build_report(run_dir)
    (console or Console()).print(f"report: {path}")
    return int(ExitCode.OK)


def write_comparison(comparison: Comparison, new_dir: Path) -> None:
    """Store the comparison in NEW's folder (JSON and Markdown) and rebuild NEW's report."""
    (new_dir / COMPARISON_JSON).write_text(json.dumps(comparison.to_json(), indent=1))
    (new_dir / COMPARISON_MD).write_text(to_markdown(comparison))
    build_report(new_dir)


def compare_command(
    base_dir: Path,
    new_dir: Path,
    *,
    markdown_out: Path | None = None,
    tolerances: Tolerances | None = None,
    console: Console | None = None,
) -> int:
    """Compare NEW with BASE: print the table, store it in NEW, exit 1 on a regression or on an
    inconclusive breach the tolerances do not allow."""
    comparison = compare_runs(base_dir, new_dir, tolerances)
    if new_dir.name == FILE_NAME and new_dir.is_file():  # NEW's requests file: its run folder
        new_dir = new_dir.parent
    console = console or output_console()
    print_console(comparison, console)
    write_comparison(comparison, new_dir)
    if markdown_out is not None:
        markdown_out.write_text(to_markdown(comparison))
        console.print(f"markdown: {markdown_out}")
    console.print(f"report with the comparison: {new_dir / 'report.html'}")
    return int(ExitCode.GATE_FAILED if comparison.failed else ExitCode.OK)


def compare_after_run(
    baseline_dir: Path,
    run_dir: Path,
    tolerances: Tolerances | None = None,
    console: Console | None = None,
) -> int:
    """``agentload run ... --baseline DIR``: the same as ``compare_command`` at the end of a run."""
    return compare_command(baseline_dir, run_dir, tolerances=tolerances, console=console)
