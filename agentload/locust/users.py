"""Locust users that run an API description's scenarios (the shipped locustfile exports them).

- ``MixedAgentUser``: each task one scenario, drawn by the run's weights, then that scenario's
  think time.
- ``OpenModelUser``: calls on an arrival schedule (constant or Poisson), latency from the
  intended start (pair it with ``agentload/locust/shapes/open_model.py``).
- ``ReplayUser``: a trace's rows, each one call at its time (pair it with
  ``agentload/locust/shapes/replay.py``; :mod:`agentload.locust.replay`).
- one ``<Name>User`` per scenario of the description (``chat`` -> ``ChatUser``), weighted by the
  scenario's weight: selectable in Locust's web UI.
"""

from __future__ import annotations

from locust import FastHttpUser, constant, task
from locust.exception import StopUser

import time
from typing import Any

from agentload.apis.model import ThinkTime
from agentload.locust import llm_metrics, replay, request_log, send_window
from agentload.locust.entries import fire
from agentload.locust.open_model import shared_clock
from agentload.locust.sessions import OPEN, tear_down
from agentload.locust.settings import settings, user_rng
from agentload.locust.tasks import run_scenario
from agentload.scenarios.plan import RunScenario, user_class_name


class AgentUser(FastHttpUser):
    """Shared set-up: the description's headers, a seeded generator, the scenario's think time."""

    abstract = True

    def __init__(self, environment: Any) -> None:
        loaded = settings()
        self.default_headers = dict(loaded.headers)
        self.network_timeout = loaded.network_timeout
        super().__init__(environment)
        self.plan = loaded.plan
        self.rng = user_rng(environment)
        self._think: ThinkTime = self.plan.active()[0].think_time

    def wait_time(self) -> float:
        return self.rng.uniform(self._think.min_s, self._think.max_s)

    def call(self, scenario: RunScenario, started_at: float | None = None) -> None:
        """One task of ``scenario`` (a call or a session); its think time follows."""
        self._think = scenario.think_time
        run_scenario(self, scenario, started_at)

    def on_stop(self) -> None:
        """A session the run's end cut off is torn down (delete the thread, end the session)."""
        session = getattr(self, OPEN, None)
        if session is not None:
            tear_down(self, session)


class MixedAgentUser(AgentUser):
    """Every scenario of the run in one user, drawn by the run's weights."""

    @task
    def mixed(self) -> None:
        active = self.plan.active()
        scenario = self.rng.choices(active, weights=[sc.weight for sc in active])[0]
        self.call(scenario)


class OpenModelUser(AgentUser):
    """Calls on an arrival schedule (constant or Poisson), timed from the intended start."""

    wait_time = constant(0)  # the arrival clock does the waiting
    agentload_open_model = True  # starts only when named or with the open-model shape

    def on_start(self) -> None:
        self.open_plan = settings().open_model
        self.clock = shared_clock(self.open_plan, self.rng)

    @task
    def arrive(self) -> None:
        started_at, dropped = self.clock.next_start()
        scenario = self.plan.scenarios[self.open_plan.scenario]
        for lag in dropped:  # arrivals given up count as failures of the entry
            reason = f"arrival dropped: {lag:.2f}s late (max_lag_s {self.open_plan.max_lag_s:g})"
            method, path = scenario.entry.split(" ", 1)
            counted = send_window.WINDOW.enter(time.time() - lag)  # its intended start
            fire(self, method, path, lag * 1000, reason)
            request_log.dropped(scenario.name, scenario.entry, lag, reason)
            llm_metrics.count_goodput(scenario.name, False, lag * 1000, None)
            if not counted:
                send_window.WINDOW.leave()
        if started_at is None:  # the schedule is over: nothing more to send
            raise StopUser()
        run_scenario(self, scenario, started_at=started_at)


class ReplayUser(AgentUser):
    """A trace's rows, each one call at its time (a session's rows in order), timed from it."""

    wait_time = constant(0)  # the trace's times do the waiting
    agentload_open_model = True  # starts only when named (with the replay shape)

    @task
    def next_item(self) -> None:
        current = replay.current()
        item = current.queue.popleft() if current is not None and current.queue else None
        if item is None:  # this process's share of the trace is over
            raise StopUser()
        replay.run_item(self, item)


def class_name(scenario: str) -> str:
    """``long-report`` -> ``LongReportUser``."""
    return user_class_name(scenario)


def scenario_users(names: list[str]) -> dict[str, type[AgentUser]]:
    """One user class per scenario name, for a locustfile's globals."""
    classes: dict[str, type[AgentUser]] = {}
    for name in names:

        def one(self: AgentUser, _name: str = name) -> None:
            self.call(self.plan.scenarios[_name])

        one.__name__ = name.replace("-", "_")
        cls_name = class_name(name)
        attrs = {
            "tasks": [one],
            "agentload_scenario": name,
            "__doc__": f"Only the {name!r} scenario.",
            "__module__": __name__,
        }
        classes[cls_name] = type(cls_name, (AgentUser,), attrs)
    return classes
