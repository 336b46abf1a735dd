"""Users for the worker-steps runs: ``GET /work`` back to back (tests/servers/capacity_truth.py)."""

from locust import FastHttpUser, constant, task


class WorkUser(FastHttpUser):
    """A closed loop without think time: its throughput is what the server's slots allow."""

    wait_time = constant(0)

    @task
    def work(self) -> None:
        self.client.get("/work")
