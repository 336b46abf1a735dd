"""`agentload compare` on real runs: a run against itself, and a clean run against a slowed one."""

from __future__ import annotations

import json
from pathlib import Path

from tests.report.browser import inspect_report
from tests.report.runs import RECORDED_SMOKE, SmokeRuns, agentload, copy_run


def test_a_run_compared_with_itself_reports_no_regression(clean_run: Path, tmp_path: Path) -> None:
    """Same data on both sides: exit 0, every delta zero, 'No regression' printed."""
    twin = copy_run(clean_run, tmp_path / "twin")
    result = agentload("compare", str(clean_run), str(twin))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No regression against the baseline." in result.stdout
    saved = json.loads((twin / "comparison.json").read_text())
    assert saved["regressed"] is False
    assert {d["status"] for d in saved["deltas"]} <= {"same", "n/a"}


def test_added_agent_latency_is_a_regression_with_exit_1(
    clean_run: Path, slow_run: Path, tmp_path: Path
) -> None:
    """200 ms more per agent call: codegen latency regresses; exit 1; console, Markdown, report."""
    new = copy_run(slow_run, tmp_path / "slow")
    markdown = tmp_path / "comparison.md"
    result = agentload("compare", str(clean_run), str(new), "--markdown", str(markdown))
    assert result.returncode == 1, markdown.read_text() if markdown.exists() else result.stderr
    assert "REGRESSION against the baseline" in result.stdout
    saved = json.loads((new / "comparison.json").read_text())
    by_key = {(d["entry"], d["metric"]): d for d in saved["deltas"]}
    p50 = by_key[("POST /v1/agents/codegen", "P50")]
    assert p50["new"] - p50["base"] >= 150  # the fault is there: the whole distribution moved
    regressed = {(d["entry"], d["metric"]) for d in saved["deltas"] if d["status"] == "regression"}
    codegen = {("POST /v1/agents/codegen", "P95"), ("POST /v1/agents/codegen", "P99")}
    ttft = {("TTFT codegen", "P95"), ("TTFT codegen", "P99")}
    assert regressed & (codegen | ttft), regressed
    assert "**REGRESSION" in markdown.read_text()
    check = inspect_report(new / "report.html")
    assert check.errors == []
    assert "comparison" in check.sections


def test_looser_tolerance_turns_the_regression_off(
    clean_run: Path, slow_run: Path, tmp_path: Path
) -> None:
    """Tolerances are options: allowing +300 % on P95/P99 accepts the slowed run (exit 0)."""
    new = copy_run(slow_run, tmp_path / "slow")
    result = agentload(
        "compare", str(clean_run), str(new), "--p95-tolerance", "300", "--p99-tolerance", "300"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compare_with_a_missing_folder_is_a_usage_error(clean_run: Path, tmp_path: Path) -> None:
    """A baseline that does not exist: exit 2, one line naming it."""
    missing = tmp_path / "nope"
    result = agentload("compare", str(missing), str(clean_run))
    assert result.returncode == 2
    assert str(missing) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_run_with_baseline_compares_at_its_end(smoke_runs: SmokeRuns) -> None:
    """`run --baseline DIR`: comparison.json and .md in the run folder, the section in its
    report, and exit 1 exactly when the gates passed but the comparison found a regression."""
    run = smoke_runs.clean
    saved = json.loads((run / "comparison.json").read_text())
    assert saved["base_dir"] == str(RECORDED_SMOKE)
    assert (run / "comparison.md").is_file()
    assert 'id="comparison"' in (run / "report.html").read_text()
    summary = json.loads((run / "summary.json").read_text())
    expected = 1 if summary["exit_code"] == 1 or saved["failed"] else 0  # incl. inconclusive
    assert smoke_runs.clean_result.returncode == expected
    assert "against the baseline" in smoke_runs.clean_result.stdout
