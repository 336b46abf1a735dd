"""One user task of a scenario: a single call or a session, and its one agent outcome. Generic.

``run_scenario(user, scenario, started_at=None)`` fills the templates from a dataset row, makes
the call (:mod:`agentload.locust.calls`) or runs the session (:mod:`agentload.locust.sessions`),
and records the task's agent outcome and goodput. Each task's HTTP requests reach
``requests.jsonl.gz`` with the task's context (:mod:`agentload.locust.request_log`).

A task still running when Locust kills its user at stop (the stop timeout ran out) is not lost:
its outcome is ``timeout``, reason :data:`~agentload.locust.window.CUT_OFF_REASON` (``cut off at
stop``), counted and judged like any other (goodput: not met; a job's or a session's ``TTC
<scenario>`` a failure with that reason); the request it was in is a failure of its own entry
(:mod:`agentload.locust.window`). A task begun after the stop began, killed with its user, was
never in flight at stop: no outcome (its lines say ``null``); nor has one killed without a stop
timeout (plain Locust's default: it drops what the users had in flight).
"""

from __future__ import annotations

import time
from typing import Any

from gevent import GreenletExit

from agentload.apis.verdicts import Verdict
from agentload.locust import llm_metrics, outcomes, request_log, send_window
from agentload.locust.calls import Answered, send_call
from agentload.locust.entries import fire
from agentload.locust.sessions import run_session
from agentload.locust.window import CUT_OFF_REASON, WINDOW, begin_task
from agentload.scenarios.plan import RunScenario

CUT_OFF = Verdict("timeout", CUT_OFF_REASON)


def run_scenario(user: Any, sc: RunScenario, started_at: float | None = None) -> None:
    """Run one task of ``sc`` (a call or a session) and record its agent outcome; a task sent
    outside the run's window (warm-up, cool-down) is made and left out of the figures
    (:mod:`agentload.locust.send_window`)."""
    start = started_at if started_at is not None else time.perf_counter()
    counted = send_window.WINDOW.enter(send_window.unix_of(start))
    try:
        _run_task(user, sc, started_at, start)
    finally:
        if not counted:
            send_window.WINDOW.leave()


def _run_task(user: Any, sc: RunScenario, started_at: float | None, start: float) -> None:
    before_stop = begin_task(user)  # False: begun after the stop began
    call = request_log.begin(sc.name, started_at, session=sc.spec.steps is not None)
    try:
        if sc.spec.steps is not None:
            done: Answered = run_session(user, sc, start)
        else:
            values = sc.values(user.rng, user.plan.model)
            stream = sc.stream_share > 0 and user.rng.random() < sc.stream_share
            done = send_call(user, sc.name, sc.spec, values, started_at, stream, ttc=True)
    except GreenletExit:  # killed with its user at stop
        if not before_stop or not WINDOW.reports_kills():  # never in flight at stop, or dropped
            request_log.end(call, None, None)
            raise
        request_log.end(call, CUT_OFF, None)
        outcomes.record(user.environment, sc.name, CUT_OFF.outcome)
        elapsed = (time.perf_counter() - start) * 1000
        if sc.job is not None or sc.spec.steps is not None:  # the task's own entry: TTC
            fire(user, "TTC", sc.name, elapsed, CUT_OFF_REASON)
        llm_metrics.count_goodput(sc.name, False, elapsed, None)
        raise
    except BaseException:  # the task's requests still get their lines, without an outcome
        request_log.end(call, None, None)
        raise
    verdict, metrics = done.verdict, done.metrics
    request_log.end(call, verdict, metrics)
    outcomes.record(user.environment, sc.name, verdict.outcome)
    if metrics is not None:
        llm_metrics.count_goodput(sc.name, verdict.ok, metrics.e2e_ms, metrics.ttft_ms,
                                  metrics.tpot_ms)  # fmt: skip
    else:  # a plain answer's first token comes with it; a job's E2E is its time to complete
        e2e = (time.perf_counter() - start) * 1000
        plain = sc.job is None and sc.spec.steps is None
        llm_metrics.count_goodput(sc.name, verdict.ok, e2e, e2e if plain else None)
