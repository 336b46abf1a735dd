"""Shared pieces of the target-service drills: environment, admin faults, metrics, PIDs, waits.

service_env(**extra) -> env       a quick engine, no prompt cache, an admin key
set_faults(url, **change)         POST /admin/faults with the admin key
scrape(url) -> Samples            parsed /metrics: samples[name][labels] -> value
child_pid(service, "api") -> int  a child's PID from the supervisor's start lines
wait_for(predicate, timeout, what)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support import API_KEY, RunningService

ADMIN_KEY = "drill-admin-key-0123"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
CODEGEN = "/v1/agents/codegen"
RESEARCH = "/v1/agents/research"
# About 60 ms a completion, valid code only: outcomes only change when a drill says so.
QUICK_ENGINE = {
    "ENGINE_TTFT_MS": "20",
    "ENGINE_OUTPUT_TOKENS": "16",
    "ENGINE_TOKENS_PER_S": "400",
    "ENGINE_INVALID_RATE": "0",
    "ENGINE_SEED": "7",
}

Samples = dict[str, dict[frozenset[tuple[str, str]], float]]


def service_env(**extra: str) -> dict[str, str]:
    """Environment for a drill's target: quick engine, no cache, `/admin/faults` enabled."""
    return {
        **QUICK_ENGINE,
        "AGENT_ADMIN_KEY": ADMIN_KEY,
        "AGENT_CACHE_SIZE": "0",
        "AGENT_STATUS_CACHE_S": "0",
        **extra,
    }


def set_faults(url: str, **change: Any) -> dict[str, Any]:
    """Change the target's injected faults at run time; the faults now in force."""
    response = httpx.post(f"{url}/admin/faults", json=change, headers=ADMIN_AUTH, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def scrape(url: str) -> Samples:
    """GET url/metrics, parsed."""
    response = httpx.get(f"{url}/metrics", timeout=10)
    response.raise_for_status()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def metric(samples: Samples, name: str, **labels: str) -> float:
    """The value of `name{labels}` (0.0 when absent)."""
    return samples.get(name, {}).get(frozenset(labels.items()), 0.0)


def child_pid(service: RunningService, child: str) -> int:
    """The PID the supervisor printed for `child` ("api" or "engine")."""
    match = re.search(rf"target_service: {child} pid=(\d+)", service.log())
    assert match, f"no {child} pid line in the target's log:\n{service.log()}"
    return int(match[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `predicate` every 0.1 s; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        time.sleep(0.1)
