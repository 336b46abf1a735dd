"""One scenario call as its description says: a plain request, a stream, or a job. Generic.

``run_scenario(user, scenario, started_at=None)`` fills the scenario's templates from a dataset
row, sends the request through the user's ``FastHttpUser`` client (entry ``METHOD /path/{tpl}``),
judges the answer with the scenario's checks and records one agent outcome. HTTP failures are
Locust failures; an answer that fails an ``invalid`` check is an outcome, not an HTTP failure; a
check with ``outcome = "error"`` (a broken API contract) is both. ``started_at`` (a
``perf_counter`` value) makes the latency start at the open model's intended time.

- stream: read line by line as the lines arrive; ``TTFT <scenario>`` at the first content token,
  ``TPOT <scenario>`` = (E2E - TTFT) / (output tokens - 1) (tokens from the usage, else the
  chunks); the entry's time is the whole stream (E2E). A stream that did not fail also adds its
  TTFT, inter-token gaps, TPOT, E2E and tokens to :mod:`agentload.locust.llm_metrics`.
- job: submit, poll with backoff honouring ``Retry-After`` until a terminal state or the deadline
  (then cancel); ``TTC <scenario>`` from submit to end, a failure with the reason unless success.

Each call's HTTP requests reach ``requests.jsonl.gz`` with the call's context
(:mod:`agentload.locust.request_log`).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import gevent

from agentload.apis import jsonpath
from agentload.apis.dialects import StreamReader, make_reader
from agentload.apis.judges import judge
from agentload.apis.model import Job, Scenario
from agentload.apis.templates import fill
from agentload.apis.verdicts import SUCCESS, Verdict
from agentload.locust import llm_metrics, outcomes, request_log
from agentload.locust.entries import failure_verdict, fire
from agentload.locust.window import track
from agentload.metrics.llm import StreamMetrics, stream_metrics
from agentload.scenarios.plan import RunScenario

_STREAM_ACCEPT = {"ndjson": "application/x-ndjson"}
_TRANSIENT = (0, 429, 502, 503, 504)


def run_scenario(user: Any, sc: RunScenario, started_at: float | None = None) -> None:
    """Make one call of ``sc`` and record its agent outcome."""
    values = sc.values(user.rng, user.plan.model)
    start = started_at if started_at is not None else time.perf_counter()
    metrics: StreamMetrics | None = None
    verdict: Verdict | None = None
    call = request_log.begin(sc.name, started_at)
    try:
        if sc.job is not None:
            verdict = _job(user, sc, sc.job, values)
        elif sc.stream_share > 0 and user.rng.random() < sc.stream_share:
            verdict, metrics = _stream(user, sc, values, started_at)
        else:
            verdict = _plain(user, sc.spec, values, started_at)
    finally:  # the call's requests get their lines (a call cut off: without an outcome)
        request_log.end(call, verdict, metrics)
    outcomes.record(user.environment, sc.name, verdict.outcome)
    if metrics is not None:
        llm_metrics.count_goodput(sc.name, verdict.ok, metrics.e2e_ms, metrics.ttft_ms,
                                  metrics.tpot_ms)  # fmt: skip
    else:  # a plain answer's first token comes with it; a job's E2E is its time to complete
        e2e = (time.perf_counter() - start) * 1000
        llm_metrics.count_goodput(sc.name, verdict.ok, e2e, None if sc.job else e2e)


def _url(spec: Scenario, values: dict[str, Any]) -> str:
    url = str(fill(spec.path, values))
    if spec.query:
        url += ("&" if "?" in url else "?") + urlencode(fill(spec.query, values), doseq=True)
    return url


def _send_args(spec: Scenario, values: dict[str, Any]) -> dict[str, Any]:
    args: dict[str, Any] = {"name": spec.path, "catch_response": True}
    if spec.headers:
        args["headers"] = {k: str(v) for k, v in fill(spec.headers, values).items()}
    if spec.body is not None:
        args["json"] = fill(spec.body, values)
    return args


def _plain(
    user: Any, spec: Scenario, values: dict[str, Any], started_at: float | None = None
) -> Verdict:
    with user.client.request(spec.method, _url(spec, values), **_send_args(spec, values)) as resp:
        verdict, _ = judge_answer(resp, spec)
        if started_at is not None:
            resp.request_meta["response_time"] = (time.perf_counter() - started_at) * 1000
    return verdict


def judge_answer(resp: Any, spec: Scenario, checks: bool = True) -> tuple[Verdict, Any]:
    """The verdict on a plain answer (marking the entry failed where it must) and its JSON."""
    if resp.status_code not in spec.expect_status:
        verdict = failure_verdict(resp)
        resp.failure(verdict.reason)
        return verdict, None
    if spec.response == "none":
        return SUCCESS, None
    try:
        answer = resp.json()
    except (ValueError, TypeError, AttributeError):
        kind = (resp.headers or {}).get("Content-Type", "no content type")
        verdict = Verdict("error", f"answer is not JSON ({kind})")
        resp.failure(verdict.reason)
        return verdict, None
    if not checks:
        return SUCCESS, answer
    verdict = judge(spec.success, answer)
    if verdict.outcome == "error":
        resp.failure(verdict.reason)
    return verdict, answer


def _stream(
    user: Any, sc: RunScenario, values: dict[str, Any], started_at: float | None
) -> tuple[Verdict, StreamMetrics | None]:
    spec = sc.spec
    assert spec.stream is not None
    args = _send_args(spec, values)
    args["json"] = {**args.get("json", {}), **fill(spec.stream.body, values)}
    accept = _STREAM_ACCEPT.get(spec.stream.dialect, "text/event-stream")
    args["headers"] = {**args.get("headers", {}), "Accept": accept, "Accept-Encoding": "identity"}
    reader = make_reader(spec.stream)
    started = started_at if started_at is not None else time.perf_counter()
    with user.client.request(spec.method, _url(spec, values), stream=True, **args) as resp:
        if resp.status_code in spec.expect_status:
            with track():  # a user killed mid-stream counts as cut off
                _read(resp, reader)
        ended = time.perf_counter()
        resp.request_meta["response_time"] = (ended - started) * 1000
        resp.request_meta["response_length"] = reader.length
        verdict = _stream_verdict(resp, spec, reader)
        failed = verdict.outcome in ("error", "rejected", "timeout")
        if failed:
            resp.failure(verdict.reason)
    if reader.first_token is None:
        return verdict, None
    metrics = stream_metrics(started, ended, reader.token_times, reader.tokens, reader.usage)
    fire(user, "TTFT", sc.name, (reader.first_token - started) * 1000)
    if metrics.tpot_ms is not None:
        fire(user, "TPOT", sc.name, metrics.tpot_ms)
    if not failed:
        llm_metrics.record(sc.name, metrics)
    return verdict, metrics


def _read(resp: Any, reader: StreamReader) -> None:
    """Feed the stream to ``reader`` line by line as the lines arrive (it counts the bytes)."""
    raw = resp._response  # geventhttpclient's response: readline returns as soon as a line is in
    try:
        while True:
            line = raw.readline(b"\n")
            if not line:
                break
            reader.feed(line.decode("utf-8", "replace").rstrip("\r\n"), time.perf_counter())
    except (OSError, ValueError) as exc:
        reader.error = reader.error or f"stream broken: {type(exc).__name__}"
    reader.finish(time.perf_counter())


def _stream_verdict(resp: Any, spec: Scenario, reader: StreamReader) -> Verdict:
    if resp.status_code not in spec.expect_status:
        return failure_verdict(resp)
    if reader.error:
        return Verdict("error", reader.error)
    if reader.result is None:
        return Verdict("error", "stream ended without a result")
    return judge(spec.success, reader.result)


def _job(user: Any, sc: RunScenario, job: Job, values: dict[str, Any]) -> Verdict:
    spec = sc.spec
    with user.client.request(spec.method, _url(spec, values), **_send_args(spec, values)) as resp:
        verdict, answer = judge_answer(resp, spec, checks=False)
        job_id = jsonpath.get(answer, job.id_path) if answer is not None else None
        if answer is not None and (not isinstance(job_id, str | int) or job_id == ""):
            verdict = Verdict("error", f"answer lacks the job id at {job.id_path!r}")
            resp.failure(verdict.reason)
    if not verdict.ok:
        return verdict
    values = {**values, job.id_name: job_id}
    submitted = time.perf_counter()
    verdict = _follow(user, sc, job, values, submitted + job.deadline_s)
    fire(user, "TTC", sc.name, (time.perf_counter() - submitted) * 1000, verdict.reason)
    return verdict


def _follow(
    user: Any, sc: RunScenario, job: Job, values: dict[str, Any], deadline: float
) -> Verdict:
    """Poll until a terminal state, a hard error or the deadline (then cancel)."""
    delay = job.interval_s
    state: Any = "unknown"
    while True:
        gevent.sleep(max(0.0, min(delay, deadline - time.perf_counter())))
        answer, retry_after = _poll(user, job, values)
        if answer is not None:
            state = jsonpath.get(answer, job.status_path)
            verdict = _terminal(sc, job, answer, state)
            if verdict is not None:
                return verdict
        elif retry_after is None:  # 404 or another hard error: give up
            return Verdict("error", "job could not be read")
        if time.perf_counter() >= deadline:
            if job.cancel is not None:
                path = str(fill(job.cancel.path, values))
                user.client.request(job.cancel.method, path, name=job.cancel.path)
            shown = state if isinstance(state, str | int | float) else "unknown"
            return Verdict("timeout", f"job still {shown} after its {job.deadline_s:g}s deadline")
        delay = max(min(delay * job.backoff, job.max_interval_s), retry_after or 0.0)


def _terminal(sc: RunScenario, job: Job, answer: Any, state: Any) -> Verdict | None:
    if not isinstance(state, str | int | float | bool):
        return None
    text = str(state)
    if text in job.success_states:
        return judge(sc.spec.success, answer)
    if text in job.failure_states or text in job.cancelled_states:
        detail = jsonpath.get(answer, job.error_path)
        reason = detail if isinstance(detail, str) and detail else "no reason given"
        return Verdict("error", f"job {text}: {reason}")
    return None


def _poll(user: Any, job: Job, values: dict[str, Any]) -> tuple[Any, float | None]:
    """One poll: the answer (or None) and the server's ``Retry-After`` in seconds (or None)."""
    path = str(fill(job.poll, values))
    with user.client.request(job.poll_method, path, name=job.poll, catch_response=True) as resp:
        retry_after = _retry_after(resp)
        if resp.status_code == 200:
            try:
                return resp.json(), retry_after
            except (ValueError, TypeError):
                resp.failure("job answer is not JSON")
                return None, None
        resp.failure(failure_verdict(resp).reason)
        transient = resp.status_code in _TRANSIENT
        return None, (retry_after or 1.0) if transient else None


def _retry_after(resp: Any) -> float | None:
    value = resp.headers.get("Retry-After") if resp.headers else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
