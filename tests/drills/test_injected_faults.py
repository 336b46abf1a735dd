"""Drill: faults injected from the environment (`AGENT_FAULT_ERROR_RATE`, `AGENT_FAULT_LATENCY_MS`).

The target starts with every agent call failing after an added delay. A real Locust run counts
the 500s as `error` outcomes, the server counts the same calls in
`agent_task_outcomes_total{outcome="error"}`, and each call takes at least the injected latency.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.drills.helpers import (
    ADMIN_AUTH,
    AUTH,
    CODEGEN,
    RESEARCH,
    metric,
    scrape,
    service_env,
    set_faults,
)
from tests.support import ROOT, run_target_service, stop_process

LATENCY_S = 0.3
FAULT_ENV = service_env(
    AGENT_FAULT_ERROR_RATE="1", AGENT_FAULT_LATENCY_MS=str(int(LATENCY_S * 1000))
)


def _locust_codegen(url: str, out: Path, seconds: int) -> dict[str, Any]:
    """A short headless Locust run of CodegenUser against `url`; its final.json."""
    out.mkdir()
    command = [
        str(ROOT / ".venv" / "bin" / "locust"),
        "-f", str(ROOT / "locustfiles" / "agents.py"),
        "--headless", "-u", "2", "-r", "2", "-t", f"{seconds}s", "--host", url,
        "--scenario-config", str(ROOT / "scenarios" / "smoke.toml"),
        "--agentload-out", str(out), "--only-summary", "--stop-timeout", "10", "CodegenUser",
    ]  # fmt: skip
    with (out / "locust.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        process.wait(timeout=seconds + 30)
    finally:
        stop_process(process)  # type: ignore[arg-type]
    text = (out / "locust.log").read_text(errors="replace")
    assert process.returncode == 1, text  # Locust's exit code when requests failed
    assert "Traceback" not in text, text
    return json.loads((out / "final.json").read_text())  # type: ignore[no-any-return]


def _timed_post(
    client: httpx.Client, path: str, body: dict[str, Any]
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.post(path, headers=AUTH, json=body)
    return response, time.perf_counter() - started


def test_environment_faults_give_counted_500s_after_the_added_latency(tmp_path: Path) -> None:
    """AGENT_FAULT_ERROR_RATE=1: every agent call answers 500, Locust and the server count the
    same errors; AGENT_FAULT_LATENCY_MS: each call takes at least the injected latency, also
    once the error rate is set back to 0."""
    with (
        run_target_service(tmp_path, env=FAULT_ENV) as target,
        httpx.Client(base_url=target.url, timeout=30) as client,
    ):
        faults = client.get("/admin/faults", headers=ADMIN_AUTH).json()
        assert faults == {"error_rate": 1.0, "latency_ms": LATENCY_S * 1000, "engine_outage": False}

        final = _locust_codegen(target.url, tmp_path / "locust", seconds=4)
        entry = final["entries"]["POST /v1/agents/codegen"]
        assert entry["requests"] > 0 and entry["failures"] == entry["requests"], entry
        assert final["outcomes"]["codegen"] == {"error": entry["requests"]}, final["outcomes"]
        assert entry["failed"]["p50_ms"] >= LATENCY_S * 1000, entry  # all failed: their own P50

        calls = [
            _timed_post(client, CODEGEN, {"prompt": "fail me"}),
            _timed_post(client, RESEARCH, {"question": "what does asyncio.gather do?"}),
        ]
        for (response, elapsed), agent in zip(calls, ("codegen", "research"), strict=True):
            assert response.status_code == 500, response.text
            assert response.json()["detail"] == f"injected fault ({agent})"
            assert elapsed >= LATENCY_S
        assert client.get("/v1/status", headers=AUTH).status_code == 200  # not an agent call

        samples = scrape(target.url)
        errors = metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="error")
        assert errors == entry["requests"] + 1
        assert metric(samples, "agent_task_outcomes_total", agent="research", outcome="error") == 1
        assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="success") == 0

        set_faults(target.url, error_rate=0)
        response, elapsed = _timed_post(client, CODEGEN, {"prompt": "slow but fine"})
        assert response.status_code == 200 and response.json()["valid"] is True
        assert elapsed >= LATENCY_S
