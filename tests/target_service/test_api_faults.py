"""Fault drills: /admin/faults, injected 500s and latency, engine outage and the circuit breaker."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.support import API_KEY, free_port

AUTH = {"Authorization": f"Bearer {API_KEY}"}
CODEGEN = "/v1/agents/codegen"
ADMIN = "test-admin-key-0123"  # the launcher's ENGINE_ADMIN_KEY (conftest.ADMIN_KEY)
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def _breaker(client: httpx.Client) -> str:
    return client.get("/v1/status", headers=AUTH).json()["circuit_breaker"]


@pytest.fixture(scope="module")
def drill_procs(module_launch):
    """An engine and an agent API with an admin key, a breaker of 3 and a 1 s reset."""
    engine = module_launch.engine()
    api = module_launch.api(
        engine.url,
        AGENT_ADMIN_KEY=ADMIN,
        AGENT_BREAKER_THRESHOLD="3",
        AGENT_BREAKER_RESET_S="1",
        AGENT_ENGINE_RETRY_ATTEMPTS="2",
        AGENT_ENGINE_RETRY_INITIAL_S="0.01",
        AGENT_ENGINE_RETRY_MAX_S="0.02",
        AGENT_CACHE_SIZE="0",
        AGENT_FAULT_SEED="7",
        AGENT_STATUS_CACHE_S="0",  # each status read shows the breaker as it is now
    )
    return api, engine


@pytest.fixture
def drill(drill_procs):
    """A client of the drill API; faults are reset after each test."""
    api, engine = drill_procs
    with httpx.Client(base_url=api.url, timeout=15) as client:
        yield client, api, engine
        reset = {"error_rate": 0, "latency_ms": 0, "engine_outage": False}
        assert client.post("/admin/faults", headers=ADMIN_AUTH, json=reset).status_code == 200


def test_admin_faults_require_the_admin_key(drill):
    """/admin/faults exists with AGENT_ADMIN_KEY and answers 401 to any other key."""
    client, _, _ = drill
    assert client.get("/admin/faults").status_code == 401
    assert client.get("/admin/faults", headers=AUTH).status_code == 401
    body = client.get("/admin/faults", headers=ADMIN_AUTH).json()
    assert body == {"error_rate": 0.0, "latency_ms": 0.0, "engine_outage": False}
    bad = client.post("/admin/faults", headers=ADMIN_AUTH, json={"error_rate": 2})
    assert bad.status_code == 422


def test_injected_errors_and_latency_apply_to_agent_calls(drill, scrape, metric):
    """error_rate 1 answers every agent call 500 (counted as error); latency delays calls."""
    client, api, _ = drill
    errors = metric(scrape(api.url), "agent_task_outcomes_total", agent="codegen", outcome="error")
    client.post("/admin/faults", headers=ADMIN_AUTH, json={"error_rate": 1.0})
    for _ in range(3):
        response = client.post(CODEGEN, headers=AUTH, json={"prompt": "fail me"})
        assert response.status_code == 500
        assert response.json()["detail"] == "injected fault (codegen)"
    assert client.get("/v1/status", headers=AUTH).status_code == 200  # not an agent call
    bad_input = client.post(CODEGEN, headers=AUTH, json={"prompt": ""})
    assert bad_input.status_code == 422  # bad input is never answered with a fault
    samples = scrape(api.url)
    after = metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="error")
    assert after == errors + 3
    client.post("/admin/faults", headers=ADMIN_AUTH, json={"error_rate": 0, "latency_ms": 300})
    started = time.perf_counter()
    response = client.post(CODEGEN, headers=AUTH, json={"prompt": "slow me"})
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.3
    state = client.get("/admin/faults", headers=ADMIN_AUTH).json()
    assert state == {"error_rate": 0.0, "latency_ms": 300.0, "engine_outage": False}


def test_outage_opens_the_breaker_which_half_opens_and_closes(drill, scrape, metric):
    """An engine outage gives 503s until the breaker opens (fast 503s, gauge 1); after the
    outage a half-open probe succeeds and the breaker closes (gauge 0)."""
    client, api, engine = drill
    assert _breaker(client) == "closed"
    assert client.post("/admin/faults", headers=ADMIN_AUTH, json={"engine_outage": True}).json()[
        "engine_outage"
    ]
    assert httpx.get(f"{engine.url}/v1/engine/state").json()["outage"] is True
    for _ in range(3):
        response = client.post(CODEGEN, headers=AUTH, json={"prompt": "during outage"})
        assert response.status_code == 503
        assert "engine unavailable: engine answered 503" in response.json()["detail"]
    engine_calls = metric(scrape(engine.url), "engine_requests_total", outcome="unavailable")
    assert engine_calls == 6  # 3 calls x 2 attempts each (retries)
    rejected = client.post(CODEGEN, headers=AUTH, json={"prompt": "breaker open"})
    assert rejected.status_code == 503
    assert "circuit breaker open" in rejected.json()["detail"]
    assert int(rejected.headers["retry-after"]) >= 1
    samples = scrape(api.url)
    assert metric(samples, "agent_circuit_breaker_state") == 1
    assert metric(samples, "engine_requests_total", outcome="unavailable") == 0  # not our metric
    assert metric(scrape(engine.url), "engine_requests_total", outcome="unavailable") == 6
    assert client.get("/v1/status", headers=AUTH).json()["circuit_breaker"] == "open"

    # Still down when the breaker half-opens: the probe fails and it opens again.
    _wait_for(
        lambda: client.get("/v1/status", headers=AUTH).json()["circuit_breaker"] == "half_open"
    )
    assert metric(scrape(api.url), "agent_circuit_breaker_state") == 2
    assert client.post(CODEGEN, headers=AUTH, json={"prompt": "probe 1"}).status_code == 503
    assert client.get("/v1/status", headers=AUTH).json()["circuit_breaker"] == "open"

    client.post("/admin/faults", headers=ADMIN_AUTH, json={"engine_outage": False})
    _wait_for(
        lambda: client.get("/v1/status", headers=AUTH).json()["circuit_breaker"] == "half_open"
    )
    response = client.post(CODEGEN, headers=AUTH, json={"prompt": "probe 2"})
    assert response.status_code == 200
    assert client.get("/v1/status", headers=AUTH).json()["circuit_breaker"] == "closed"
    assert metric(scrape(api.url), "agent_circuit_breaker_state") == 0


def test_without_an_engine_the_api_is_live_not_ready_and_answers_503(launch, scrape, metric):
    """With no engine listening: /healthz 200, /readyz 503, status degraded, code-gen 503
    (unreachable) until the breaker opens."""
    dead = f"http://127.0.0.1:{free_port()}"
    api = launch.api(dead, ready_path="/healthz", AGENT_BREAKER_THRESHOLD="2",
                     AGENT_ENGINE_RETRY_ATTEMPTS="2", AGENT_ENGINE_RETRY_INITIAL_S="0.01",
                     AGENT_ENGINE_RETRY_MAX_S="0.02")  # fmt: skip
    with httpx.Client(base_url=api.url, timeout=15) as client:
        assert client.get("/readyz").status_code == 503
        status = client.get("/v1/status", headers=AUTH).json()
        assert status["status"] == "degraded" and status["engine"]["reachable"] is False
        assert status["engine"]["slots_total"] is None
        for _ in range(2):
            response = client.post(CODEGEN, headers=AUTH, json={"prompt": "no engine"})
            assert response.status_code == 503
            assert "engine unreachable (ConnectError)" in response.json()["detail"]
        response = client.post(CODEGEN, headers=AUTH, json={"prompt": "no engine"})
        assert "circuit breaker open" in response.json()["detail"]
    samples = scrape(api.url)
    engine_calls = "agent_engine_request_duration_seconds_count"
    assert metric(samples, engine_calls, outcome="unavailable") == 2
    assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="error") == 3


def test_an_engine_lost_mid_stream_ends_the_stream_with_an_error_event(launch, scrape, metric):
    """Once tokens have flowed the call cannot be retried: killing the engine mid-stream
    ends the SSE stream with `event: error` (503) and counts an error outcome."""
    engine = launch.engine(ENGINE_TOKENS_PER_S="20", ENGINE_OUTPUT_TOKENS="200")
    api = launch.api(engine.url, AGENT_CACHE_SIZE="0")
    request = {"prompt": "a long stream", "max_tokens": 200, "stream": True}
    events: list[tuple[str, dict]] = []
    with httpx.Client(base_url=api.url, timeout=15) as client:
        with client.stream("POST", CODEGEN, headers=AUTH, json=request) as response:
            assert response.status_code == 200
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    events.append((kind, json.loads(line[6:])))
                    if len(events) == 3:
                        engine.process.kill()  # by PID; the launcher's teardown reaps it
    assert [k for k, _ in events[:3]] == ["token"] * 3
    assert events[-1][0] == "error"
    assert events[-1][1]["status"] == 503
    assert "engine unreachable" in events[-1][1]["detail"]
    samples = scrape(api.url)
    assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="error") == 1
