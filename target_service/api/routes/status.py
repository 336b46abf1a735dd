"""Scenario A: `GET /v1/status`, the agent manager's status.

The hot path of the suite's cheapest scenario, kept cheaper than a bare FastAPI route. The
route is an `APIRoute` (so OpenAPI documents it, with its response model and Bearer security)
registered on the app itself, first in its route list (dispatch through an included router
costs about 20 µs of CPU per request with FastAPI 0.165), and served by `StatusEndpoint`, a
pure ASGI callable put in place of FastAPI's request handler: no `Request`, no dependency
solving, no exit stacks, no `Response` object. That halves the server's CPU time per request
(114 -> 59 µs, measured with benchmarks/bench_target.py). The key is checked by
`authenticate_headers` (a 401 is raised as `HTTPException`, answered by the app's handler as
on every route); the body is a snapshot rebuilt at most every `AGENT_STATUS_CACHE_S` (JSON
written directly; the response model documents it and Schemathesis checks the answers
conform). The engine's state comes from a cache refreshed in the background, so this never
waits on it.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from pydantic_core import to_json
from starlette.datastructures import State
from starlette.types import Receive, Scope, Send

from target_service.api.breaker import BreakerState
from target_service.api.deps import BEARER_SECURITY, authenticate, authenticate_headers
from target_service.api.engine_client import EngineClient
from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Runtime
from target_service.api.schemas import AgentStatus, BreakerName

_BREAKER: dict[BreakerState, BreakerName] = {
    BreakerState.CLOSED: "closed",
    BreakerState.OPEN: "open",
    BreakerState.HALF_OPEN: "half_open",
}
_NO_ENGINE_STATE = {"slots_busy": None, "slots_total": None, "queue_depth": None, "queue_max": None}


class StatusSnapshot:
    """The status body, rebuilt when it is older than `max_age_s` (0: on every request)."""

    def __init__(self, max_age_s: float) -> None:
        self.max_age_s = max_age_s
        self._body = b""
        self._length = b"0"
        self._taken = float("-inf")

    async def body(self, state: State) -> bytes:
        return (await self.body_and_length(state))[0]

    async def body_and_length(self, state: State) -> tuple[bytes, bytes]:
        """The body and its length as a `content-length` header value."""
        now = time.monotonic()
        if now - self._taken >= self.max_age_s:
            self._body = await _build(state)
            self._length = b"%d" % len(self._body)
            self._taken = now
        return self._body, self._length


async def _build(state: State) -> bytes:
    engine: EngineClient = state.engine
    runtime: Runtime = state.runtime
    engine_state = await engine.state()
    breaker = engine.breaker.state
    research = state.research
    healthy = breaker is BreakerState.CLOSED and engine_state is not None
    return to_json(
        {
            "status": "ok" if healthy else "degraded",
            "uptime_s": round(runtime.uptime_s, 3),
            "in_flight": runtime.http_in_flight,
            "agent_calls_in_flight": runtime.agent_in_flight,
            "agent_calls_max": runtime.max_in_flight,
            "jobs": research.counts() if research is not None else {},
            "engine": {"reachable": engine_state is not None, **(engine_state or _NO_ENGINE_STATE)},
            "circuit_breaker": _BREAKER[breaker],
        }
    )


_CONTENT_TYPE = (b"content-type", b"application/json")


class StatusEndpoint:
    """`GET /v1/status` as pure ASGI: authenticate, count the success, send the snapshot."""

    def __init__(self, state: State) -> None:
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self._state
        authenticate_headers(scope["headers"], state.keys)
        metrics: AgentMetrics = state.metrics
        metrics.status_success.inc()
        snapshot: StatusSnapshot = state.status_snapshot
        body, length = await snapshot.body_and_length(state)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", length), _CONTENT_TYPE],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def agent_status(request: Request) -> Response:
    """In-flight requests, jobs by state, engine slots and queue, breaker state, uptime
    (a snapshot at most `AGENT_STATUS_CACHE_S` old)."""
    authenticate(request)
    state = request.app.state
    metrics: AgentMetrics = state.metrics
    metrics.status_success.inc()
    snapshot: StatusSnapshot = state.status_snapshot
    return Response(await snapshot.body(state), media_type="application/json")


def add_status_route(app: FastAPI, responses: dict[int | str, dict[str, Any]]) -> None:
    """Register `GET /v1/status` on `app` directly, first of its routes, served by
    `StatusEndpoint` (`agent_status`, the same as a FastAPI endpoint, documents it)."""
    app.add_api_route(
        "/v1/status",
        agent_status,
        methods=["GET"],
        response_model=AgentStatus,
        responses=responses,
        tags=["status"],
        openapi_extra=BEARER_SECURITY,
    )
    routes = app.router.routes
    route = routes.pop()
    assert isinstance(route, APIRoute) and route.endpoint is agent_status
    route.app = StatusEndpoint(app.state)
    routes.insert(0, route)
