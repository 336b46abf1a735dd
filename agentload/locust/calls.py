"""One call as a description says: a plain request, a stream or a job. Generic.

``send_call(user, name, call, values, started_at, stream)`` sends the request through the
user's ``FastHttpUser`` client (entry ``METHOD /path/{tpl}``), judges the answer with the
call's checks and returns :class:`Answered` (verdict, the judged JSON, headers, stream metrics).
HTTP failures are Locust failures; an answer that fails an ``invalid`` check is an outcome, not
an HTTP failure; a check with ``outcome = "error"`` (a broken API contract) is both.
``started_at`` (a ``perf_counter`` value) makes the latency start at the open model's intended
time. A request still in flight (its answer or its body being read) when Locust kills the user
at stop is a failure of its entry, ``cut off at stop`` (:mod:`agentload.locust.window`).

- stream: read line by line as the lines arrive; ``TTFT <scenario>`` at the first content token,
  ``TPOT <scenario>`` = (E2E - TTFT) / (output tokens - 1) (tokens from the usage, else the
  chunks); the entry's time is the whole stream (E2E). A stream that did not fail also adds its
  TTFT, inter-token gaps, TPOT, E2E and tokens to :mod:`agentload.locust.llm_metrics`.
- job (:mod:`agentload.locust.jobs`): ``TTC <scenario>`` from submit to end, a failure with the
  reason unless success (a session's ``TTC`` is the whole session's instead).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from gevent import Timeout

from agentload.apis.dialects import make_reader
from agentload.apis.judges import judge
from agentload.apis.request import Call
from agentload.apis.sse import StreamReader
from agentload.apis.templates import fill
from agentload.apis.verdicts import Verdict
from agentload.locust import llm_metrics
from agentload.locust.answers import judge_answer, send_args, url_of
from agentload.locust.entries import failure_verdict, fire
from agentload.locust.jobs import run_job
from agentload.locust.reading import Cut, Limits, read_body, read_lines
from agentload.locust.window import track
from agentload.metrics.llm import StreamMetrics, stream_metrics
from agentload.redaction import redact

_STREAM_ACCEPT = {"ndjson": "application/x-ndjson"}
_NO_REDIRECT = {"allow_redirects": False}  # a 3xx is judged by its status, or followed by us
_REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Answered:
    """What one call came to: the verdict, the JSON the checks judged (None if none), the
    response headers and, for a stream, its metrics; a job's id."""

    verdict: Verdict
    answer: Any = None
    headers: Any = None
    metrics: StreamMetrics | None = None
    job_id: Any = None


def send_call(
    user: Any,
    name: str,
    call: Call,
    values: dict[str, Any],
    started_at: float | None,
    stream: bool,
    ttc: bool = False,
) -> Answered:
    """One call of scenario ``name``: a job, a stream (when ``stream``) or a plain request.
    ``ttc``: a job fires its own ``TTC <name>`` entry (a single-call scenario's)."""
    if call.job is not None:
        submitted = time.perf_counter()
        end = run_job(user, call, call.job, values)
        if ttc and end.job_id is not None:
            fire(user, "TTC", name, (time.perf_counter() - submitted) * 1000, end.verdict.reason)
        return Answered(end.verdict, end.answer, end.headers, job_id=end.job_id)
    if stream and call.stream is not None:
        return _stream(user, name, call, values, started_at)
    return _plain(user, call, values, started_at)


def _limits(call: Call) -> Limits:
    """The call's limits, its deadline started now."""
    deadline = Timeout(call.timeout_s)
    deadline.start()
    return Limits(deadline, call.timeout_s, call.idle_s, call.max_body_bytes)


def _plain(user: Any, call: Call, values: dict[str, Any], started_at: float | None) -> Answered:
    """A plain request; its body read whole within the limits, then judged. With
    ``follow_redirects``, a redirect to the same origin is followed (each hop a request of the
    entry), up to ``MAX_REDIRECTS``; one to another origin is not."""
    limits = _limits(call)
    started = started_at if started_at is not None else time.perf_counter()
    method, url = call.method, url_of(call, values)
    args = send_args(call, values, user.default_headers)
    try:
        for hops in range(MAX_REDIRECTS + 1):
            with user.client.request(method, url, stream=True, **args, **_NO_REDIRECT) as resp:
                hop = _redirect(user, call, resp, method, url) if call.follow_redirects else None
                if isinstance(hop, tuple) and hops < MAX_REDIRECTS:
                    resp.success()
                    _discard(resp, limits)
                    method, url = hop
                    if method == "GET":
                        args.pop("json", None)
                    continue
                if hop is not None:
                    reason = hop if isinstance(hop, str) else f"over {MAX_REDIRECTS} redirects"
                    cut: Cut | None = Cut("error", reason)
                else:
                    with track(resp, user):  # killed reading the body: cut off at stop
                        cut = _read_whole(resp, call, limits)
                if cut is not None:
                    verdict, answer = Verdict(cut.outcome, cut.reason), None
                    resp.failure(cut.reason)
                else:
                    verdict, answer = judge_answer(resp, call)
                resp.request_meta["response_time"] = (time.perf_counter() - started) * 1000
                if cut is None and resp.status_code:
                    resp.request_meta["response_length"] = len(resp.content or b"")
                return Answered(verdict, answer, resp.headers)
        raise AssertionError("unreachable: the last hop returns")
    finally:
        limits.deadline.cancel()


def _redirect(
    user: Any, call: Call, resp: Any, method: str, url: str
) -> tuple[str, str] | str | None:
    """Where a redirect goes when it may be followed: the next method and path (same origin),
    the reason it is not followed (another origin), or None (not a redirect)."""
    target = resp.headers.get("Location") if resp.headers else None
    if resp.status_code not in _REDIRECTS or resp.status_code in call.expect_status or not target:
        return None
    goes_to = urljoin(f"{user.host}{url}", target)
    if _origin(goes_to) != _origin(user.host):
        return redact(f"redirect to another origin ({_origin(goes_to)}): not followed")
    parts = urlsplit(goes_to)
    keep = resp.status_code in (307, 308) or method in ("GET", "HEAD")
    return (method if keep else "GET"), parts.path + (f"?{parts.query}" if parts.query else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _discard(resp: Any, limits: Limits) -> None:
    """Read a redirect's body (within the limits) so its connection can serve the next hop."""
    if resp._response is not None:
        try:
            read_body(resp._response, limits)
        except Cut:
            pass


def _read_whole(resp: Any, call: Call, limits: Limits) -> Cut | None:
    """Read a plain answer's body within the limits; the :class:`Cut` if it was not."""
    error = getattr(resp, "error", None)
    if resp.status_code == 0 and error is not None:  # the deadline passed before the answer?
        return limits.cut_by(getattr(error, "original", None) or error)  # (RetriesExceeded wraps)
    if resp.status_code not in call.expect_status or resp._response is None:
        return None  # judged on its status: the body is not read
    try:
        read_body(resp._response, limits)
    except Cut as cut:
        return cut
    return None


def _stream(
    user: Any, name: str, call: Call, values: dict[str, Any], started_at: float | None
) -> Answered:
    assert call.stream is not None
    args = send_args(call, values, user.default_headers)
    if call.stream.body:
        args["json"] = {**args.get("json", {}), **fill(call.stream.body, values)}
    accept = _STREAM_ACCEPT.get(call.stream.dialect, "text/event-stream")
    args["headers"] = {**args.get("headers", {}), "Accept": accept, "Accept-Encoding": "identity"}
    reader = make_reader(call.stream)
    started = started_at if started_at is not None else time.perf_counter()
    limits = _limits(call)
    url = url_of(call, values)
    try:
        with user.client.request(call.method, url, stream=True, **args, **_NO_REDIRECT) as resp:
            cut = _read_whole(resp, call, limits) if resp.status_code == 0 else None
            if cut is None and resp.status_code in call.expect_status:
                with track(resp, user):  # killed mid-stream: a failure, cut off at stop
                    cut = _read(resp, reader, limits)
            ended = time.perf_counter()
            resp.request_meta["response_time"] = (ended - started) * 1000
            resp.request_meta["response_length"] = reader.length
            verdict = (
                Verdict(cut.outcome, cut.reason) if cut else _stream_verdict(resp, call, reader)
            )
            failed = verdict.outcome in ("error", "rejected", "timeout")
            if failed:
                resp.failure(verdict.reason)
            headers = resp.headers
    finally:
        limits.deadline.cancel()
    if reader.first_token is None:
        return Answered(verdict, reader.result, headers)
    metrics = stream_metrics(started, ended, reader.token_times, reader.tokens, reader.usage)
    fire(user, "TTFT", name, (reader.first_token - started) * 1000)
    if metrics.tpot_ms is not None:
        fire(user, "TPOT", name, metrics.tpot_ms)
    if not failed:
        llm_metrics.record(name, metrics)
    return Answered(verdict, reader.result, headers, metrics)


def _read(resp: Any, reader: StreamReader, limits: Limits) -> Cut | None:
    """Feed the stream to ``reader`` line by line as the lines arrive (it counts the bytes);
    the :class:`Cut` that ended it early, if one did."""
    try:
        for line, when in read_lines(resp._response, limits):
            reader.feed(line.decode("utf-8", "replace").rstrip("\r\n"), when)
    except Cut as cut:
        reader.finish(time.perf_counter())
        return cut
    reader.finish(time.perf_counter())
    return None


def _stream_verdict(resp: Any, call: Call, reader: StreamReader) -> Verdict:
    if resp.status_code not in call.expect_status:
        return failure_verdict(resp)
    if reader.error:
        return Verdict("error", reader.error)
    if reader.result is None:
        return Verdict("error", "stream ended without a result")
    return judge(call.success, reader.result)
