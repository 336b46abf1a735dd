"""Scenario A: `GET /v1/status`, the agent manager's status.

The hot path of the suite's cheapest scenario, kept close to a bare route: no dependency
injection (the key is checked by `authenticate`, the security scheme declared for OpenAPI) and
the JSON written directly rather than validated through the response model, which still
documents it (Schemathesis checks the answers conform). The engine's state is read from a
cache refreshed in the background, so this never waits on the engine.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic_core import to_json

from target_service.api.breaker import BreakerState
from target_service.api.deps import BEARER_SECURITY, authenticate
from target_service.api.engine_client import EngineClient
from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Runtime
from target_service.api.schemas import AgentStatus, BreakerName

router = APIRouter(prefix="/v1", tags=["status"])

_BREAKER: dict[BreakerState, BreakerName] = {
    BreakerState.CLOSED: "closed",
    BreakerState.OPEN: "open",
    BreakerState.HALF_OPEN: "half_open",
}
_NO_ENGINE_STATE = {"slots_busy": None, "slots_total": None, "queue_depth": None, "queue_max": None}


@router.get("/status", response_model=AgentStatus, openapi_extra=BEARER_SECURITY)
async def agent_status(request: Request) -> Response:
    """In-flight requests, jobs by state, engine slots and queue, breaker state, uptime."""
    authenticate(request)
    state = request.app.state
    engine: EngineClient = state.engine
    runtime: Runtime = state.runtime
    metrics: AgentMetrics = state.metrics
    engine_state = await engine.state()
    breaker = engine.breaker.state
    research = state.research
    metrics.status_success.inc()
    healthy = breaker is BreakerState.CLOSED and engine_state is not None
    body = {
        "status": "ok" if healthy else "degraded",
        "uptime_s": round(runtime.uptime_s, 3),
        "in_flight": runtime.http_in_flight,
        "agent_calls_in_flight": runtime.agent_in_flight,
        "agent_calls_max": runtime.max_in_flight,
        "jobs": research.counts() if research is not None else {},
        "engine": {"reachable": engine_state is not None, **(engine_state or _NO_ENGINE_STATE)},
        "circuit_breaker": _BREAKER[breaker],
    }
    return Response(to_json(body), media_type="application/json")
