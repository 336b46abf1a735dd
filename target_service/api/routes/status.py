"""Scenario A: `GET /v1/status`, the agent manager's status (cheap: no engine wait)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from target_service.api.breaker import BreakerState
from target_service.api.deps import ClientKey
from target_service.api.engine_client import EngineClient
from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Runtime
from target_service.api.schemas import AgentStatus, BreakerName, EngineStatus

router = APIRouter(prefix="/v1", tags=["status"])

_BREAKER: dict[BreakerState, BreakerName] = {
    BreakerState.CLOSED: "closed",
    BreakerState.OPEN: "open",
    BreakerState.HALF_OPEN: "half_open",
}


@router.get("/status")
async def agent_status(_: ClientKey, request: Request) -> AgentStatus:
    """In-flight requests, jobs by state, engine slots and queue, breaker state, uptime."""
    state = request.app.state
    engine: EngineClient = state.engine
    runtime: Runtime = state.runtime
    metrics: AgentMetrics = state.metrics
    engine_state = await engine.state()
    breaker = engine.breaker.state
    research = getattr(state, "research", None)
    metrics.status_success.inc()
    return AgentStatus(
        status="ok" if breaker is BreakerState.CLOSED and engine_state is not None else "degraded",
        uptime_s=round(runtime.uptime_s, 3),
        in_flight=runtime.http_in_flight,
        agent_calls_in_flight=runtime.agent_in_flight,
        agent_calls_max=runtime.max_in_flight,
        jobs=research.counts() if research is not None else {},
        engine=EngineStatus(reachable=engine_state is not None, **(engine_state or {})),
        circuit_breaker=_BREAKER[breaker],
    )
