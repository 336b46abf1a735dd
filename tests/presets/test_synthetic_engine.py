"""Synthetic rows against the real embedded engine (``python -m target_service.engine`` on a free
port): the engine's own usage counts the prompt tokens and completion tokens the rows asked for."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentload.apis.load import load_description
from agentload.apis.templates import fill
from agentload.scenarios.plan import RunScenario, resolve
from tests.presets.test_presets import _engine_tokens, _serve, _summary
from tests.runner.agentload_run import run_agentload
from tests.support import free_port, stop_process

Json = dict[str, Any]

# Output longer than any max_tokens below, so the engine stops at max_tokens ("length").
ENGINE = {
    "ENGINE_TTFT_MS": "20",
    "ENGINE_TOKENS_PER_S": "2000",
    "ENGINE_OUTPUT_TOKENS": "600",
    "ENGINE_SEED": "3",
    "ENGINE_DEGRADATION": "0",
    "ENGINE_SLOTS": "16",
}
API = """
model = "agentload-sim"
[scenarios.chat]
method = "POST"
path = "/v1/chat/completions"
body = {{ model = "{{model}}", messages = [{{ role = "user", content = "{{prompt}}" }}], max_tokens = "{{max_tokens}}" }}
[scenarios.chat.stream]
body = {{ stream = true, stream_options = {{ include_usage = true }} }}
[scenarios.chat.synthetic]
prompt_tokens = {prompt_tokens}
output_tokens = {{ dist = "uniform", min = 1, max = 500 }}
tokenizer = "words"
seed = 11
"""  # noqa: E501


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    """The embedded engine alone on a free port, ended by its PID."""
    port = free_port()
    cmd = [sys.executable, "-m", "target_service.engine", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    process = _serve(cmd, f"{url}/healthz", ENGINE, tmp_path / "engine.log")
    try:
        yield url
    finally:
        stop_process(process)


def _scenario(tmp_path: Path, prompt_tokens: str) -> RunScenario:
    path = tmp_path / "synthetic.toml"
    path.write_text(API.format(prompt_tokens=prompt_tokens))
    description, where = load_description(path)
    return resolve(description, where).scenarios["chat"]


def _usage(client: httpx.Client, body: Json, streamed: bool) -> tuple[Json, str]:
    """The answer's usage and finish reason, from the plain answer or the stream's last chunk."""
    if not streamed:
        answer = client.post("/v1/chat/completions", json=body).raise_for_status().json()
        return answer["usage"], answer["choices"][0]["finish_reason"]
    usage: dict[str, int] = {}
    reason = ""
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        for line in response.raise_for_status().iter_lines():
            if line.startswith("data: {"):
                chunk = json.loads(line[len("data: ") :])
                usage = chunk.get("usage") or usage
                reason = chunk["choices"][0].get("finish_reason") or reason
    return usage, reason


def _send(engine: str, sc: RunScenario, calls: int) -> list[tuple[Json, Json, str]]:
    rng = random.Random("synthetic-engine")
    sent = []
    with httpx.Client(base_url=engine, timeout=60) as client:
        for number in range(calls):
            values = sc.values(rng, "agentload-sim")
            body = fill(sc.spec.body, values)
            streamed = number % 2 == 1
            if streamed and sc.spec.stream is not None:
                body = {**body, **fill(sc.spec.stream.body, values)}
            usage, reason = _usage(client, body, streamed)
            sent.append((values, usage, reason))
    return sent


def test_engine_usage_counts_the_rows_prompt_tokens_and_max_tokens(
    engine: str, tmp_path: Path
) -> None:
    """12 calls, plain and streamed, prompts of 20-2000 words (normal), max_tokens 1-500: the
    engine's usage.prompt_tokens is each row's prompt_tokens and completion_tokens its
    max_tokens (ENGINE_OUTPUT_TOKENS is longer, so every answer stops at the cap)."""
    normal = '{ dist = "normal", mean = 600, stdev = 400, min = 20, max = 2000 }'
    sent = _send(engine, _scenario(tmp_path, normal), 12)
    for values, usage, reason in sent:
        assert usage["prompt_tokens"] == values["prompt_tokens"]
        assert usage["completion_tokens"] == values["max_tokens"] == values["output_tokens"]
        assert reason == "length"
    assert len({values["prompt_tokens"] for values, _, _ in sent}) > 6


def test_a_prompt_longer_than_the_corpus_is_counted_whole(engine: str, tmp_path: Path) -> None:
    """60,000 words, more than the corpus holds: the prompt wraps round and the engine counts
    all of them."""
    sent = _send(engine, _scenario(tmp_path, "60000"), 2)
    assert [usage["prompt_tokens"] for _, usage, _ in sent] == [60000, 60000]


@pytest.mark.slow
def test_the_openai_synthetic_preset_runs_and_the_engine_counts_its_tokens(
    engine: str, tmp_path: Path
) -> None:
    """smoke --api openai-synthetic passes; every answer is 128 tokens (max_tokens), prompts
    average within their bounds, and the run's token counts are the engine's."""
    before = _engine_tokens(engine)
    out = tmp_path / "run"
    args = ["run", "smoke", "--api", "openai-synthetic", "--host", engine, "--duration", "10s"]
    done = run_agentload([*args, "--no-prometheus", "--out", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    after = _engine_tokens(engine)
    result = _summary(out)
    assert result["agent_outcomes"]["chat"]["success_rate"] == 1.0
    llm = result["llm"]["chat"]
    assert llm["requests"] > 0 and llm["token_source"] == "usage"
    assert llm["output_tokens"] == after["completion"] - before["completion"]
    assert llm["output_tokens"] == 128 * llm["requests"]
    assert llm["input_tokens"] == after["prompt"] - before["prompt"]
    assert 128 <= llm["input_tokens"] / llm["requests"] <= 1024
