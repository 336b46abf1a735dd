"""The agent API application: `create_app(settings)`.

The lifespan opens one pooled engine client, builds the metrics on a fresh registry, starts the
research service (and stops it before the engine client closes). Routers live in `routes/`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry, make_asgi_app
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from target_service.api.deps import KeyRing
from target_service.api.engine_client import EngineClient
from target_service.api.errors import install_error_handlers, route_methods
from target_service.api.faults import FaultState
from target_service.api.metrics import AgentMetrics
from target_service.api.middleware import AgentHTTPMiddleware
from target_service.api.routes import admin, codegen, health, status
from target_service.api.runtime import Runtime
from target_service.api.schemas import ErrorBody
from target_service.api.settings import AgentSettings

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong API key"},
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Body is not decodable"},
    413: {"model": ErrorBody, "description": "Body larger than AGENT_MAX_BODY_BYTES"},
}


class _MetricsEndpoint:
    """`make_asgi_app` as a plain route (a class instance, so Starlette calls it as ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def _research(settings: AgentSettings, engine: EngineClient, metrics: AgentMetrics) -> Any:
    """The research job service (`target_service.api.research`)."""
    from target_service.api.research import ResearchService

    return ResearchService(settings, engine, metrics)


def _research_router() -> APIRouter:
    from target_service.api.routes.research import router

    return router


def create_app(settings: AgentSettings | None = None) -> FastAPI:
    """The agent API for `settings` (default: from the environment)."""
    settings = settings or AgentSettings()
    metrics = AgentMetrics(CollectorRegistry())
    runtime = Runtime(settings.max_in_flight, settings.overload_retry_after_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = EngineClient(settings, metrics)
        app.state.engine = engine
        research = _research(settings, engine, metrics)
        app.state.research = research
        await research.start()
        # The corpus and index built at start-up live as long as the process: keep them out
        # of the cyclic GC's scans so that collections on the hot path stay short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            try:
                await research.stop()
            finally:
                await engine.aclose()

    app = FastAPI(
        title="agentload agent API",
        version="1.0.0",
        summary="The agent service under test: status, code generation and research agents.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.runtime = runtime
    app.state.keys = KeyRing(settings.api_keys)
    app.state.faults = FaultState(settings)
    app.state.research = None
    app.state.status_snapshot = status.StatusSnapshot(settings.status_cache_s)
    install_error_handlers(app)
    research_router = _research_router()
    status.add_status_route(app, AUTH_ERRORS)  # first, and on the app: the hottest route
    app.include_router(health.router)
    app.include_router(codegen.router, responses={**AUTH_ERRORS, **BODY_ERRORS})
    app.include_router(research_router, responses={**AUTH_ERRORS, **BODY_ERRORS})
    routers = [app.router, health.router, codegen.router, research_router]
    if settings.admin_key is not None:
        app.include_router(admin.router)
        routers.append(admin.router)
    app.state.route_methods = route_methods(route for r in routers for route in r.routes)
    metrics_app = _MetricsEndpoint(make_asgi_app(registry=metrics.registry))
    app.router.routes.append(Route("/metrics", metrics_app, include_in_schema=False))
    app.add_middleware(
        AgentHTTPMiddleware,
        metrics=metrics,
        runtime=runtime,
        max_body_bytes=settings.max_body_bytes,
    )
    return app
