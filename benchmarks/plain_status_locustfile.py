"""Baseline for bench_scenarios.py: a plain FastHttpUser doing scenario A's GET, no bookkeeping."""

from locust import FastHttpUser, constant, task

import os


class PlainStatusUser(FastHttpUser):
    """``GET /v1/status`` with the same bearer header, nothing else."""

    wait_time = constant(0)
    default_headers = {
        "Authorization": f"Bearer {os.environ.get('AGENT_API_KEY') or 'agentload-dev-key'}"
    }

    @task
    def status(self) -> None:
        self.client.get("/v1/status", name="/v1/status")
