"""report.html of a real run, opened in headless Chromium."""

from __future__ import annotations

from pathlib import Path

from agentload.report.build import build_report
from tests.report.browser import inspect_report
from tests.report.runs import agentload
from tests.support import free_port

PLOTLY_HEADER = "/**\n* plotly.js v"


def test_report_renders_offline_with_data_in_every_chart(clean_copy: Path) -> None:
    """Loaded with every network request refused, it logs no error and each chart has points."""
    check = inspect_report(build_report(clean_copy))
    assert check.errors == []
    assert check.outside_requests == []
    assert len(check.charts) >= 5, check.charts
    empty = [c["title"] for c in check.charts if not c["points"] or not c["drawn"]]
    assert empty == []
    for anchor in ("gates", "kpis", "over-time", "resources", "meta"):
        assert anchor in check.sections


def test_report_embeds_plotly_once_and_loads_nothing_from_outside(clean_copy: Path) -> None:
    """Every script and style is inline: no src/href to another file or host, Plotly's JS once."""
    html = build_report(clean_copy).read_text()
    assert html.count(PLOTLY_HEADER) == 1
    assert "<script src" not in html
    assert "<link " not in html


def test_report_command_rebuilds_the_page(clean_copy: Path) -> None:
    """`agentload report DIR` writes DIR/report.html and says where."""
    (clean_copy / "report.html").unlink(missing_ok=True)
    result = agentload("report", str(clean_copy))
    assert result.returncode == 0, result.stderr
    assert (clean_copy / "report.html").is_file()
    assert str(clean_copy / "report.html") in result.stdout


def test_report_of_a_folder_without_summary_is_a_usage_error(tmp_path: Path) -> None:
    """A folder that is not a run folder: exit 2 and one line naming it, no traceback."""
    result = agentload("report", str(tmp_path))
    assert result.returncode == 2
    assert "summary.json" in result.stderr and str(tmp_path) in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_an_aborted_run_still_gets_a_report(tmp_path: Path) -> None:
    """Target unreachable: exit 3, and the page says ABORTED, why, and which gates went unjudged."""
    out = tmp_path / "aborted"
    host = f"http://127.0.0.1:{free_port()}"
    result = agentload("run", "smoke", "--host", host, "--ready-timeout", "1s", "--out", str(out))
    assert result.returncode == 3, result.stdout + result.stderr
    html = (out / "report.html").read_text()
    assert ">ABORTED<" in html and "target not ready" in html
    assert "not evaluated" in html
