"""Users for the ground-truth runs: one class per path of tests/servers/latency_truth.py.

Each user sends requests back to back for ``TRUTH_LOAD_S`` seconds after it starts, then idles,
so no request is in flight when Locust stops: the client and the server see the same requests.
"""

from __future__ import annotations

from locust import FastHttpUser, constant, task

import os
import time

import gevent

import agentload.locust  # noqa: F401 (registers the plugin: histograms, timeline)

LOAD_S = float(os.environ.get("TRUTH_LOAD_S", "6"))


class _TruthUser(FastHttpUser):
    abstract = True
    path = "/"
    wait_time = constant(0)

    def on_start(self) -> None:
        self.stop_at = time.monotonic() + LOAD_S

    @task
    def call(self) -> None:
        if time.monotonic() >= self.stop_at:
            gevent.sleep(0.5)
            return
        self.client.get(self.path)


class FixedUser(_TruthUser):
    path = "/fixed"


class UniformUser(_TruthUser):
    path = "/uniform"


class BimodalUser(_TruthUser):
    path = "/bimodal"


class MixedUser(_TruthUser):
    path = "/mixed"
