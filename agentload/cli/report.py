"""`agentload report` and `agentload compare`, registered by `add_report_commands` when the
report package provides them. `agentload.report` is imported only when one of them runs:
plotly is slow to import, and `agentload --help` must not pay for it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentload.cli.app import app, exit_from


def add_report_commands() -> None:
    """Register `agentload report` and `agentload compare` on `app`, when the report package
    provides them (`main` calls this before running the app)."""
    if not (Path(__file__).resolve().parents[1] / "report" / "commands.py").exists():
        return

    @app.command()
    def report(
        run_dir: Annotated[Path, typer.Argument(help="A run's results folder.")],
    ) -> None:
        """Rebuild RUN_DIR/report.html from the run's files."""
        from agentload.report import commands

        exit_from(commands.report_command, run_dir)

    @app.command()
    def compare(
        base: Annotated[
            Path, typer.Argument(help="Baseline run folder (or its requests.jsonl.gz).")
        ],
        new: Annotated[Path, typer.Argument(help="New run folder (or its requests.jsonl.gz).")],
        markdown: Annotated[
            Path | None, typer.Option(help="Also write the comparison as Markdown here.")
        ] = None,
        p95_tolerance: Annotated[float, typer.Option(help="Allowed P95 growth, %.")] = 10.0,
        p99_tolerance: Annotated[float, typer.Option(help="Allowed P99 growth, %.")] = 10.0,
        success_tolerance: Annotated[
            float, typer.Option(help="Allowed agent success drop, points.")
        ] = 1.0,
        knee_tolerance: Annotated[float, typer.Option(help="Allowed knee rps drop, %.")] = 10.0,
        rps_tolerance: Annotated[
            float, typer.Option(help="Allowed throughput (RPS) drop of an entry or in total, %.")
        ] = 10.0,
        error_rate_tolerance: Annotated[
            float, typer.Option(help="Allowed error-rate rise of an entry or in total, points.")
        ] = 1.0,
        significance: Annotated[
            float,
            typer.Option(
                min=1e-6,
                max=0.5,
                help="Significance level of the tests that confirm a breach (one-sided).",
            ),
        ] = 0.01,
        allow_inconclusive: Annotated[
            bool,
            typer.Option(
                "--allow-inconclusive",
                help="Exit 0 on a breach the samples cannot confirm (by default it fails, "
                "printing how many requests per run would settle it).",
            ),
        ] = False,
        fail_within_noise: Annotated[
            bool,
            typer.Option(
                "--fail-within-noise",
                help="Count every breach as a regression, confirmed by a test or not.",
            ),
        ] = False,
    ) -> None:
        """Compare NEW with BASE; exit 1 on a regression beyond the tolerances (or an
        inconclusive breach, unless --allow-inconclusive)."""
        from agentload.report import commands
        from agentload.report.compare import Tolerances

        tolerances = Tolerances(
            p95_pct=p95_tolerance,
            p99_pct=p99_tolerance,
            success_points=success_tolerance,
            knee_rps_pct=knee_tolerance,
            rps_pct=rps_tolerance,
            error_rate_points=error_rate_tolerance,
            alpha=significance,
            allow_inconclusive=allow_inconclusive,
            fail_within_noise=fail_within_noise,
        )
        exit_from(commands.compare_command, base, new, markdown_out=markdown, tolerances=tolerances)
