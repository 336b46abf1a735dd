"""Saturation and overload: retries on a full engine queue, 429 + Retry-After, shedding, 504."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support import API_KEY

AUTH = {"Authorization": f"Bearer {API_KEY}"}
CODEGEN = "/v1/agents/codegen"

# One slot, no wait queue, ~0.3 s per request: a second concurrent call finds the engine full.
TINY_ENGINE = {
    "ENGINE_SLOTS": "1",
    "ENGINE_QUEUE_MAX": "0",
    "ENGINE_TTFT_MS": "10",
    "ENGINE_TOKENS_PER_S": "100",
    "ENGINE_OUTPUT_TOKENS": "30",
}
NO_CACHE = {"AGENT_CACHE_SIZE": "0", "AGENT_STATUS_CACHE_S": "0"}


@pytest.fixture(scope="module")
def tiny_engine(module_launch):
    return module_launch, module_launch.engine(**TINY_ENGINE)


def _concurrently(url: str, bodies: list[dict]) -> list[httpx.Response]:
    """POST every body to codegen at the same moment; the responses in order."""
    barrier = threading.Barrier(len(bodies))

    def post(body: dict) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=20) as client:
            barrier.wait()
            response = client.post(CODEGEN, headers=AUTH, json=body)
            response.read()
            return response

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_a_full_engine_queue_is_retried_until_a_slot_frees(tiny_engine, scrape, metric):
    """Calls the engine rejects with 429 are retried with backoff and all succeed."""
    launcher, engine = tiny_engine
    api = launcher.api(
        engine.url,
        AGENT_ENGINE_RETRY_ATTEMPTS="10",
        AGENT_ENGINE_RETRY_INITIAL_S="0.05",
        AGENT_ENGINE_RETRY_MAX_S="0.2",
        **NO_CACHE,
    )
    before = metric(scrape(engine.url), "engine_requests_total", outcome="rejected")
    responses = _concurrently(api.url, [{"prompt": f"retry {i}"} for i in range(2)])
    assert [r.status_code for r in responses] == [200, 200]
    assert metric(scrape(engine.url), "engine_requests_total", outcome="rejected") > before


def test_a_saturated_engine_answers_429_with_retry_after(tiny_engine, scrape, metric):
    """Without retries left, a full engine gives 429 + Retry-After (plain and streaming),
    counted as a rejected agent call."""
    launcher, engine = tiny_engine
    api = launcher.api(engine.url, AGENT_ENGINE_RETRY_ATTEMPTS="1", **NO_CACHE)
    for stream in (False, True):
        bodies = [{"prompt": f"saturate {i}", "stream": stream} for i in range(2)]
        responses = _concurrently(api.url, bodies)
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 429], [r.text for r in responses]
        rejected = next(r for r in responses if r.status_code == 429)
        assert int(rejected.headers["retry-after"]) >= 1
        assert rejected.json()["detail"].startswith("engine saturated")
    samples = scrape(api.url)
    assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="rejected") == 2
    assert metric(samples, "agent_engine_request_duration_seconds_count", outcome="saturated") == 2


def test_past_the_in_flight_limit_calls_are_shed_and_slow_calls_time_out(
    tiny_engine, scrape, metric
):
    """Over AGENT_MAX_IN_FLIGHT the API sheds with 429 + Retry-After without calling the
    engine; an engine call past AGENT_ENGINE_TIMEOUT_S answers 504 (outcome timeout)."""
    launcher, engine = tiny_engine
    api = launcher.api(
        engine.url,
        AGENT_MAX_IN_FLIGHT="1",
        AGENT_OVERLOAD_RETRY_AFTER_S="2",
        AGENT_ENGINE_TIMEOUT_S="0.15",
        **NO_CACHE,
    )
    responses = _concurrently(api.url, [{"prompt": f"shed {i}"} for i in range(2)])
    codes = sorted(r.status_code for r in responses)
    assert codes == [429, 504], [r.text for r in responses]
    shed = next(r for r in responses if r.status_code == 429)
    assert shed.headers["retry-after"] == "2"
    assert "too many agent calls in flight (limit 1)" in shed.json()["detail"]
    samples = scrape(api.url)
    assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="timeout") == 1
    assert metric(samples, "agent_task_outcomes_total", agent="codegen", outcome="rejected") == 1
    status = httpx.get(f"{api.url}/v1/status", headers=AUTH).json()
    assert status["agent_calls_in_flight"] == 0 and status["agent_calls_max"] == 1
