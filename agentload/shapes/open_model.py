"""The open-model shape: hold a pool of ``OpenModelUser`` sized for the arrival rate, then stop.

Use it with ``OpenModelUser`` only::

    locust -f agentload/data/locustfiles/agents.py,agentload/shapes/open_model.py --headless \\
        --host http://127.0.0.1:8000 \\
        --scenario-config agentload/data/scenarios/default.toml OpenModelUser

The plan comes from the scenario config's ``[open_model]`` table, overridden by the runner's
``AGENTLOAD_SHAPE`` JSON (``{"rate_per_s": 50, "arrival": "poisson", "duration_s": 60,
"users": 0, "max_lag_s": 5}``; ``users`` 0 sizes the pool as rate x expected latency x 4).
The pool is spawned within a second and held for ``duration_s``; the arrival rate, not the
number of users, sets the load (each user paces itself at ``rate_per_s / users``).
"""

from __future__ import annotations

from locust import LoadTestShape

from agentload.locust.plugin import settings


class OpenModelShape(LoadTestShape):
    """A constant pool of open-model users for the plan's duration."""

    def tick(self) -> tuple[int, float] | None:
        plan = settings().open_model
        if self.get_run_time() >= plan.duration_s:  # type: ignore[no-untyped-call]
            return None
        return plan.users, float(plan.users)
