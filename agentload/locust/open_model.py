"""Open-model pacing for ``OpenModelUser``: wait for the next intended arrival, count lateness.

Each user follows its own :class:`agentload.scenarios.arrivals.ArrivalSchedule` at
``rate_per_s / users``. ``ArrivalClock.next_start()`` sleeps until the next intended start and
returns it (a ``time.perf_counter()`` value); the user measures the request's latency *from that
instant*, so time spent waiting for a stalled server counts. An arrival that comes while the user
is still busy with the previous request is sent at once and counted ``late``; one that is more
than ``max_lag_s`` overdue is skipped and counted ``dropped`` (the pool is too small for the
rate, or the server has stalled for longer than ``max_lag_s``); the user records each dropped
arrival as a failure of its scenario's entry, its latency the lag at which it was given up.
``totals(environment) -> {"late", "dropped", "sent"}``, summed over workers on the master.
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent

from agentload.locust.counters import DistributedCounters
from agentload.scenarios.arrivals import ArrivalSchedule, OpenModelPlan

LATE_AFTER_S = 0.01
_GROUP = "open_model"
_COUNTERS = DistributedCounters("agentload_open_model")


def totals(environment: Any) -> dict[str, int]:
    """Cumulative ``late``, ``dropped`` and ``sent`` arrivals of the test."""
    counts = _COUNTERS.totals().get(_GROUP, {})
    return {key: counts.get(key, 0) for key in ("late", "dropped", "sent")}


class ArrivalClock:
    """One user's arrival schedule, anchored when the user starts."""

    def __init__(self, plan: OpenModelPlan, rng: random.Random) -> None:
        self._schedule = ArrivalSchedule(plan.arrival, plan.per_user_rate, rng)
        self._max_lag_s = plan.max_lag_s
        self._origin = time.perf_counter()
        self.dropped: list[float] = []

    def next_start(self) -> float:
        """Sleep until the next arrival that is not dropped; return its intended start. The lags
        (s) of the arrivals dropped on the way are in ``dropped`` until the next call."""
        self.dropped = []
        while True:
            intended = self._origin + self._schedule.next_offset()
            lag = time.perf_counter() - intended
            if lag <= 0:
                gevent.sleep(-lag)
                break
            if lag > self._max_lag_s:
                _COUNTERS.add(_GROUP, "dropped")
                self.dropped.append(lag)
                continue
            if lag > LATE_AFTER_S:
                _COUNTERS.add(_GROUP, "late")
            break
        _COUNTERS.add(_GROUP, "sent")
        return intended
