"""An asynchronous job as a description's ``job`` says: submit, poll, end. Generic.

``run_job(user, name, call, values)`` sends the submit request, takes the job id at
``id_path``, then polls with backoff honouring ``Retry-After`` until a terminal state or the
deadline (then cancel). The poll and cancel templates may use every value of the call (a
session's captures too) and the id, under the name of ``id_path``'s last part; they carry the
submit's headers (a session's header, say).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gevent

from agentload.apis import jsonpath
from agentload.apis.judges import judge
from agentload.apis.request import Call, Job
from agentload.apis.sse import BAD
from agentload.apis.templates import fill
from agentload.apis.verdicts import Verdict
from agentload.locust.answers import judge_answer, read_json, send_args, url_of
from agentload.locust.entries import failure_verdict
from agentload.redaction import redact

_TRANSIENT = (0, 429, 502, 503, 504)


@dataclass(frozen=True)
class JobEnd:
    """How a job ended: the verdict, its last poll answer (None if none) and the submit's
    response headers and job id."""

    verdict: Verdict
    answer: Any
    headers: Any
    job_id: Any


def run_job(user: Any, call: Call, job: Job, values: dict[str, Any]) -> JobEnd:
    """Submit ``call`` and follow its job to the end (see the module docstring)."""
    args = {**send_args(call, values, user.default_headers), "allow_redirects": False}
    with user.client.request(call.method, url_of(call, values), **args) as resp:
        verdict, answer = judge_answer(resp, call, checks=False)
        headers = resp.headers
        job_id = jsonpath.get(answer, job.id_path) if answer is not None else None
        refused = _answer_error(job, answer)
        if refused is not None:
            verdict = refused
            resp.failure(verdict.reason)
        elif answer is not None and (not isinstance(job_id, str | int) or job_id == ""):
            verdict = Verdict("error", f"answer lacks the job id at {job.id_path!r}")
            resp.failure(verdict.reason)
    if not verdict.ok:
        return JobEnd(verdict, None, headers, None)
    values = {**values, job.id_name: job_id}
    sent = args.get("headers") or {}
    deadline = time.perf_counter() + job.deadline_s
    verdict, last = _follow(user, call, job, values, sent, deadline)
    return JobEnd(verdict, last, headers, job_id)


def _follow(
    user: Any,
    call: Call,
    job: Job,
    values: dict[str, Any],
    headers: dict[str, str],
    deadline: float,
) -> tuple[Verdict, Any]:
    """Poll until a terminal state, a hard error or the deadline (then cancel)."""
    delay = job.interval_s
    state: Any = "unknown"
    while True:
        gevent.sleep(max(0.0, min(delay, deadline - time.perf_counter())))
        answer, retry_after = _poll(user, job, values, headers)
        refused = _answer_error(job, answer)
        if refused is not None:
            return refused, answer
        if answer is not None:
            state = jsonpath.get(answer, job.status_path)
            verdict = _terminal(call, job, answer, state)
            if verdict is not None:
                return verdict, answer
        elif retry_after is None:  # 404 or another hard error: give up
            return Verdict("error", "job could not be read"), None
        if time.perf_counter() >= deadline:
            if job.cancel is not None:
                path = str(fill(job.cancel.path, values))
                cancel = job.cancel
                args: dict[str, Any] = {"name": cancel.path, "headers": headers}
                if cancel.body is not None:
                    args["json"] = fill(cancel.body, values)
                user.client.request(cancel.method, path, **args)
            shown = state if isinstance(state, str | int | float) else "unknown"
            reason = f"job still {shown} after its {job.deadline_s:g}s deadline"
            return Verdict("timeout", reason), answer
        delay = max(min(delay * job.backoff, job.max_interval_s), retry_after or 0.0)


def _terminal(call: Call, job: Job, answer: Any, state: Any) -> Verdict | None:
    if not isinstance(state, str | int | float | bool):
        return None
    text = str(state)
    if text in job.success_states:
        return judge(call.success, answer)
    if text in job.failure_states or text in job.cancelled_states:
        detail = jsonpath.get(answer, job.error_path)
        reason = detail[:200] if isinstance(detail, str) and detail else "no reason given"
        return Verdict("error", redact(f"job {text[:100]}: {reason}"))
    return None


def _poll(
    user: Any, job: Job, values: dict[str, Any], headers: dict[str, str]
) -> tuple[Any, float | None]:
    """One poll: the answer (or None) and the server's ``Retry-After`` in seconds (or None)."""
    path = str(fill(job.poll, values))
    name = job.poll_entry_name or job.poll
    args: dict[str, Any] = {"name": name, "catch_response": True, "headers": headers}
    args["allow_redirects"] = False
    if job.poll_body is not None:
        args["json"] = fill(job.poll_body, values)
    with user.client.request(job.poll_method, path, **args) as resp:
        retry_after = _retry_after(resp)
        if resp.status_code == 200:
            answer = read_json(resp)
            if answer is BAD:
                resp.failure("job answer is not JSON")
                return None, None
            return answer, retry_after
        resp.failure(failure_verdict(resp).reason)
        transient = resp.status_code in _TRANSIENT
        return None, (retry_after or 1.0) if transient else None


def _retry_after(resp: Any) -> float | None:
    value = resp.headers.get("Retry-After") if resp.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _answer_error(job: Job, answer: Any) -> Verdict | None:
    """The error a submit or poll answer reports at ``answer_error`` (None if none)."""
    if not job.answer_error or answer is None:
        return None
    detail = jsonpath.get(answer, job.answer_error)
    if detail is jsonpath.MISSING or detail is None:
        return None
    return Verdict("error", redact(f"job error: {str(detail)[:200]}"))
