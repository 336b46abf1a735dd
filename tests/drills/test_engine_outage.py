"""Drill: the engine goes down in the middle of a smoke run and comes back.

The target is started by the test (so the test can switch the outage through `/admin/faults`)
and `agentload run smoke --host` drives the load. During the outage the breaker opens and agent
calls fail fast with 503; afterwards the service recovers by itself, and the run's
timeline.jsonl shows the dip (failures rising) and the recovery (failures stop, successes resume).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.drills.helpers import (
    AUTH,
    CODEGEN,
    metric,
    scrape,
    service_env,
    set_faults,
    wait_for,
)
from tests.runner.agentload_run import start_agentload, stop_runner
from tests.support import run_target_service

ENGINE_TIMEOUT_S = 30.0  # what a call would wait without the breaker if the engine hung
ENTRY = "POST /v1/agents/codegen"
OUTAGE_ENV = service_env(
    AGENT_ENGINE_TIMEOUT_S=str(ENGINE_TIMEOUT_S),
    AGENT_BREAKER_THRESHOLD="3",
    AGENT_BREAKER_RESET_S="2",
    AGENT_ENGINE_RETRY_ATTEMPTS="2",
    AGENT_ENGINE_RETRY_INITIAL_S="0.05",
    AGENT_ENGINE_RETRY_MAX_S="0.2",
)


def _timeline(out: Path) -> list[dict[str, Any]]:
    path = out / "timeline.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # the line being written right now
            break
    return rows


def _failures(line: dict[str, Any]) -> int:
    return int(line["entries"].get(ENTRY, {}).get("failures", 0))


def _successes(line: dict[str, Any]) -> int:
    return int(line.get("outcomes", {}).get("codegen", {}).get("success", 0))


def _breaker(client: httpx.Client) -> str:
    return str(client.get("/v1/status", headers=AUTH).json()["circuit_breaker"])


def _codegen(client: httpx.Client, prompt: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.post(CODEGEN, headers=AUTH, json={"prompt": prompt, "max_tokens": 32})
    return response, time.perf_counter() - started


def test_engine_outage_mid_run_fails_fast_and_recovers_by_itself(tmp_path: Path) -> None:
    """Outage on mid-run: 503s well inside the engine timeout, breaker gauge 1; outage off: the
    breaker closes and calls succeed with no restart; the timeline shows the dip and recovery."""
    out = tmp_path / "run"
    with (
        run_target_service(tmp_path, env=OUTAGE_ENV) as target,
        httpx.Client(base_url=target.url, timeout=ENGINE_TIMEOUT_S + 10) as client,
    ):
        args = ["run", "smoke", "--host", target.url, "--duration", "30s", "--users", "8"]
        runner = start_agentload([*args, "--no-prometheus", "--out", str(out)])
        try:
            wait_for(
                lambda: any(_successes(line) >= 3 for line in _timeline(out)),
                60, "the run's first code-gen successes",
            )  # fmt: skip
            started_at = len(_timeline(out))
            before = _timeline(out)[-1]

            assert set_faults(target.url, engine_outage=True)["engine_outage"] is True
            wait_for(lambda: _breaker(client) == "open", 15, "the breaker to open")
            fast = [_codegen(client, f"during outage {i}") for i in range(5)]
            for response, elapsed in fast:
                assert response.status_code == 503, response.text
                assert elapsed < ENGINE_TIMEOUT_S / 10, f"503 took {elapsed:.2f}s"
            assert any("circuit breaker open" in r.json()["detail"] for r, _ in fast)
            wait_for(
                lambda: metric(scrape(target.url), "agent_circuit_breaker_state") == 1,
                10, "agent_circuit_breaker_state to read 1 (open)",
            )  # fmt: skip
            outage_at = len(_timeline(out))
            wait_for(
                lambda: _failures(_timeline(out)[-1]) >= _failures(before) + 3
                and len(_timeline(out)) >= outage_at + 3,
                20, "three timeline lines of outage with failed code-gen calls",
            )  # fmt: skip

            assert set_faults(target.url, engine_outage=False)["engine_outage"] is False

            def recovered() -> bool:
                response, _ = _codegen(client, "after the outage")
                return response.status_code == 200 and _breaker(client) == "closed"

            wait_for(recovered, 20, "the breaker to close and calls to succeed")
            assert metric(scrape(target.url), "agent_circuit_breaker_state") == 0
            recovered_at = len(_timeline(out))

            runner.wait(timeout=90)
            assert runner.returncode in (0, 1), stop_runner(runner)  # gates may fail; not aborted
        finally:
            output = stop_runner(runner)
            if runner.stdout is not None:
                runner.stdout.close()

    lines = _timeline(out)
    settled = recovered_at + 1  # one line of slack: calls in flight when recovery was seen
    assert len(lines) >= settled + 3, f"too little run after the recovery ({len(lines)} lines)"
    failures = [_failures(line) for line in lines]
    successes = [_successes(line) for line in lines]
    dip = [
        i
        for i in range(started_at, recovered_at)
        if failures[i] > failures[i - 1] and successes[i] == successes[i - 1]
    ]
    assert dip, f"no line with failures rising and no success: {failures} {successes}"
    assert "Traceback" not in output, output
    assert failures[-1] == failures[settled], f"failures kept rising: {failures}"
    assert successes[-1] > successes[settled], f"no success after recovery: {successes}"
    assert (out / "report.html").is_file()  # the report charts this timeline
