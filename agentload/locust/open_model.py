"""Open-model pacing for ``OpenModelUser``: take the next intended arrival, count lateness.

Each load-generating process keeps one :class:`agentload.scenarios.arrivals.ArrivalSchedule` at
its share of the rate (``rate_per_s / processes``), shared by its users: a free user takes the
next arrival, sleeps until its intended start and returns it (a ``time.perf_counter()`` value);
the user measures the request's latency *from that instant*, so time spent waiting for a stalled
server counts. An arrival whose time has passed when a user takes it (every user was busy) is
sent at once and counted ``late``; one more than ``max_lag_s`` overdue is skipped and counted
``dropped`` (the pool is too small for the rate, or the server has stalled for longer than
``max_lag_s``); the user records each dropped arrival as a failure of its scenario's entry, its
latency the lag at which it was given up. The open-model shape grows the pool (bounded by
``max_users``) while arrivals run late.
``totals(environment) -> {"late", "dropped", "sent"}``, summed over workers on the master (every
arrival; those intended outside the run's window are also counted apart, see
:mod:`agentload.locust.send_window`).
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

import gevent

from agentload.locust import send_window
from agentload.locust.counters import DistributedCounters
from agentload.locust.hooks import listen
from agentload.scenarios.arrivals import ArrivalSchedule, OpenModelPlan

LATE_AFTER_S = 0.01
_GROUP = "open_model"
OUTSIDE_PREFIX = "arrivals:"  # the group of send_window's counts of the arrivals outside
_COUNTERS = DistributedCounters("agentload_open_model")


def totals(environment: Any) -> dict[str, int]:
    """Cumulative ``late``, ``dropped`` and ``sent`` arrivals of the test."""
    counts = _COUNTERS.totals().get(_GROUP, {})
    return {key: counts.get(key, 0) for key in ("late", "dropped", "sent")}


def count(name: str, intended: float) -> None:
    """Count one arrival ``late``, ``dropped`` or ``sent`` intended at ``intended`` (a
    ``perf_counter`` value): a trace replay's rows are arrivals too."""
    _count(name, intended)


class LatePool:
    """The size of a shape's user pool: ``first`` users, grown by half (at least one, up to
    ``max_users``) after each second in which arrivals ran late (every user was busy). Late
    arrivals are still timed from their intended start: growing changes no figure."""

    GROWTH = 1.5

    def __init__(self) -> None:
        self.users = 0
        self._late = 0
        self._checked = 0.0

    def size(self, run_time: float, first: int, max_users: int) -> int:
        if not self.users:
            self.users = first
        elif run_time - self._checked >= 1.0:
            self._checked = run_time
            late = totals(None)["late"]
            if late > self._late and self.users < max_users:
                grown = max(self.users + 1, math.ceil(self.users * self.GROWTH))
                self.users = min(max_users, grown)
            self._late = late
        return self.users


class ArrivalClock:
    """One process's arrival schedule, anchored when its first user takes an arrival."""

    def __init__(self, plan: OpenModelPlan, rng: random.Random) -> None:
        self._schedule = ArrivalSchedule(plan.arrival, plan.per_process_rate, rng)
        self._max_lag_s = plan.max_lag_s
        self._origin = time.perf_counter()
        self._end = self._origin + plan.duration_s

    def next_start(self) -> tuple[float | None, list[float]]:
        """Sleep until the next arrival that is not dropped; return its intended start (None when
        the schedule has ended: the plan's duration is over) and the lags (s) of the arrivals
        dropped on the way."""
        dropped: list[float] = []
        while True:
            intended = self._origin + self._schedule.next_offset()
            if intended > self._end:
                return None, dropped
            lag = time.perf_counter() - intended
            if lag <= 0:
                gevent.sleep(-lag)
                break
            if lag > self._max_lag_s:
                _count("dropped", intended)
                dropped.append(lag)
                continue
            if lag > LATE_AFTER_S:
                _count("late", intended)
            break
        _count("sent", intended)
        return intended, dropped


def _count(key: str, intended: float) -> None:
    """Count an arrival; one intended outside the run's window also apart (final.json's
    arrivals are those inside: :mod:`agentload.locust.send_window`)."""
    _COUNTERS.add(_GROUP, key)
    if not send_window.WINDOW.contains(send_window.unix_of(intended)):
        send_window.count_outside(OUTSIDE_PREFIX + _GROUP, key)


_clock: ArrivalClock | None = None


def shared_clock(plan: OpenModelPlan, rng: random.Random) -> ArrivalClock:
    """This process's clock for the current test (made by the first user that asks)."""
    global _clock
    if _clock is None:
        _clock = ArrivalClock(plan, rng)
    return _clock


def _on_test_start(**_kw: Any) -> None:
    global _clock
    _clock = None


listen("test_start", _on_test_start)
