"""Small helpers shared by the scenario actions: custom Locust entries and HTTP verdicts."""

from __future__ import annotations

from locust.exception import CatchResponseError

from typing import Any

from agentload.apis.verdicts import Verdict, http_verdict


def fire(user: Any, request_type: str, name: str, ms: float, reason: str = "") -> None:
    """Fire a custom Locust entry (e.g. ``TTC <scenario>``); a non-empty ``reason`` is a failure."""
    user.environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=ms,
        response_length=0,
        exception=CatchResponseError(reason) if reason else None,
        context=user.context(),
    )


def failure_verdict(resp: Any) -> Verdict:
    """The outcome of a non-2xx answer or a connection error (a timeout is ``timeout``)."""
    if resp.status_code == 0 and "timed out" in str(getattr(resp, "error", "")).lower():
        return Verdict("timeout", "request timed out")
    return http_verdict(resp.status_code)
