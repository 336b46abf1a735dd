"""A tolerance breach inside the runs' noise is inconclusive, unless asked to fail on it."""

from __future__ import annotations

from agentload.report.compare import judge
from agentload.report.comparison import Delta


def _p95(new: float, noise: float) -> Delta:
    return Delta("POST /v1/agents/codegen", "p95_ms", 800.0, new, "ms", noise=noise)


def test_breach_beyond_the_noise_is_a_regression():
    assert judge(_p95(1000.0, noise=50.0), 10.0, relative=True).status == "regression"


def test_breach_inside_the_noise_is_inconclusive_by_default():
    assert judge(_p95(1000.0, noise=400.0), 10.0, relative=True).status == "inconclusive"


def test_fail_within_noise_turns_that_breach_into_a_regression():
    delta = judge(_p95(1000.0, noise=400.0), 10.0, relative=True, fail_within_noise=True)
    assert delta.status == "regression"


def test_a_small_change_inside_the_tolerance_is_not_a_regression():
    assert judge(_p95(820.0, noise=10.0), 10.0, relative=True).status == "worse"
