"""Agent outcomes: what one call came to, and why when it is not a success. Pure.

An outcome is one of ``success|invalid|error|timeout|rejected``: ``invalid`` is a well-formed
answer that fails a success check, ``rejected`` is load the service shed (429/503), ``timeout`` a
request or job past its deadline, ``error`` anything else. ``Verdict.reason`` is the short text
shown as the Locust failure message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["success", "invalid", "error", "timeout", "rejected"]
OUTCOMES: tuple[Outcome, ...] = ("success", "invalid", "error", "timeout", "rejected")


@dataclass(frozen=True, slots=True)
class Verdict:
    """An agent outcome and, unless it is a success, why."""

    outcome: Outcome
    reason: str = ""

    @property
    def ok(self) -> bool:
        """True for a success."""
        return self.outcome == "success"


SUCCESS = Verdict("success")


def http_verdict(status_code: int) -> Verdict:
    """The outcome of an unexpected HTTP status: 429/503 ``rejected`` (shed load), 504
    ``timeout``, 0 (no answer) and any other ``error``."""
    if status_code in (429, 503):
        return Verdict("rejected", f"HTTP {status_code}: service shed the request")
    if status_code == 504:
        return Verdict("timeout", "HTTP 504: the gateway timed out")
    if status_code == 0:
        return Verdict("error", "connection failed")
    return Verdict("error", f"HTTP {status_code}")
