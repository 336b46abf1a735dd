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

from agentload.locust import open_model
from agentload.locust.settings import settings


class OpenModelShape(LoadTestShape):
    """A pool of open-model users for the plan's duration, grown (bounded) on late arrivals."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._pool = open_model.LatePool()

    def tick(self) -> tuple[int, float] | None:
        plan = settings().open_model
        run_time = self.get_run_time()  # type: ignore[no-untyped-call]
        if run_time >= plan.duration_s:
            return None
        users = self._pool.size(run_time, plan.users, plan.max_users)
        return users, float(max(users, 1))
