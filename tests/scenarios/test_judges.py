"""Agent success judges: content decides, not the HTTP status."""

from __future__ import annotations

import pytest

from agentload.scenarios.judges import (
    deadline_verdict,
    http_verdict,
    judge_codegen,
    judge_research,
    python_parses,
)

GOOD_CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"


def test_valid_code_that_parses_is_a_success() -> None:
    verdict = judge_codegen({"code": GOOD_CODE, "language": "python", "valid": True})
    assert verdict.ok and verdict.reason == ""


def test_code_the_service_marks_invalid_is_invalid() -> None:
    verdict = judge_codegen({"code": GOOD_CODE, "language": "python", "valid": False})
    assert verdict.outcome == "invalid"


def test_code_marked_valid_but_not_parsing_locally_is_invalid() -> None:
    verdict = judge_codegen({"code": "def broken(:\n  pass", "language": "python", "valid": True})
    assert verdict.outcome == "invalid" and "ast.parse" in verdict.reason


def test_empty_code_is_invalid() -> None:
    assert judge_codegen({"code": "  \n", "valid": True}).outcome == "invalid"


@pytest.mark.parametrize("body", [None, [], {"code": GOOD_CODE}, {"valid": True}, "text"])
def test_a_body_without_code_and_valid_is_an_error(body: object) -> None:
    assert judge_codegen(body).outcome == "error"


def test_python_parses_tolerates_odd_escapes_without_warning() -> None:
    assert python_parses('x = "\\d+"\n')
    assert not python_parses("return = 1")


def test_research_succeeded_with_a_citation_is_a_success() -> None:
    job = {"status": "succeeded", "result": {"answer": "a", "citations": [{"source": "csv"}]}}
    assert judge_research(job).ok


def test_research_succeeded_without_citations_is_invalid() -> None:
    job = {"status": "succeeded", "result": {"answer": "a", "citations": []}}
    assert judge_research(job).outcome == "invalid"


@pytest.mark.parametrize("status", ["failed", "cancelled"])
def test_failed_or_cancelled_jobs_are_errors_with_the_reason(status: str) -> None:
    verdict = judge_research({"status": status, "error": "engine unavailable"})
    assert verdict.outcome == "error"
    assert verdict.reason == f"job {status}: engine unavailable"


def test_a_job_past_its_deadline_is_a_timeout() -> None:
    verdict = deadline_verdict("running", 30.0)
    assert verdict.outcome == "timeout" and "30s deadline" in verdict.reason


@pytest.mark.parametrize(
    ("code", "outcome"), [(429, "rejected"), (503, "rejected"), (504, "timeout"), (500, "error")]
)
def test_http_statuses_map_to_outcomes(code: int, outcome: str) -> None:
    assert http_verdict(code).outcome == outcome
