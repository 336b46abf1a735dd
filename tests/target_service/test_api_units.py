"""Pure pieces of the agent API: settings validation, the breaker, code extraction."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError

from target_service.api.breaker import BreakerOpen, BreakerState, CircuitBreaker, Outcome
from target_service.api.codegen import extract_code, is_valid
from target_service.api.deps import KeyRing, key_id
from target_service.api.openai_stream import parse_chunk
from target_service.api.settings import AgentSettings
from tests.support import ROOT


def test_settings_defaults_need_no_setup(monkeypatch):
    """With no AGENT_* variables the dev key and local engine are used."""
    for name in list(__import__("os").environ):
        if name.startswith("AGENT_"):
            monkeypatch.delenv(name)
    settings = AgentSettings()
    assert settings.api_keys == ("agentload-dev-key",)
    assert settings.engine_url == "http://127.0.0.1:8001"
    assert settings.admin_key is None


def test_api_keys_are_comma_separated(monkeypatch):
    monkeypatch.setenv("AGENT_API_KEYS", " first-key-1 , second-key-2,")
    assert AgentSettings().api_keys == ("first-key-1", "second-key-2")


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("AGENT_API_KEYS", " , ", "at least one key"),
        ("AGENT_API_KEYS", "short", "at least 8 characters"),
        ("AGENT_ENGINE_URL", "localhost:8001", "must start with http://"),
        ("AGENT_FAULT_ERROR_RATE", "1.5", "less than or equal to 1"),
        ("AGENT_ENGINE_MAX_KEEPALIVE", "100000", "less than or equal to 10000"),
        ("AGENT_ADMIN_KEY", "abc", "at least 8 characters"),
    ],
)
def test_bad_settings_fail_loudly(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        AgentSettings()


def test_keepalive_may_not_exceed_connections(monkeypatch):
    monkeypatch.setenv("AGENT_ENGINE_MAX_CONNECTIONS", "10")
    monkeypatch.setenv("AGENT_ENGINE_MAX_KEEPALIVE", "20")
    with pytest.raises(ValidationError, match="MAX_KEEPALIVE must not exceed"):
        AgentSettings()


def test_bad_setting_exits_2_with_one_line():
    """`python -m target_service.api` with a bad variable prints one line and exits 2."""
    result = subprocess.run(
        [sys.executable, "-m", "target_service.api", "--port", "1"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "AGENT_FAULT_ERROR_RATE": "2"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "target_service.api: invalid AGENT_FAULT_ERROR_RATE: "
        "Input should be less than or equal to 1 (got '2')"
    ]


def test_key_ring_identifies_only_configured_keys():
    ring = KeyRing(("key-one-111", "key-two-222"))
    assert ring.identify(b"key-two-222") == key_id("key-two-222")
    assert len(key_id("key-two-222")) == 16
    assert ring.identify(b"key-two-22") is None
    assert ring.identify(b"") is None


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_half_opens_with_one_probe_and_closes():
    """3 failures open it; after the reset one probe passes; a success closes it."""
    clock = _Clock()
    changes: list[BreakerState] = []
    breaker = CircuitBreaker(3, 5.0, on_change=changes.append, clock=clock)
    for _ in range(3):
        probe = breaker.acquire()
        breaker.release("failure", probe)
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(BreakerOpen):
        breaker.acquire()
    assert breaker.retry_after_s() == 5.0
    clock.now = 5.0
    assert breaker.acquire() is True  # the probe
    with pytest.raises(BreakerOpen):
        breaker.acquire()  # only one probe at a time
    breaker.release("success", True)
    assert breaker.state is BreakerState.CLOSED
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_breaker_failed_probe_reopens_and_saturation_is_neutral():
    clock = _Clock()
    breaker = CircuitBreaker(2, 1.0, clock=clock)
    outcomes: tuple[Outcome, ...] = ("failure", "neutral", "failure")
    for outcome in outcomes:
        breaker.release(outcome, breaker.acquire())
    assert breaker.state is BreakerState.OPEN
    clock.now = 1.0
    breaker.release("neutral", breaker.acquire())  # a 429 probe: still half-open
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.release("failure", breaker.acquire())
    assert breaker.state is BreakerState.OPEN


def test_code_is_taken_from_a_fence_and_validated():
    assert extract_code("Here:\n```python\nx = 1\n```\nDone.") == "x = 1"
    assert extract_code("x = 2\n") == "x = 2"
    assert is_valid("def f():\n    return 1\n", "python")
    assert not is_valid("def f(:\n", "python")
    assert not is_valid("   ", "python")
    assert not is_valid("x = '\0'", "python") or is_valid("x = 1", "python")


def test_every_setting_is_documented_with_its_default():
    """docs/agent-api.md lists every AGENT_* variable."""
    text = (ROOT / "docs" / "agent-api.md").read_text()
    for name in AgentSettings.model_fields:
        assert f"| `AGENT_{name.upper()}` |" in text, name


def test_stream_chunks_are_parsed_and_malformed_ones_rejected():
    """OpenAI chunks give deltas, usage and finish reason; anything else is a ValueError."""
    chunk = '{"choices": [{"delta": {"content": "def"}, "finish_reason": null}]}'
    assert parse_chunk(chunk) == (["def"], None, None)
    last = '{"choices": [{"delta": {}, "finish_reason": "length"}], "usage": {"prompt_tokens": 3}}'
    assert parse_chunk(last) == ([], {"prompt_tokens": 3}, "length")
    for bad in ("[1]", '{"choices": [1]}', '{"usage": 5}', "{not json"):
        with pytest.raises(ValueError):
            parse_chunk(bad)
