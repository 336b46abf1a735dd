"""Prometheus configs and rules pass promtool; a run's rule copies get short `for:` durations."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.utils import floatToGoString

from agentload.prometheus.rules import copy_rules, default_rules_dir, render_rules
from agentload.prometheus.server import ScrapeTargets, render_scrape_config
from target_service.api.metrics import HTTP_BUCKETS
from tests.support import ROOT

PROMTOOL = shutil.which("promtool")
RULES = ROOT / "deploy" / "prometheus" / "rules"
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: run `make install` (Debian package prometheus)"
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)


@needs_promtool
def test_rules_pass_promtool_check() -> None:
    """Every rule file under deploy/prometheus/rules passes `promtool check rules`."""
    files = sorted(str(p) for p in RULES.glob("*.yml"))
    assert files
    result = promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_rules_unit_tests_pass() -> None:
    """The promtool unit tests fire every alert on its fault and not on healthy input."""
    result = promtool("test", "rules", str(ROOT / "deploy/prometheus/tests/rules_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    """Each alert in alerts.yml appears in an alert_rule_test."""
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    tests = yaml.safe_load((ROOT / "deploy/prometheus/tests/rules_test.yml").read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test.get("alert_rule_test", [])}
    assert alerts <= tested, f"alerts without a unit test: {sorted(alerts - tested)}"


@needs_promtool
def test_compose_prometheus_config_is_valid() -> None:
    """deploy/prometheus/prometheus.yml passes `promtool check config`."""
    result = promtool(
        "check", "config", "--syntax-only", str(ROOT / "deploy/prometheus/prometheus.yml")
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_generated_run_config_with_rule_copies_is_valid(tmp_path: Path) -> None:
    """The config generated for a run, with its shortened rule copies, passes promtool."""
    src = default_rules_dir()
    assert src == RULES
    rules = copy_rules(src, tmp_path / "rules", "2s")
    targets = ScrapeTargets("http://127.0.0.1:8000", "http://127.0.0.1:8001/", "127.0.0.1:9646")
    config = tmp_path / "prometheus.yml"
    config.write_text(render_scrape_config(targets, 1.0, rules))
    result = promtool("check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"]: job for job in yaml.safe_load(config.read_text())["scrape_configs"]}
    assert set(jobs) == {"agent-api", "engine", "locust"}
    assert jobs["engine"]["static_configs"][0]["targets"] == ["127.0.0.1:8001"]
    assert jobs["locust"]["metrics_path"] == "/metrics"


def test_rule_copies_shorten_every_for_duration(tmp_path: Path) -> None:
    """copy_rules sets every alert's `for:` to the given duration and leaves the rest alone."""
    copied = copy_rules(RULES, tmp_path, "3s")
    alerts = yaml.safe_load((tmp_path / "alerts.yml").read_text())
    original = yaml.safe_load((RULES / "alerts.yml").read_text())
    fors = {r["for"] for g in alerts["groups"] for r in g["rules"]}
    assert fors == {"3s"}
    for group, orig in zip(alerts["groups"], original["groups"], strict=True):
        for rule, before in zip(group["rules"], orig["rules"], strict=True):
            assert rule["expr"] == before["expr"]
    assert {p.name for p in copied} == {p.name for p in RULES.glob("*.yml")}


def test_rule_copies_reject_a_bad_duration() -> None:
    """A `for` duration that is not a Prometheus duration is refused with the expected form."""
    with pytest.raises(ValueError, match='must look like "2s"'):
        render_rules("for: 1m\n", "soon")


def test_rule_tests_use_the_targets_own_bucket_bounds() -> None:
    """Every `le` of the HTTP histogram in the rules' unit tests is a bound the target exposes."""
    text = (ROOT / "deploy/prometheus/tests/rules_test.yml").read_text()
    les = re.findall(r'agent_http_request_duration_seconds_bucket\{[^}]*le="([^"]+)"', text)
    assert les, "no HTTP histogram buckets in the rules' tests"
    exposed = {floatToGoString(b) for b in HTTP_BUCKETS} | {"+Inf"}  # type: ignore[no-untyped-call]
    assert set(les) <= exposed, sorted(set(les) - exposed)
