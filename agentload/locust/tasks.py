"""One user task of a scenario: a single call or a session, and its one agent outcome. Generic.

``run_scenario(user, scenario, started_at=None)`` fills the templates from a dataset row, makes
the call (:mod:`agentload.locust.calls`) or runs the session (:mod:`agentload.locust.sessions`),
and records the task's agent outcome and goodput. Each task's HTTP requests reach
``requests.jsonl.gz`` with the task's context (:mod:`agentload.locust.request_log`).
"""

from __future__ import annotations

import time
from typing import Any

from agentload.locust import llm_metrics, outcomes, request_log
from agentload.locust.calls import Answered, send_call
from agentload.locust.sessions import run_session
from agentload.scenarios.plan import RunScenario


def run_scenario(user: Any, sc: RunScenario, started_at: float | None = None) -> None:
    """Run one task of ``sc`` (a call or a session) and record its agent outcome."""
    start = started_at if started_at is not None else time.perf_counter()
    done: Answered | None = None
    call = request_log.begin(sc.name, started_at, session=sc.spec.steps is not None)
    try:
        if sc.spec.steps is not None:
            done = run_session(user, sc, start)
        else:
            values = sc.values(user.rng, user.plan.model)
            stream = sc.stream_share > 0 and user.rng.random() < sc.stream_share
            done = send_call(user, sc.name, sc.spec, values, started_at, stream, ttc=True)
    finally:  # the task's requests get their lines (a task cut off: without an outcome)
        request_log.end(call, done.verdict if done else None, done.metrics if done else None)
    verdict, metrics = done.verdict, done.metrics
    outcomes.record(user.environment, sc.name, verdict.outcome)
    if metrics is not None:
        llm_metrics.count_goodput(sc.name, verdict.ok, metrics.e2e_ms, metrics.ttft_ms,
                                  metrics.tpot_ms)  # fmt: skip
    else:  # a plain answer's first token comes with it; a job's E2E is its time to complete
        e2e = (time.perf_counter() - start) * 1000
        plain = sc.job is None and sc.spec.steps is None
        llm_metrics.count_goodput(sc.name, verdict.ok, e2e, e2e if plain else None)
