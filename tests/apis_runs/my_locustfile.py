"""A user's own locustfile, as `agentload init` writes one: one class, one recorded outcome."""

from locust import FastHttpUser, between, task

from agentload.locust import record_entry, record_outcome


class AskUser(FastHttpUser):
    """Reads the embedded API's status and judges it itself."""

    wait_time = between(0.2, 0.4)

    @task
    def ask(self) -> None:
        key = {"Authorization": "Bearer agentload-dev-key"}
        with self.client.get("/v1/status", headers=key, catch_response=True) as resp:
            ok = resp.status_code == 200 and "status" in resp.text
        record_outcome(self, "ask", "success" if ok else "invalid")
        record_entry(self, "TTC", "ask", resp.request_meta["response_time"])


class IdleUser(FastHttpUser):
    """Not selected in the test: --user-class picks AskUser only."""

    @task
    def idle(self) -> None:
        self.client.get("/healthz")
