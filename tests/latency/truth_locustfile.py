"""Users for the ground-truth runs: one class per path of tests/servers/latency_truth.py.

Each user first opens its keep-alive connection (``GET /ok``: the TCP connect and the server's
new thread are latency the server cannot measure), then sends requests back to back for
``TRUTH_LOAD_S`` seconds and idles, so no request is in flight when Locust stops: the client and
the server see the same requests.
With ``TRUTH_RAW_DIR`` set, every process also keeps the raw response times Locust reported
(``[[entry, ms, failed], ...]``) and writes them to ``raw-<pid>.json`` when it quits, so a test
can compute their exact order statistics.
"""

from __future__ import annotations

from locust import FastHttpUser, constant, events, task

import json
import os
import time
from pathlib import Path
from typing import Any

import gevent

import agentload.locust  # noqa: F401 (registers the plugin: histograms, timeline)

LOAD_S = float(os.environ.get("TRUTH_LOAD_S", "6"))
RAW_DIR = os.environ.get("TRUTH_RAW_DIR", "")
_raw: list[tuple[str, float, bool]] = []


@events.request.add_listener
def _keep_raw(
    request_type: str, name: str, response_time: float, exception: Any, **_kw: Any
) -> None:
    _raw.append((f"{request_type} {name}", response_time, exception is not None))


@events.quitting.add_listener
def _write_raw(**_kw: Any) -> None:
    if RAW_DIR and _raw:
        (Path(RAW_DIR) / f"raw-{os.getpid()}.json").write_text(json.dumps(_raw))


class _TruthUser(FastHttpUser):
    abstract = True
    path = "/"
    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.get("/ok")  # opens the keep-alive connection: no connect time in the paths
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
