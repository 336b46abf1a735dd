"""Reports and comparisons of recorded real stress and profile runs (see fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentload.report.build import build_report
from agentload.report.compare import compare_runs
from tests.report.browser import inspect_report
from tests.report.runs import agentload, copy_run

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def stress_run(tmp_path: Path) -> Path:
    return copy_run(FIXTURES / "stress-run", tmp_path / "stress")


@pytest.fixture
def profile_run(tmp_path: Path) -> Path:
    return copy_run(FIXTURES / "profile-run", tmp_path / "profile")


def test_stress_report_draws_the_load_curves_with_the_knee(stress_run: Path) -> None:
    """Throughput and P95 against users, the knee marked; every chart has points, no errors."""
    check = inspect_report(build_report(stress_run))
    assert check.errors == [] and check.outside_requests == []
    assert "stress" in check.sections
    assert all(c["points"] and c["drawn"] for c in check.charts), check.charts
    curves = [c for c in check.charts if "knee" in c["traces"]]
    assert curves, [c["traces"] for c in check.charts]


def test_profile_report_shows_the_flame_graph_and_top_functions(profile_run: Path) -> None:
    """The flame graph is drawn from the inlined SVG; resources come from resources.jsonl."""
    html = build_report(profile_run).read_text()
    assert "RequestResponseCycle.send" in html
    assert "the runner&#x27;s sampling (resources.jsonl)" in html
    check = inspect_report(profile_run / "report.html")
    assert check.errors == [] and check.outside_requests == []
    assert {"profile", "resources"} <= set(check.sections)
    assert check.flame_frames > 10
    assert all(c["points"] for c in check.charts), check.charts


def test_stress_run_compared_with_itself_has_the_same_knee(stress_run: Path) -> None:
    """The knee's RPS, users and P95 are compared, and equal runs show no regression."""
    comparison = compare_runs(stress_run, stress_run)
    knee = {d.metric: d for d in comparison.deltas if d.entry == "knee"}
    assert set(knee) == {"RPS", "users", "P95"}
    assert knee["RPS"].status == "same" and not comparison.regressed


def test_compare_cli_takes_fail_within_noise(stress_run: Path, tmp_path: Path) -> None:
    """`agentload compare --fail-within-noise`: a run against its copy still has no regression."""
    twin = copy_run(FIXTURES / "stress-run", tmp_path / "twin")
    result = agentload("compare", str(stress_run), str(twin), "--fail-within-noise")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
