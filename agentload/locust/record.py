"""What a user's own locustfile calls to feed agentload's gates, summary and report.

    from agentload.locust import record_outcome, record_entry

    class MyUser(FastHttpUser):
        @task
        def ask(self):
            with self.client.post("/ask", json={...}, catch_response=True) as resp:
                ok = resp.status_code == 200 and "answer" in resp.json()
            record_outcome(self, "ask", "success" if ok else "invalid")
            record_entry(self, "TTFT", "ask", ttft_ms)   # or TTC, TPOT: any kind of timing

- ``record_outcome(user_or_environment, scenario, outcome)``: one finished agent task;
  ``outcome`` is ``success``, ``invalid`` (answered, but wrong), ``error``, ``timeout`` or
  ``rejected`` (shed load). ``agent_success_rate(SCENARIO)`` gates and the report follow the
  scenario names you use.
- ``record_entry(user, kind, name, ms, failure="")``: a timing entry ``"<kind> <name>"`` (for
  example ``TTFT ask``), aggregated like any request (percentiles, gates); a non-empty
  ``failure`` marks it failed with that reason.

Classes that record nothing still get every HTTP gate.
"""

from __future__ import annotations

from typing import Any

from agentload.locust import outcomes
from agentload.locust.entries import fire


def record_outcome(user_or_environment: Any, scenario: str, outcome: str) -> None:
    """Count one agent outcome of ``scenario`` (see the module docstring)."""
    environment = getattr(user_or_environment, "environment", user_or_environment)
    outcomes.record(environment, scenario, outcome)


def record_entry(user: Any, kind: str, name: str, ms: float, failure: str = "") -> None:
    """Fire a timing entry ``"<kind> <name>"`` of ``ms`` milliseconds (failed if ``failure``)."""
    if not kind or " " in kind:
        raise ValueError(f"kind {kind!r}: expected one word such as TTFT, TTC or TPOT")
    fire(user, kind, name, ms, failure)
