"""Trace replay inside Locust: each row of a trace one call at its time, on a free ``ReplayUser``.

A process whose shape is ``ReplayShape`` (:mod:`agentload.locust.shapes.replay`) reads the plan
from the runner's ``AGENTLOAD_SHAPE`` and the trace at ``init``, and schedules it
(:mod:`agentload.scenarios.replay`: items of a row alone or of a session's rows, each row's
scenario); a bad trace prints one line on stderr and ends Locust with exit code 2.

The schedule's origin is one wall-clock instant for every process: at ``test_start`` the master
(or the local runner) sets it a lead ahead (time for the pool to spawn) in its parsed options,
which Locust sends to each worker with its first spawn message; a load-generating process then
deals itself its share of the items (its worker index of ``processes``), so every row is sent
once and a session stays on one worker. A free user takes the next item (:func:`run_item`),
builds each row's values (a prompt of the row's length) before its time, sleeps until the time
and sends it, its latency measured from that scheduled instant (coordinated omission: a late
send or a stalled server shows in the figures). A row sent over ``LATE_AFTER_S`` after its time
(every user was busy, or its session's previous call ran past it) is ``late``; over
``max_lag_s`` it is not sent but ``dropped``, a failure of its scenario's entry; both in the open
model's counters (summary.json's ``arrivals``). A session's row waits for the session's previous
call.

Fidelity: the send-time error of each call (Locust's start of its first request minus its
scheduled time) goes into an exact histogram (:mod:`agentload.metrics.latency`), sent by the
workers with their reports (``agentload_replay``) and merged on the master; ``totals()`` is
final.json's ``replay``.
"""

from __future__ import annotations

from locust.runners import MasterRunner, WorkerRunner

import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import gevent
from gevent import getcurrent

from agentload.apis.lengths import Synthetic
from agentload.apis.load import load_description
from agentload.errors import ConfigError
from agentload.locust import llm_metrics, open_model, request_log, send_window
from agentload.locust.entries import fire
from agentload.locust.hooks import listen
from agentload.locust.settings import api_option, settings
from agentload.locust.tasks import run_scenario
from agentload.metrics import latency
from agentload.scenarios.plan import ApiPlan, RunScenario
from agentload.scenarios.replay import (
    Item,
    Prompts,
    ReplayPlan,
    TokenRule,
    assign_scenarios,
    check_scenarios,
    pool_size,
    resolve_replay,
    row_values,
    schedule,
    share,
)
from agentload.scenarios.synthetic import SyntheticDataset, load_synthetic
from agentload.scenarios.traces import Trace, load_trace
from agentload.stock.lookup import PACKAGE_DATA

LATE_AFTER_S = open_model.LATE_AFTER_S
ORIGIN_OPTION = "agentload_replay_origin"  # the master's parsed option the workers receive
REPORT_KEY = "agentload_replay"
SHAPE_NAME = "ReplayShape"
MAX_SPAWN_RATE = 100.0  # users per second and process (Locust warns past it)
SPIN_S = 0.0015  # the end of a wait spent yielding, not sleeping (see _wait_until)


@dataclass
class Replay:
    """This process's replay: the plan, the trace, its items and, once a test starts, its share."""

    plan: ReplayPlan
    trace: Trace
    items: list[Item]
    users: int
    queue: deque[Item] = field(default_factory=deque)
    origin: float = 0.0  # the schedule's origin, a time.perf_counter() value
    pending: dict[Any, float] = field(default_factory=dict)  # greenlet -> its call's due (unix)
    delta: Any = field(default_factory=latency.new)  # send errors since the last report
    total: Any = field(default_factory=latency.new)  # every send error of the test
    _prompts: dict[str, Prompts] = field(default_factory=dict)

    @property
    def api(self) -> ApiPlan:
        """The run's plan (resolved at ``init`` by the plugin, read once users may run)."""
        return settings().plan

    @cached_property
    def scenarios(self) -> tuple[str, ...]:
        """Each row's scenario (:func:`agentload.scenarios.replay.assign_scenarios`)."""
        return assign_scenarios(self.trace, self.api.weights(), self.api.seed)

    @property
    def spawn_rate(self) -> float:
        return min(float(self.users * 4), MAX_SPAWN_RATE * self.plan.processes)

    @property
    def lead_s(self) -> float:
        """How far ahead of the test's start the schedule begins: the pool's spawn, and 0.5 s."""
        return 0.5 + self.users / self.spawn_rate

    @cached_property
    def end_s(self) -> float:
        """When the last row is due, from the test's start."""
        last = max((self.trace.rows[i].offset_s for item in self.items for i in item.rows[-1:]),
                   default=0.0)  # fmt: skip
        return self.lead_s + last / self.plan.speed

    @cached_property
    def stop_s(self) -> float:
        """The bound of the test: the last row plus the longest call it may make, at most
        ``max_duration_s`` (with the lead)."""
        longest = max(self.api.scenarios[name].timeout_s for name in set(self.scenarios))
        bounded = min(self.end_s + longest, self.lead_s + self.plan.max_duration_s)
        return max(bounded, self.end_s)

    def start(self, origin_unix: float, index: int) -> None:
        """This process's share of the items, the schedule's origin (its rows' scenarios
        drawn now, before the first is due)."""
        assert self.scenarios
        self.queue = deque(share(self.items, index, self.plan.processes))
        self.origin = time.perf_counter() + (origin_unix - time.time())
        self.pending.clear()

    def call(self, index: int) -> tuple[RunScenario, float]:
        """Row ``index``'s scenario with the row's values over its vars, and when it is due."""
        scenario = self.api.scenarios[self.scenarios[index]]
        row = self.trace.rows[index]
        values = row_values(row, self._prompts_for(scenario))
        if values:
            scenario = replace(scenario, vars={**scenario.vars, **values})
        return scenario, self.origin + row.offset_s / self.plan.speed

    def _prompts_for(self, scenario: RunScenario) -> Prompts:
        """The scenario's own token rule when its rows are synthetic, else the ``words`` rule
        (the embedded engine's count) over the synthetic prompts' corpus."""
        if scenario.name not in self._prompts:
            dataset = scenario.dataset
            rule: TokenRule = (
                dataset.rule if isinstance(dataset, SyntheticDataset) else _default_rule()
            )
            self._prompts[scenario.name] = Prompts(rule, self.api.seed)
        return self._prompts[scenario.name]


_replay: Replay | None = None
_words: TokenRule | None = None


def current() -> Replay | None:
    """This process's replay (None unless its shape is the replay shape)."""
    return _replay


def _default_rule() -> TokenRule:
    global _words
    if _words is None:
        spec = Synthetic.model_validate(
            {"prompt_tokens": 1, "output_tokens": 1, "tokenizer": "words", "samples": 1}
        )
        _words = load_synthetic(spec, PACKAGE_DATA).rule
    return _words


def run_item(user: Any, item: Item) -> None:
    """Send the item's rows in order, each at its time (a session's row after the previous)."""
    replay = _replay
    assert replay is not None
    for index in item.rows:
        scenario, due = replay.call(index)
        lag = _wait_until(due)
        if lag > replay.plan.max_lag_s:
            _drop(user, scenario, due, lag, replay.plan.max_lag_s)
            continue
        if lag > LATE_AFTER_S:
            open_model.count("late", due)
        open_model.count("sent", due)
        me = getcurrent()
        replay.pending[me] = time.time() - (time.perf_counter() - due)
        try:
            run_scenario(user, scenario, started_at=due)
        finally:
            replay.pending.pop(me, None)


def _wait_until(due: float) -> float:
    """Sleep until ``due`` (perf_counter); how late it is then (s). The event loop's timers
    wake up to a millisecond late (libev rounds its wait up to whole ms), so the sleep ends
    ``SPIN_S`` early and the rest is spent yielding to the other greenlets (``sleep(0)``)."""
    remaining = due - time.perf_counter()
    while remaining > SPIN_S:
        gevent.sleep(remaining - SPIN_S)
        remaining = due - time.perf_counter()
    while remaining > 0:
        gevent.sleep(0)
        remaining = due - time.perf_counter()
    return -remaining


def _drop(user: Any, scenario: RunScenario, due: float, lag: float, max_lag: float) -> None:
    """A row given up: a failure of its scenario's entry, as the open model's dropped arrivals
    (outside the run's send window when its time is)."""
    open_model.count("dropped", due)
    reason = f"arrival dropped: {lag:.2f}s late (max_lag_s {max_lag:g})"
    method, path = scenario.entry.split(" ", 1)
    counted = send_window.WINDOW.enter(send_window.unix_of(due))
    try:
        fire(user, method, path, lag * 1000, reason)
        request_log.dropped(scenario.name, scenario.entry, lag, reason)
        llm_metrics.count_goodput(scenario.name, False, lag * 1000, None)
    finally:
        if not counted:
            send_window.WINDOW.leave()


def totals(arrivals: dict[str, int]) -> dict[str, Any] | None:
    """final.json's ``replay``: the send errors' histogram (HdrHistogram text, µs) and count,
    and what became of every row (``arrivals``, the live counts: a warm-up or cool-down leaves
    rows out of the figures, not out of the trace)."""
    if _replay is None:
        return None
    return {"calls": latency.count(_replay.total), "send_error": latency.encode(_replay.total),
            "rows": dict(arrivals)}  # fmt: skip


def _on_init(environment: Any, **_kw: Any) -> None:
    global _replay
    shape = environment.shape_class
    if shape is None or type(shape).__name__ != SHAPE_NAME:
        return
    options = environment.parsed_options
    try:  # the description's scenarios (the plugin's settings may come after this listener)
        plan = resolve_replay(os.environ.get("AGENTLOAD_SHAPE"))
        description, _ = load_description(getattr(options, "api", "") or api_option())
        trace = load_trace(plan.trace)
        check_scenarios(trace, list(description.scenarios))
    except ConfigError as exc:  # one line on stderr, exit 2 before any user starts
        sys.stderr.write(f"agentload: {exc}\n")
        sys.stderr.flush()
        raise SystemExit(2) from None
    items = schedule(trace, plan.speed, plan.max_duration_s)
    _replay = Replay(plan, trace, items, pool_size(trace, items, plan))
    listen("request", _on_request)  # only a replay's requests pay for it


def _on_test_start(environment: Any, **_kw: Any) -> None:
    replay = _replay
    if replay is None:
        return
    replay.delta, replay.total = latency.new(), latency.new()
    runner, options = environment.runner, environment.parsed_options
    if not isinstance(runner, WorkerRunner):
        setattr(options, ORIGIN_OPTION, time.time() + replay.lead_s)
    origin = getattr(options, ORIGIN_OPTION, None) or time.time() + replay.lead_s
    send_window.WINDOW.open(float(origin))  # warm-up and cool-down count from the first row
    if isinstance(runner, MasterRunner):
        return
    index = max(0, int(getattr(runner, "worker_index", 0) or 0))
    replay.start(float(origin), index)


def _on_request(start_time: float | None = None, **_kw: Any) -> None:
    replay = _replay
    if replay is None or start_time is None:
        return
    due = replay.pending.pop(getcurrent(), None)
    if due is None:  # not a replayed call's first request
        return
    error_ms = (float(start_time) - due) * 1000.0
    latency.record(replay.delta, error_ms)
    latency.record(replay.total, error_ms)


def _on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
    replay = _replay
    if replay is None or not latency.count(replay.delta):
        return
    data[REPORT_KEY] = latency.encode(replay.delta)
    replay.delta = latency.new()


def _on_worker_report(client_id: str, data: dict[str, Any]) -> None:
    replay = _replay
    if replay is not None and data.get(REPORT_KEY):
        replay.total = latency.merge([replay.total, latency.decode(data[REPORT_KEY])])


listen("init", _on_init)
listen("test_start", _on_test_start)
listen("report_to_master", _on_report_to_master)
listen("worker_report", _on_worker_report)
