"""Request and response schemas of the agent API (limits declared on the fields)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["python"]
BreakerName = Literal["closed", "open", "half_open"]


class ErrorBody(BaseModel):
    """Every error answer: `{"detail": "..."}` (422 answers carry a list of field errors)."""

    detail: str


class CodegenRequest(BaseModel):
    """Scenario B: generate code for a prompt (strict types: `"stream": 0` is not a bool)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    prompt: str = Field(min_length=1, max_length=8000, description="What the code should do.")
    language: Language = "python"
    max_tokens: int = Field(default=256, ge=1, le=4096)
    stream: bool = Field(default=False, description="Answer as SSE: token events, then result.")


class Usage(BaseModel):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)


class CodegenTimings(BaseModel):
    """Milliseconds spent in each stage of the call."""

    ttft_ms: float = Field(ge=0, description="Engine call start to the first token.")
    engine_ms: float = Field(ge=0, description="The whole engine call (retries included).")
    validate_ms: float = Field(ge=0)
    total_ms: float = Field(ge=0)


class CodegenResult(BaseModel):
    """The generated code and whether it parses."""

    id: str
    code: str
    language: Language
    valid: bool
    cached: bool
    usage: Usage
    timings: CodegenTimings


class EngineStatus(BaseModel):
    """The engine's slots and queue; null fields when the engine does not report them."""

    reachable: bool
    slots_busy: int | None = None
    slots_total: int | None = None
    queue_depth: int | None = None
    queue_max: int | None = None


class AgentStatus(BaseModel):
    """Scenario A: the agent manager's status."""

    status: Literal["ok", "degraded"]
    uptime_s: float
    in_flight: int = Field(description="HTTP requests being served when the snapshot was taken.")
    agent_calls_in_flight: int
    agent_calls_max: int
    jobs: dict[str, int]
    engine: EngineStatus
    circuit_breaker: BreakerName


class FaultSettings(BaseModel):
    """The injected faults now in force."""

    error_rate: float = Field(ge=0.0, le=1.0)
    latency_ms: float = Field(ge=0.0, le=600_000)
    engine_outage: bool


class FaultChange(BaseModel):
    """A change of injected faults; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_ms: float | None = Field(default=None, ge=0.0, le=600_000)
    engine_outage: bool | None = None
