"""Your own Locust users, run through agentload's phases, gates, summary and report:

    agentload run profiles/my-smoke.toml --locustfile locustfiles/my_locustfile.py

As written, it calls the embedded demo API (what `agentload run` starts when no --host is given):
change the path, the body and the checks to your API's, and add tasks. Plain Locust: any
HttpUser or FastHttpUser works; `record_outcome` tells agentload whether the agent's task
succeeded (the `agent_success_rate(SCENARIO)` gates and the report follow the names you use), and
`record_entry(self, "TTFT", "ask", ms)` adds a timing entry. Without them you still get every
HTTP gate (error rate, P95 per entry).
"""

from locust import FastHttpUser, between, task

import os

from agentload.locust import record_outcome

API_KEY = os.environ.get("AGENT_API_KEY", "agentload-dev-key")  # your secret: from the environment


class MyAgentUser(FastHttpUser):
    """One user of your API: a call, a check of the answer, a think time."""

    wait_time = between(0.5, 1.0)

    @task
    def ask(self) -> None:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with self.client.get(
            "/v1/status", headers=headers, name="GET /v1/status", catch_response=True
        ) as resp:
            try:
                answer = resp.json()
            except ValueError:  # not JSON (an HTML error page, a cut-off body)
                answer = None
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                outcome = "error"
            elif not isinstance(answer, dict) or "status" not in answer:
                resp.failure("answer has no 'status'")  # answered, but not what it should
                outcome = "invalid"
            else:
                outcome = "success"
        record_outcome(self, "ask", outcome)  # success | invalid | error | timeout | rejected
