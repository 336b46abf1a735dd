"""Run reports (``build_report``), run comparison (``compare_runs``) and their commands.

- ``build.build_report(run_dir) -> Path``: ``run_dir/report.html``, self-contained.
- ``compare.compare_runs(base_dir, new_dir, Tolerances()) -> Comparison``.
- ``commands``: ``report_command``, ``compare_command``, ``compare_after_run`` for the CLI.

May import: ``agentload.results`` (what it reads), ``agentload.metrics``,
``agentload.prometheus`` (the client-vs-server verdicts), ``agentload.errors``, plotly. Never the
runner, the CLI or Locust.
"""

from agentload.report.build import build_report
from agentload.report.compare import Comparison, Tolerances, compare_runs

__all__ = ["Comparison", "Tolerances", "build_report", "compare_runs"]
