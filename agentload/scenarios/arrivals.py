"""Open-model arrivals: the plan (rate, pool, duration) and a per-user arrival schedule. Pure.

The open model issues requests on a schedule instead of "next request when the last one
answered", and measures each latency from the *intended* start, so a server stall shows up in the
percentiles instead of silently slowing the load (coordinated omission).

- ``resolve_plan(cfg, shape_json)`` merges the scenario config's ``[open_model]`` table with the
  runner's ``AGENTLOAD_SHAPE`` JSON (keys ``rate_per_s``, ``arrival``, ``users``, ``duration_s``,
  ``max_lag_s``, and the runner's ``max_users`` and ``processes``; the JSON wins) and sizes the
  user pool (``users`` 0: rate x expected latency x 4, bounded by ``max_users``).
- ``ArrivalSchedule`` gives the intended start offsets of one load-generating process: its
  share of the rate (``rate_per_s / processes``), taken by whichever of its users is free, as
  k6's arrival-rate executors do; so the pool can grow without changing the rate.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from agentload.errors import ConfigError
from agentload.scenarios.config import OpenModel

HEADROOM = 4.0
MAX_POOL = 2000
_SHAPE_KEYS = ("scenario", "arrival", "rate_per_s", "duration_s", "users", "max_lag_s")
_RUNNER_KEYS = ("max_users", "processes")


@dataclass(frozen=True)
class OpenModelPlan:
    """What the open-model shape runs and each OpenModelUser follows."""

    scenario: str
    arrival: Literal["constant", "poisson"]
    rate_per_s: float
    duration_s: float
    users: int
    max_lag_s: float
    max_users: int = MAX_POOL
    processes: int = 1

    @property
    def per_user_rate(self) -> float:
        return self.rate_per_s / self.users

    @property
    def per_process_rate(self) -> float:
        """The rate one load-generating process keeps (its users share it)."""
        return self.rate_per_s / self.processes


def pool_size(rate_per_s: float, expected_latency_s: float) -> int:
    """Users needed to keep ``rate_per_s`` going at ``expected_latency_s`` with 4x headroom."""
    return max(2, min(MAX_POOL, math.ceil(rate_per_s * expected_latency_s * HEADROOM)))


def resolve_plan(cfg: OpenModel, shape_json: str | None = None) -> OpenModelPlan:
    """The plan from the config, overridden by the ``AGENTLOAD_SHAPE`` JSON when given."""
    merged: dict[str, Any] = cfg.model_dump()
    runner: dict[str, int] = {}
    if shape_json:
        try:
            override = json.loads(shape_json)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"AGENTLOAD_SHAPE: not JSON ({exc}), expected an object") from None
        if not isinstance(override, dict):
            raise ConfigError("AGENTLOAD_SHAPE: expected a JSON object")
        merged.update({k: v for k, v in override.items() if k in _SHAPE_KEYS})
        for key in _RUNNER_KEYS:
            value = override.get(key)
            if value is not None:
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ConfigError(f"AGENTLOAD_SHAPE: {key} {value!r}, expected an integer >= 1")
                runner[key] = value
    try:
        final = OpenModel.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(
            f'open_model field "{field}": got {err.get("input")!r}, {err["msg"].lower()}'
        ) from None
    max_users = runner.get("max_users", MAX_POOL)
    users = min(max_users, final.users or pool_size(final.rate_per_s, final.expected_latency_s))
    return OpenModelPlan(
        scenario=final.scenario,
        arrival=final.arrival,
        rate_per_s=final.rate_per_s,
        duration_s=final.duration_s,
        users=users,
        max_lag_s=final.max_lag_s,
        max_users=max(users, max_users),
        processes=runner.get("processes", 1),
    )


class ArrivalSchedule:
    """Intended start offsets (seconds from the schedule's start) of one process's requests."""

    def __init__(
        self, arrival: Literal["constant", "poisson"], rate_per_s: float, rng: random.Random
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
        self._arrival = arrival
        self._rate = rate_per_s
        self._rng = rng
        if arrival == "constant":
            self._next = rng.uniform(0.0, 1.0 / rate_per_s)  # a random phase per process
        else:
            self._next = rng.expovariate(rate_per_s)

    def next_offset(self) -> float:
        """The next intended start, then advance the schedule."""
        current = self._next
        if self._arrival == "constant":
            self._next = current + 1.0 / self._rate
        else:
            self._next = current + self._rng.expovariate(self._rate)
        return current
