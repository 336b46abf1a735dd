"""The comparison's verdict rules and noise bands (pure functions)."""

from __future__ import annotations

import math

import pytest

from agentload.metrics.latency import from_rounded
from agentload.report.compare import INCONCLUSIVE, REGRESSION, Delta, judge
from agentload.report.noise import percentile_halfwidth, rate_band


def test_latency_past_its_tolerance_and_outside_noise_is_a_regression() -> None:
    """P95 +20 % against a +10 % tolerance, noise ±5 ms: regression."""
    d = judge(Delta("POST /x", "P95", 100.0, 120.0, "ms", noise=5.0), 10.0, relative=True)
    assert d.status == REGRESSION


def test_a_breach_within_noise_is_inconclusive_unless_asked_to_fail() -> None:
    """P95 +20 % with noise ±30 ms: inconclusive by default, a regression when strict."""
    loose = judge(Delta("POST /x", "P95", 100.0, 120.0, "ms", noise=30.0), 10.0, relative=True)
    strict = judge(Delta("POST /x", "P95", 100.0, 120.0, "ms", noise=30.0), 10.0, True, True)
    assert (loose.status, strict.status) == (INCONCLUSIVE, REGRESSION)


def test_a_drop_is_worse_for_metrics_where_higher_is_better() -> None:
    """Knee RPS -20 % against -10 %: regression; +20 %: better; unknown noise counts as outside."""
    down = judge(Delta("knee", "RPS", 50.0, 40.0, "/s", higher_is_better=True), 10.0, True)
    up = judge(Delta("knee", "RPS", 50.0, 60.0, "/s", higher_is_better=True), 10.0, True)
    assert (down.status, up.status) == (REGRESSION, "better")


def test_agent_success_tolerance_is_in_points() -> None:
    """Success 99 % -> 97 % is 2 points down (past 1 point); 99 % -> 98.5 % is not."""
    two = judge(Delta("all", "agent success", 0.99, 0.97, "fraction", True), 0.01, False)
    half = judge(Delta("all", "agent success", 0.99, 0.985, "fraction", True), 0.01, False)
    assert two.status == REGRESSION
    assert half.status == "worse"


def test_untoleranced_deltas_are_labelled_by_direction_and_noise() -> None:
    """No tolerance: same, within noise, better or worse."""
    assert judge(Delta("e", "P50", 10.0, 10.0, "ms"), None, True).status == "same"
    assert (
        judge(Delta("e", "P50", 10.0, 11.0, "ms", noise=2.0), None, True).status == "within noise"
    )
    assert judge(Delta("e", "P50", 10.0, 15.0, "ms", noise=2.0), None, True).status == "worse"
    assert judge(Delta("e", "P50", None, 15.0, "ms"), None, True).status == "n/a"


def test_percentile_interval_spans_the_ranks_around_the_quantile() -> None:
    """Half of 100 requests at 100 ms and half at 200 ms: the median is uncertain by 50 ms;
    a histogram of one value has no spread."""
    assert percentile_halfwidth(from_rounded({100: 50, 200: 50}), 0.5) == pytest.approx(
        50.0, rel=1e-3
    )
    assert percentile_halfwidth(from_rounded({100: 1000}), 0.95) == 0.0
    assert percentile_halfwidth(from_rounded({100: 1}), 0.95) is None


def test_rate_band_is_two_binomial_standard_errors() -> None:
    """10 % errors over 100 and 400 requests: 2 * sqrt(.09/100 + .09/400)."""
    band = rate_band(0.1, 100, 0.1, 400)
    assert band is not None and math.isclose(band, 2 * math.sqrt(0.09 / 100 + 0.09 / 400))
