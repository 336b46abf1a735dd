"""Verdicts and the outcome of an unexpected HTTP status."""

from __future__ import annotations

import pytest

from agentload.apis.verdicts import OUTCOMES, SUCCESS, Verdict, http_verdict


def test_only_a_success_is_ok() -> None:
    assert SUCCESS.ok and SUCCESS.reason == ""
    assert not any(Verdict(outcome).ok for outcome in OUTCOMES if outcome != "success")


@pytest.mark.parametrize("status", [429, 503])
def test_shed_load_is_rejected(status: int) -> None:
    assert http_verdict(status) == Verdict("rejected", f"HTTP {status}: service shed the request")


def test_a_gateway_timeout_is_a_timeout() -> None:
    assert http_verdict(504).outcome == "timeout"


def test_no_answer_is_a_connection_error() -> None:
    assert http_verdict(0) == Verdict("error", "connection failed")


@pytest.mark.parametrize("status", [400, 404, 500, 502])
def test_other_statuses_are_errors_naming_the_status(status: int) -> None:
    assert http_verdict(status) == Verdict("error", f"HTTP {status}")
