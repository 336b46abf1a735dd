"""Agent success judges of the agent-v1 description: content decides, not the HTTP status."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pytest

from agentload.apis.judges import judge, python_parses
from agentload.apis.load import load_description
from agentload.apis.verdicts import http_verdict
from tests.support import ROOT

GOOD_CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"
DESCRIPTION, DESCRIPTION_PATH = load_description("agent-v1")
CODEGEN = DESCRIPTION.scenarios["codegen"].success
RESEARCH = DESCRIPTION.scenarios["research"].success


def test_valid_code_that_parses_is_a_success() -> None:
    verdict = judge(CODEGEN, {"code": GOOD_CODE, "language": "python", "valid": True})
    assert verdict.ok and verdict.reason == ""


def test_code_the_service_marks_invalid_is_invalid() -> None:
    verdict = judge(CODEGEN, {"code": GOOD_CODE, "language": "python", "valid": False})
    assert verdict.outcome == "invalid"


def test_code_marked_valid_but_not_parsing_locally_is_invalid() -> None:
    verdict = judge(CODEGEN, {"code": "def broken(:\n  pass", "language": "python", "valid": True})
    assert verdict.outcome == "invalid" and "ast.parse" in verdict.reason


def test_empty_code_is_invalid() -> None:
    assert judge(CODEGEN, {"code": "  \n", "valid": True}).outcome == "invalid"


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {"code": GOOD_CODE},
        {"valid": True},
        "text",
    ],
)
def test_a_body_without_code_and_valid_is_an_error(body: object) -> None:
    assert judge(CODEGEN, body).outcome == "error"


def test_python_parses_tolerates_odd_escapes_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert python_parses('x = "\\d+"\n')
    assert not python_parses("return = 1")


def test_research_succeeded_with_a_citation_is_a_success() -> None:
    job = {"status": "succeeded", "result": {"answer": "a", "citations": [{"source": "csv"}]}}
    assert judge(RESEARCH, job).ok


def test_research_succeeded_without_citations_is_invalid() -> None:
    job = {"status": "succeeded", "result": {"answer": "a", "citations": []}}
    assert judge(RESEARCH, job).outcome == "invalid"


# calls.py imports Locust, whose gevent monkey-patching must not run inside pytest: the job
# states are judged in a child interpreter.
JOB_STATES = textwrap.dedent(
    """
    import json, sys
    from agentload.apis.load import load_description
    from agentload.scenarios.plan import resolve
    from agentload.locust.jobs import _terminal

    research = resolve(*load_description("agent-v1")).scenarios["research"]
    verdicts = {}
    for answer in json.loads(sys.argv[1]):
        verdict = _terminal(research.spec, research.job, answer, answer["status"])
        verdicts[answer["status"]] = None if verdict is None else [verdict.outcome, verdict.reason]
    print(json.dumps(verdicts))
    """
)


def _job_verdicts(answers: list[dict[str, object]]) -> dict[str, list[str] | None]:
    done = subprocess.run(
        [sys.executable, "-c", JOB_STATES, json.dumps(answers)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_job_states_failed_cancelled_are_errors_with_the_reason_running_is_not_terminal() -> None:
    """Failed and cancelled jobs are errors naming the state and the job's error; a running job
    is not over; a succeeded one is judged by the success checks."""
    verdicts = _job_verdicts(
        [
            {"status": "failed", "error": "engine unavailable"},
            {"status": "cancelled", "error": "engine unavailable"},
            {"status": "running"},
            {"status": "succeeded", "result": {"answer": "a", "citations": []}},
        ]
    )
    assert verdicts == {
        "failed": ["error", "job failed: engine unavailable"],
        "cancelled": ["error", "job cancelled: engine unavailable"],
        "running": None,
        "succeeded": ["invalid", "job succeeded without citations"],
    }


@pytest.mark.parametrize(
    ("code", "outcome"), [(429, "rejected"), (503, "rejected"), (504, "timeout"), (500, "error")]
)
def test_http_statuses_map_to_outcomes(code: int, outcome: str) -> None:
    assert http_verdict(code).outcome == outcome
