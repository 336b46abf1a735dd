"""Scenario B: `POST /v1/agents/codegen`, one engine call, then the code is validated.

Plain: one JSON `CodegenResult`. With `"stream": true`: Server-Sent Events, `event: token`
(`{"text": ...}`) per token, then `event: result` with the same `CodegenResult`, or
`event: error` (`{"status", "detail"}`) if the engine fails after the first token. Failures
before the first token answer with their HTTP status (429/503/504), as the plain call does.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from target_service.api.codegen import build_messages, extract_code, is_valid
from target_service.api.deps import ClientKey, Engine, Faults, Metrics, RuntimeState
from target_service.api.engine_client import EngineClient
from target_service.api.engine_protocol import (
    Completion,
    EngineError,
    EngineSaturated,
    EngineTimeout,
)
from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Overloaded, Runtime
from target_service.api.schemas import (
    CodegenRequest,
    CodegenResult,
    CodegenTimings,
    ErrorBody,
    Usage,
)

router = APIRouter(prefix="/v1/agents", tags=["agents"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Engine saturated or too many calls in flight"},
    500: {"model": ErrorBody, "description": "Injected fault (AGENT_FAULT_ERROR_RATE)"},
    503: {"model": ErrorBody, "description": "Engine down or circuit breaker open"},
    504: {"model": ErrorBody, "description": "Engine timed out"},
}
_STREAM_DOC: dict[str, Any] = {
    "description": "The result, or with `stream: true` an SSE stream of token events and a "
    "final result event",
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string", "enum": ["token", "result", "error"]},
                    "data": {"type": "string", "description": "JSON: {text} / result / error"},
                },
            }
        }
    },
}


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, EngineSaturated | Overloaded):
        return "rejected"
    if isinstance(exc, EngineTimeout):
        return "timeout"
    return "error"


def _result(
    request: CodegenRequest, completion: Completion, started: float, engine_started: float
) -> CodegenResult:
    engine_done = time.perf_counter()
    code = extract_code(completion.text)
    valid = is_valid(code, request.language)
    done = time.perf_counter()
    return CodegenResult(
        id=uuid.uuid4().hex,
        code=code,
        language=request.language,
        valid=valid,
        cached=completion.cached,
        usage=Usage(
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
        ),
        timings=CodegenTimings(
            ttft_ms=round(completion.ttft_s * 1000, 3),
            engine_ms=round((engine_done - engine_started) * 1000, 3),
            validate_ms=round((done - engine_done) * 1000, 3),
            total_ms=round((done - started) * 1000, 3),
        ),
    )


@router.post("/codegen", response_model=CodegenResult, responses={**_ERRORS, 200: _STREAM_DOC})
async def codegen(
    body: CodegenRequest,
    _: ClientKey,
    engine: Engine,
    metrics: Metrics,
    runtime: RuntimeState,
    faults: Faults,
) -> CodegenResult | StreamingResponse:
    """Generate code for the prompt and say whether it parses."""
    started = time.perf_counter()
    outcomes = metrics.task_outcomes
    await faults.apply("codegen")
    try:
        runtime.enter()
    except Overloaded:
        outcomes.labels(agent="codegen", outcome="rejected").inc()
        raise
    if body.stream:
        return await _start_stream(body, engine, metrics, runtime, started)
    try:
        engine_started = time.perf_counter()
        completion = await engine.complete(build_messages(body), body.max_tokens)
    except EngineError as exc:
        outcomes.labels(agent="codegen", outcome=_outcome(exc)).inc()
        raise
    finally:
        runtime.leave()
    result = _result(body, completion, started, engine_started)
    outcomes.labels(agent="codegen", outcome="success" if result.valid else "invalid").inc()
    return result


def _sse(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode()


async def _start_stream(
    body: CodegenRequest,
    engine: EngineClient,
    metrics: AgentMetrics,
    runtime: Runtime,
    started: float,
) -> StreamingResponse:
    """Start the engine call; answer with its HTTP error if it fails before the first token.

    The agent-call slot taken by the caller is given back when the engine call ends.
    """
    queue: asyncio.Queue[str | Completion | EngineError] = asyncio.Queue()

    async def on_token(text: str) -> None:
        queue.put_nowait(text)

    async def produce() -> None:
        try:
            queue.put_nowait(
                await engine.complete(build_messages(body), body.max_tokens, on_token=on_token)
            )
        except EngineError as exc:
            queue.put_nowait(exc)

    engine_started = time.perf_counter()
    task = asyncio.create_task(produce())
    task.add_done_callback(lambda _: runtime.leave())
    outcomes = metrics.task_outcomes
    try:
        first = await queue.get()
    except BaseException:
        task.cancel()
        raise
    if isinstance(first, EngineError):
        outcomes.labels(agent="codegen", outcome=_outcome(first)).inc()
        raise first

    async def events() -> AsyncIterator[bytes]:
        item: str | Completion | EngineError = first
        try:
            while True:
                if isinstance(item, str):
                    yield _sse("token", json.dumps({"text": item}))
                elif isinstance(item, Completion):
                    result = _result(body, item, started, engine_started)
                    outcome = "success" if result.valid else "invalid"
                    outcomes.labels(agent="codegen", outcome=outcome).inc()
                    yield _sse("result", result.model_dump_json())
                    return
                else:
                    outcomes.labels(agent="codegen", outcome=_outcome(item)).inc()
                    status = 504 if isinstance(item, EngineTimeout) else 503
                    yield _sse("error", json.dumps({"status": status, "detail": item.reason}))
                    return
                item = await queue.get()
        finally:
            task.cancel()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
