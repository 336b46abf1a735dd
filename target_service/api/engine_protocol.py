"""The seam between the agent's pipelines and the LLM engine client.

Exception tree (raised by every `EngineCaller`):

    EngineError
    ├── EngineSaturated    engine answered 429 (queue full); maps to 429 + Retry-After
    ├── EngineUnavailable  engine down, 5xx after retries, or circuit breaker open; maps to 503
    └── EngineTimeout      no complete answer within the call timeout; maps to 504 / job "timeout"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class EngineError(Exception):
    """Base of every failure of an engine call; `reason` is safe to show to clients."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EngineSaturated(EngineError):
    """The engine's queue is full."""

    def __init__(self, reason: str, retry_after_s: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class EngineUnavailable(EngineError):
    """The engine is down, kept failing, or the circuit breaker is open."""


class EngineTimeout(EngineError):
    """The engine did not answer in time."""


@dataclass(frozen=True)
class Completion:
    """One finished chat completion."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str = "stop"
    ttft_s: float = 0.0
    duration_s: float = 0.0
    cached: bool = False
    extra: dict[str, float] = field(default_factory=dict)


class EngineCaller(Protocol):
    """What a pipeline needs from the engine client (retries, breaker and cache included)."""

    async def complete(
        self, messages: list[dict[str, str]], max_tokens: int, *, use_cache: bool = True
    ) -> Completion: ...
