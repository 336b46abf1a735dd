"""agentload's Locust users for the agent API (scenarios A, B, C, mixed and open model).

    locust -f locustfiles/ --host http://127.0.0.1:8000                 # web UI, pick classes
    locust -f locustfiles/agents.py --headless -u 10 -r 5 -t 1m \\
        --host http://127.0.0.1:8000 --scenario-config scenarios/smoke.toml MixedAgentUser

- ``StatusUser`` (A): ``GET /v1/status``.
- ``CodegenUser`` (B): ``POST /v1/agents/codegen``; a ``stream_share`` of the calls streamed
  (``TTFT``/``TPOT codegen`` entries).
- ``ResearchUser`` (C): submit, poll ``GET /v1/jobs/{job_id}``, ``TTC research`` entry.
- ``MixedAgentUser``: A, B and C by the scenario config's weights.
- ``OpenModelUser``: requests on an arrival schedule, latency from the intended start
  (pair it with ``agentload/shapes/open_model.py``).

Think time, datasets, deadlines and seed come from ``--scenario-config``; the API key from
``AGENT_API_KEY``.
"""

from locust import FastHttpUser, constant, task

from typing import Any

import agentload.locust  # noqa: F401  (registers the plugin's options and listeners)
from agentload.locust import actions
from agentload.locust.open_model import ArrivalClock
from agentload.locust.plugin import api_key, settings, user_rng


class AgentUser(FastHttpUser):
    """Shared set-up: bearer key, per-user seeded generator, think time from the config."""

    abstract = True

    def __init__(self, environment: Any) -> None:
        self.default_headers = {"Authorization": f"Bearer {api_key()}"}
        self.network_timeout = settings().config.codegen.timeout_s
        super().__init__(environment)
        self.config = settings().config
        self.rng = user_rng(environment)

    def wait_time(self) -> float:
        think = self.config.file.think_time
        return self.rng.uniform(think.min_s, think.max_s)

    def run_status(self) -> None:
        actions.status(self)

    def run_codegen(self) -> None:
        assert self.config.prompts is not None  # checked at init for the selected classes
        stream = self.rng.random() < self.config.codegen.stream_share
        actions.codegen(self, self.next_prompt(), stream=stream)

    def next_prompt(self) -> str:
        """A prompt from the dataset, tagged (seeded) when the config asks for unique prompts."""
        assert self.config.prompts is not None
        prompt = self.config.prompts.pick(self.rng)
        if self.config.codegen.unique_prompts:
            prompt = f"{prompt} (request {self.rng.getrandbits(48):012x})"
        return prompt

    def run_research(self) -> None:
        assert self.config.questions is not None  # checked at init for the selected classes
        actions.research(self, self.config.questions.pick(self.rng))


class StatusUser(AgentUser):
    """Scenario A: the agent manager's status, high volume and cheap."""

    @task
    def status(self) -> None:
        self.run_status()


class CodegenUser(AgentUser):
    """Scenario B: code generation, plain and streamed."""

    @task
    def codegen(self) -> None:
        self.run_codegen()


class ResearchUser(AgentUser):
    """Scenario C: a deep-research job from submission to its end."""

    @task
    def research(self) -> None:
        self.run_research()


class MixedAgentUser(AgentUser):
    """A, B and C in one user, drawn by the scenario config's weights."""

    @task
    def mixed(self) -> None:
        weights = self.config.weights()
        scenario = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        getattr(self, f"run_{scenario}")()


class OpenModelUser(AgentUser):
    """Requests on an arrival schedule (constant or Poisson), timed from the intended start."""

    wait_time = constant(0)  # the arrival clock does the waiting

    def on_start(self) -> None:
        self.plan = settings().open_model
        self.clock = ArrivalClock(self.plan, self.rng)

    @task
    def arrive(self) -> None:
        started_at = self.clock.next_start()
        if self.plan.scenario == "status":
            actions.status(self, started_at=started_at)
        else:
            actions.codegen(self, self.next_prompt(), started_at=started_at)
