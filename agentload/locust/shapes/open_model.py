"""The open-model shape: a pool of ``OpenModelUser`` for the arrival rate, grown while arrivals
run late, then stop.

Use it with ``OpenModelUser`` only (``agentload run rate`` does)::

    locust -f locustfiles/agents.py,agentload/locust/shapes/open_model.py --headless \\
        --host http://127.0.0.1:8000 \\
        --scenario-config scenarios/default.toml OpenModelUser

The plan comes from the scenario config's ``[open_model]`` table, overridden by the runner's
``AGENTLOAD_SHAPE`` JSON (``{"rate_per_s": 50, "arrival": "poisson", "duration_s": 60,
"users": 0, "max_lag_s": 5, "max_users": 1000, "processes": 1}``; ``users`` 0 sizes the pool as
rate x expected latency x 4). The pool is spawned within a second and held for ``duration_s``;
the arrival rate, not the number of users, sets the load (the users of a process share its
schedule). Each second, if arrivals ran late in that second (every user was busy), the pool
grows by half (at least one user), up to ``max_users``: late arrivals are still measured from
their intended start, so growing the pool changes no figure, it only keeps up with the rate.
"""

from __future__ import annotations

from locust import LoadTestShape

import math

from agentload.locust import open_model
from agentload.locust.settings import settings

GROWTH = 1.5


class OpenModelShape(LoadTestShape):
    """A pool of open-model users for the plan's duration, grown (bounded) on late arrivals."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._users = 0
        self._late = 0
        self._checked = 0.0

    def tick(self) -> tuple[int, float] | None:
        plan = settings().open_model
        run_time = self.get_run_time()  # type: ignore[no-untyped-call]
        if run_time >= plan.duration_s:
            return None
        if not self._users:
            self._users = plan.users
        elif run_time - self._checked >= 1.0:
            self._checked = run_time
            late = open_model.totals(None)["late"]
            if late > self._late and self._users < plan.max_users:
                grown = max(self._users + 1, math.ceil(self._users * GROWTH))
                self._users = min(plan.max_users, grown)
            self._late = late
        return self._users, float(max(self._users, 1))
