"""What each scenario's user does, as functions of a ``FastHttpUser`` (see locustfiles/).

- :func:`status` (A): ``GET /v1/status``.
- :func:`codegen` (B): ``POST /v1/agents/codegen``, plain or streamed (see :mod:`.streaming`).
- :func:`research` (C): submit, poll ``GET /v1/jobs/{job_id}`` with backoff honouring
  ``Retry-After``, fire a ``TTC research`` entry (a failure with the reason unless the job
  succeeded with a citation) and cancel a job that passed its deadline.

Every task records one agent outcome (:func:`agentload.locust.outcomes.record`). HTTP failures are
Locust failures; a 200 carrying invalid code is an ``invalid`` outcome, not an HTTP failure.
``started_at`` (a ``perf_counter`` value) makes the reported latency start at the open model's
intended time instead of the send time.
"""

from __future__ import annotations

import time
from typing import Any

import gevent

from agentload.locust import outcomes
from agentload.locust.entries import failure_verdict, fire
from agentload.locust.plugin import settings
from agentload.locust.streaming import stream_codegen
from agentload.scenarios.judges import (
    SUCCESS,
    Verdict,
    deadline_verdict,
    judge_codegen,
    judge_research,
)

STATUS_PATH = "/v1/status"
CODEGEN_PATH = "/v1/agents/codegen"
RESEARCH_PATH = "/v1/agents/research"
JOB_NAME = "/v1/jobs/{job_id}"


def status(user: Any, started_at: float | None = None) -> None:
    """Scenario A: the agent manager's status; success is a 200 carrying a status object."""
    with user.client.get(STATUS_PATH, name=STATUS_PATH, catch_response=True) as resp:
        if resp.status_code == 200 and b'"status"' in (resp.content or b""):
            verdict = SUCCESS
        else:
            verdict = failure_verdict(resp) if resp.status_code != 200 else _bad_body()
            resp.failure(verdict.reason)
        if started_at is not None:
            resp.request_meta["response_time"] = (time.perf_counter() - started_at) * 1000
    outcomes.record(user.environment, "status", verdict.outcome)


def codegen(user: Any, prompt: str, stream: bool = False, started_at: float | None = None) -> None:
    """Scenario B: one code-gen call; success is ``valid`` and code that parses locally."""
    cfg = settings().config.codegen
    body = {
        "prompt": prompt,
        "language": cfg.language,
        "max_tokens": cfg.max_tokens,
        "stream": stream,
    }
    if stream:
        verdict = stream_codegen(user, CODEGEN_PATH, body)
    else:
        with user.client.post(CODEGEN_PATH, json=body, name=CODEGEN_PATH, catch_response=True) as r:
            verdict = _judge_json(r, judge_codegen)
            if started_at is not None:
                r.request_meta["response_time"] = (time.perf_counter() - started_at) * 1000
    outcomes.record(user.environment, "codegen", verdict.outcome)


def research(user: Any, question: str) -> None:
    """Scenario C: a research job from submission to its end (or its deadline)."""
    cfg = settings().config.research
    body = {"question": question, "depth": cfg.depth}
    with user.client.post(RESEARCH_PATH, json=body, name=RESEARCH_PATH, catch_response=True) as r:
        job_id = _job_id(r)
        if job_id is None:
            verdict = failure_verdict(r) if r.status_code not in (200, 202) else _bad_body()
            r.failure(verdict.reason)
    if job_id is None:
        outcomes.record(user.environment, "research", verdict.outcome)
        return
    submitted = time.perf_counter()
    deadline = submitted + cfg.deadline_s
    delay = cfg.poll_initial_s
    while True:
        gevent.sleep(max(0.0, min(delay, deadline - time.perf_counter())))
        job, retry_after = _poll(user, job_id)
        if job is not None and job.get("status") in ("succeeded", "failed", "cancelled"):
            verdict = judge_research(job)
            break
        if job is None and retry_after is None:  # 404 or another hard error: give up
            verdict = Verdict("error", "job could not be read")
            break
        if time.perf_counter() >= deadline:
            verdict = deadline_verdict(job.get("status") if job else "unknown", cfg.deadline_s)
            user.client.delete(f"/v1/jobs/{job_id}", name=JOB_NAME)
            break
        delay = max(min(delay * cfg.poll_backoff, cfg.poll_max_s), retry_after or 0.0)
    fire(user, "TTC", "research", (time.perf_counter() - submitted) * 1000, verdict.reason)
    outcomes.record(user.environment, "research", verdict.outcome)


def _poll(user: Any, job_id: str) -> tuple[dict[str, Any] | None, float | None]:
    """One poll: the job (or None) and the server's ``Retry-After`` in seconds (or None)."""
    with user.client.get(f"/v1/jobs/{job_id}", name=JOB_NAME, catch_response=True) as resp:
        retry_after = _retry_after(resp)
        if resp.status_code == 200:
            try:
                job = resp.json()
            except ValueError:
                resp.failure("job is not JSON")
                return None, None
            return (job if isinstance(job, dict) else None), retry_after
        resp.failure(failure_verdict(resp).reason)
        transient = resp.status_code in (0, 429, 502, 503, 504)
        return None, (retry_after or 1.0) if transient else None


def _judge_json(resp: Any, judge: Any) -> Verdict:
    if resp.status_code != 200:
        verdict = failure_verdict(resp)
        resp.failure(verdict.reason)
        return verdict
    try:
        verdict = judge(resp.json())
    except ValueError:
        verdict = _bad_body()
    if verdict.outcome == "error":  # a 200 that breaks the API contract is an HTTP failure too
        resp.failure(verdict.reason)
    return verdict


def _job_id(resp: Any) -> str | None:
    if resp.status_code not in (200, 202):
        return None
    try:
        job_id = resp.json().get("job_id")
    except (ValueError, AttributeError):
        return None
    return job_id if isinstance(job_id, str) and job_id else None


def _retry_after(resp: Any) -> float | None:
    value = resp.headers.get("Retry-After") if resp.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _bad_body() -> Verdict:
    return Verdict("error", "response body does not match the API")
