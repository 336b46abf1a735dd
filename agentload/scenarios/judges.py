"""Agent success judged on content, not on the HTTP status (pure, no Locust import).

- code generation succeeds when the service says ``valid`` *and* the code parses locally
  (``ast.parse`` for Python); a well-formed answer that fails either check is ``invalid``.
- research succeeds when the job ends ``succeeded`` with at least one citation; ``failed`` and
  ``cancelled`` jobs are ``error``; a job still running at its deadline is ``timeout``.

Each judge returns a :class:`Verdict` (``outcome`` in ``success|invalid|error|timeout|rejected``
and a short ``reason`` for failures, used as the Locust failure message).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from typing import Any, Literal

Outcome = Literal["success", "invalid", "error", "timeout", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("success", "invalid", "error", "timeout", "rejected")
TERMINAL_JOB_STATES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass(frozen=True)
class Verdict:
    """An agent outcome and, unless it is a success, why."""

    outcome: Outcome
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


SUCCESS = Verdict("success")


def python_parses(code: str) -> bool:
    """True if ``code`` is syntactically valid Python."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for odd escapes in generated code
            ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def judge_codegen(body: Any) -> Verdict:
    """Judge a code-gen result ``{"code", "language", "valid", ...}``."""
    if not isinstance(body, dict):
        return Verdict("error", "response is not a JSON object")
    code, valid, language = body.get("code"), body.get("valid"), body.get("language", "python")
    if not isinstance(code, str) or not isinstance(valid, bool):
        return Verdict("error", "response lacks 'code' (string) or 'valid' (boolean)")
    if not valid:
        return Verdict("invalid", "service reported the code as invalid")
    if not code.strip():
        return Verdict("invalid", "empty code")
    if language == "python" and not python_parses(code):
        return Verdict("invalid", "code does not parse (ast.parse)")
    return SUCCESS


def judge_research(job: Any) -> Verdict:
    """Judge a finished research job ``{"status", "result": {"answer", "citations"}, "error"}``."""
    if not isinstance(job, dict):
        return Verdict("error", "job is not a JSON object")
    status = job.get("status")
    if status == "succeeded":
        result = job.get("result")
        citations = result.get("citations") if isinstance(result, dict) else None
        if not isinstance(citations, list) or not citations:
            return Verdict("invalid", "job succeeded without citations")
        return SUCCESS
    if status in ("failed", "cancelled"):
        detail = job.get("error") or "no reason given"
        return Verdict("error", f"job {status}: {detail}")
    return Verdict("error", f"job in unexpected state {status!r}")


def deadline_verdict(status: object, deadline_s: float) -> Verdict:
    """The verdict for a job still ``status`` when its deadline passed."""
    return Verdict("timeout", f"job still {status} after its {deadline_s:g}s deadline")


def http_verdict(status_code: int) -> Verdict:
    """The outcome of a non-2xx answer: 429/503 ``rejected`` (shed load), 504 ``timeout``."""
    if status_code in (429, 503):
        return Verdict("rejected", f"HTTP {status_code}: service shed the request")
    if status_code == 504:
        return Verdict("timeout", "HTTP 504: the engine timed out")
    if status_code == 0:
        return Verdict("error", "connection failed")
    return Verdict("error", f"HTTP {status_code}")
