"""The simulated engine: OpenAI format, streaming, real code, capacity model, faults, metrics."""

from __future__ import annotations

import ast
import asyncio
import json
import random
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from target_service.engine.app import create_app
from target_service.engine.codegen import generate_code, generate_prose, requested_language
from target_service.engine.scheduler import CapacityModel, QueueFull, SlotPool
from target_service.engine.settings import EngineSettings
from target_service.engine.tokens import count_tokens, pieces, topic_words
from tests.target_service.conftest import ADMIN_KEY, Launcher, Samples, sample

COMPLETIONS = "/v1/chat/completions"
PROMPT = "Parse a CSV file of invoices and total the amounts per customer."


def _body(language: str | None = "python", **extra: object) -> dict[str, object]:
    messages = [{"role": "user", "content": PROMPT}]
    if language:
        messages.insert(0, {"role": "system", "content": f"Write {language} code only."})
    return {"model": "agentload-sim", "messages": messages, **extra}


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _sse_events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.split("\n\n") if line.strip()]


@pytest.fixture(scope="module")
def engine(module_launch: Launcher) -> str:
    """A fast engine (see conftest) with an admin key, 48-token answers, no invalid code."""
    return module_launch.engine(ENGINE_INVALID_RATE="0.0", ENGINE_OUTPUT_TOKENS="48").url


# --- pure parts: tokenizer, text, scheduler --------------------------------------------------


@pytest.mark.parametrize("language", ["python", "javascript", "bash"])
def test_code_has_exact_token_count_and_valid_syntax(language: str, tmp_path: Path) -> None:
    """Code of every supported language has exactly n tokens and passes its syntax checker."""
    words = topic_words(PROMPT)
    checker = {"javascript": ["node", "--check"], "bash": ["bash", "-n"]}.get(language)
    if checker and shutil.which(checker[0]) is None:
        pytest.skip(f"{checker[0]} not installed")
    for n in (1, 2, 3, 7, 19, 64, 150, 600):
        for invalid in (False, True):
            code = generate_code(language, n, words, random.Random(n), invalid=invalid)
            assert count_tokens(code) == n
            assert "".join(pieces(code)) == code
            if checker is None:
                valid = _parses(code)
            elif n in (1, 64, 600):
                path = tmp_path / f"code-{n}-{invalid}"
                path.write_text(code)
                valid = subprocess.run([*checker, str(path)], capture_output=True).returncode == 0
            else:
                continue
            assert valid is not invalid, code


def test_prose_uses_prompt_words_with_exact_count() -> None:
    """Prose answers have exactly n tokens and reuse the user's words; plans are numbered."""
    words = topic_words(PROMPT)
    for n in range(1, 80):
        assert count_tokens(generate_prose(n, words, random.Random(n))) == n
    plan = generate_prose(40, words, random.Random(1), plan=True)
    assert plan.startswith("1. ")
    assert count_tokens(plan) == 40
    assert any(word in generate_prose(200, words, random.Random(2)) for word in words)


def test_requested_language_reads_the_system_message() -> None:
    """`Write <language> code` picks the language; aliases map, unknown languages give prose."""
    assert requested_language("You are terse. Write Python code only.") == "python"
    assert requested_language("write js code") == "javascript"
    assert requested_language("Write shell code") == "bash"
    assert requested_language("Write cobol code") is None
    assert requested_language("Answer the research question.") is None


def test_output_lengths_follow_the_distribution_and_cap() -> None:
    """Fixed, uniform and lognormal lengths stay in range, are seeded, and max_tokens caps them."""
    fixed = CapacityModel(EngineSettings(output_tokens=50))
    assert fixed.draw_output_tokens(None) == (50, "stop")
    assert fixed.draw_output_tokens(10) == (10, "length")
    uniform = CapacityModel(EngineSettings(output_dist="uniform", output_spread=0.5, seed=3))
    draws = [uniform.draw_output_tokens(None)[0] for _ in range(500)]
    assert min(draws) >= 32 and max(draws) <= 96 and len(set(draws)) > 20
    again = CapacityModel(EngineSettings(output_dist="uniform", output_spread=0.5, seed=3))
    assert [again.draw_output_tokens(None)[0] for _ in range(500)] == draws
    lognormal = CapacityModel(EngineSettings(output_dist="lognormal", seed=1))
    lengths = [lognormal.draw_output_tokens(None)[0] for _ in range(4000)]
    assert 56 < sum(lengths) / len(lengths) < 72 and min(lengths) >= 1


def test_slot_pool_is_fifo_bounded_and_cancel_safe() -> None:
    """Waiters get slots in arrival order at the releaser's time; a full queue refuses; a
    cancelled waiter leaves the queue."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        pool = SlotPool(slots=1, queue_max=2)
        await pool.acquire(loop)
        first = asyncio.ensure_future(pool.acquire(loop))
        second = asyncio.ensure_future(pool.acquire(loop))
        await asyncio.sleep(0)
        assert pool.queue_depth == 2
        with pytest.raises(QueueFull):
            await pool.acquire(loop)
        second.cancel()
        await asyncio.sleep(0)
        assert pool.queue_depth == 1
        pool.release(123.0)
        assert await first == 123.0
        assert (pool.busy, pool.queue_depth) == (1, 0)
        pool.release(124.0)
        assert pool.busy == 0

    asyncio.run(scenario())


def test_degradation_slows_decoding_with_busy_share() -> None:
    """With degradation d, a request starting with k of S slots busy decodes (1 + d*k/S) slower."""

    async def scenario() -> list[float]:
        model = CapacityModel(EngineSettings(slots=4, degradation=1.0, tokens_per_s=100))
        return [(await model.admit(10)).token_time for _ in range(4)]

    times = asyncio.run(scenario())
    assert times == pytest.approx([0.0125, 0.015, 0.0175, 0.02])


def test_metrics_land_on_the_registry_passed_in() -> None:
    """create_app writes its metrics to the given registry (checked with get_sample_value)."""
    registry = CollectorRegistry()
    settings = EngineSettings(ttft_ms=1, tokens_per_s=10_000, output_tokens=5, slots=3)
    app = create_app(settings, registry)

    async def scenario() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
            response = await client.post(COMPLETIONS, json=_body(None))
            return response.status_code

    assert asyncio.run(scenario()) == 200
    assert registry.get_sample_value("engine_requests_total", {"outcome": "success"}) == 1
    assert registry.get_sample_value("engine_tokens_total", {"kind": "completion"}) == 5
    assert registry.get_sample_value("engine_slots_total") == 3
    assert registry.get_sample_value("engine_ttft_seconds_count") == 1


def test_stream_interval_groups_tokens_into_fewer_chunks() -> None:
    """ENGINE_STREAM_INTERVAL_MS merges tokens into fewer chunks; the text and usage stay exact."""
    settings = EngineSettings(
        ttft_ms=1, tokens_per_s=2000, output_tokens=30, stream_interval_ms=5000
    )

    async def scenario() -> str:
        transport = httpx.ASGITransport(app=create_app(settings, CollectorRegistry()))
        async with httpx.AsyncClient(transport=transport, base_url="http://engine") as client:
            response = await client.post(COMPLETIONS, json=_body(None, stream=True))
            return response.text

    chunks = [json.loads(event) for event in _sse_events(asyncio.run(scenario()))[:-1]]
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert count_tokens(text) == 30 and chunks[-1]["usage"]["completion_tokens"] == 30
    assert len(chunks) == 3  # the first token, the rest at the finish time, the usage chunk


# --- the real engine over HTTP ---------------------------------------------------------------


def test_plain_completion_has_openai_shape_and_usage(engine: str) -> None:
    """A non-streamed completion is a chat.completion object with consistent usage."""
    response = httpx.post(engine + COMPLETIONS, json=_body("python", seed=7), timeout=10)
    assert response.status_code == 200
    data = response.json()
    assert data["object"] == "chat.completion" and data["id"].startswith("chatcmpl-")
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["finish_reason"] == "stop"
    content = choice["message"]["content"]
    assert _parses(content)
    prompt_tokens = count_tokens(f"Write python code only. {PROMPT}")
    assert data["usage"] == {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": 48,
        "total_tokens": prompt_tokens + 48,
    }
    assert count_tokens(content) == 48
    again = httpx.post(engine + COMPLETIONS, json=_body("python", seed=7), timeout=10).json()
    assert again["choices"][0]["message"]["content"] == content


def test_streamed_completion_is_openai_sse_with_usage_then_done(engine: str) -> None:
    """Streaming sends chunk objects whose deltas add up to the text, usage last, then [DONE]."""
    body = _body(None, stream=True, max_tokens=20, stream_options={"include_usage": True})
    response = httpx.post(engine + COMPLETIONS, json=body, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks)
    assert count_tokens(text) == 20
    assert all(chunk["choices"][0]["finish_reason"] is None for chunk in chunks[:-1])
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "length"
    assert last["usage"]["completion_tokens"] == 20
    assert any(word in text.lower() for word in topic_words(PROMPT))


@pytest.mark.parametrize("payload", [{"messages": []}, {"messages": "x"}, {"max_tokens": 0}])
def test_bad_requests_get_422_in_openai_error_shape(
    engine: str, payload: dict[str, object]
) -> None:
    """Invalid bodies are refused with 422 and an OpenAI-style error object."""
    response = httpx.post(engine + COMPLETIONS, json={**_body(), **payload}, timeout=10)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_info_endpoints_answer(engine: str) -> None:
    """/healthz, /v1/models and /v1/engine/state answer with their documented keys."""
    assert httpx.get(engine + "/healthz").json() == {"status": "ok"}
    models = httpx.get(engine + "/v1/models").json()
    assert models["data"][0]["id"] == "agentload-sim"
    state = httpx.get(engine + "/v1/engine/state").json()
    assert {"slots_busy", "slots_total", "queue_depth", "queue_max"} <= state.keys()
    assert state["slots_total"] == 16


def test_admin_faults_need_the_key_and_toggle_outage(engine: str) -> None:
    """/admin/faults refuses missing or wrong keys; with the key it turns the outage on and off."""
    url = engine + "/admin/faults"
    assert httpx.post(url, json={"outage": True}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.post(url, json={"outage": True}, headers=wrong).status_code == 401
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    try:
        assert httpx.post(url, json={"outage": True}, headers=auth).json() == {"outage": True}
        down = httpx.post(engine + COMPLETIONS, json=_body(), timeout=10)
        assert down.status_code == 503
        assert down.json()["error"]["code"] == "outage"
    finally:
        assert httpx.post(url, json={"outage": False}, headers=auth).json() == {"outage": False}
    assert httpx.post(engine + COMPLETIONS, json=_body(), timeout=10).status_code == 200


def test_metrics_have_contract_names_and_labels(
    engine: str, scrape: Callable[[str], Samples]
) -> None:
    """/metrics exposes the engine gauges, counters by outcome/kind, TTFT histogram, process."""
    httpx.post(engine + COMPLETIONS, json=_body(), timeout=10)
    samples = scrape(engine)
    for name in ("engine_queue_depth", "engine_slots_busy", "engine_queue_max"):
        assert name in samples
    assert sample(samples, "engine_slots_total") == 16
    assert sample(samples, "engine_requests_total", outcome="success") >= 1
    for outcome in ("rejected", "unavailable", "bad_request", "cancelled"):
        assert frozenset({("outcome", outcome)}) in samples["engine_requests_total"]
    assert sample(samples, "engine_tokens_total", kind="completion") >= 48
    assert sample(samples, "engine_tokens_total", kind="prompt") >= 1
    assert sample(samples, "engine_ttft_seconds_count") >= 1
    assert "process_cpu_seconds_total" in samples


def test_invalid_rate_one_gives_unparsable_python(module_launch: Launcher) -> None:
    """With ENGINE_INVALID_RATE=1 every code answer is deliberately invalid; no admin route
    exists without ENGINE_ADMIN_KEY."""
    url = module_launch.engine(ENGINE_INVALID_RATE="1.0", ENGINE_ADMIN_KEY="").url
    for seed in range(3):
        data = httpx.post(url + COMPLETIONS, json=_body("python", seed=seed), timeout=10).json()
        assert not _parses(data["choices"][0]["message"]["content"])
    assert httpx.post(url + "/admin/faults", json={"outage": True}).status_code == 404


def test_outage_from_environment_answers_503(module_launch: Launcher) -> None:
    """ENGINE_FAULT_OUTAGE=true makes completions answer 503 from the start."""
    url = module_launch.engine(ENGINE_FAULT_OUTAGE="true").url
    assert httpx.post(url + COMPLETIONS, json=_body(), timeout=10).status_code == 503
    assert httpx.get(url + "/v1/engine/state").json()["outage"] is True


def test_full_queue_answers_429_with_retry_after(module_launch: Launcher) -> None:
    """With every slot busy and the queue full, the next request gets 429 and Retry-After."""
    url = module_launch.engine(ENGINE_SLOTS="1", ENGINE_QUEUE_MAX="1", ENGINE_TTFT_MS="8000").url

    async def scenario() -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            held = [asyncio.ensure_future(client.post(COMPLETIONS, json=_body())) for _ in "ab"]
            try:
                for _ in range(500):
                    state = (await client.get("/v1/engine/state")).json()
                    if state["slots_busy"] == 1 and state["queue_depth"] == 1:
                        break
                    await asyncio.sleep(0.01)
                else:
                    pytest.fail(f"never 1 busy slot and 1 waiter: {state}")
                return await client.post(COMPLETIONS, json=_body())
            finally:
                for request in held:
                    request.cancel()
                await asyncio.gather(*held, return_exceptions=True)

    refused = asyncio.run(scenario())
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "queue_full"
