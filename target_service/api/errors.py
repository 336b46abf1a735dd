"""Exception handlers: engine and overload failures become clear 4xx/5xx answers.

EngineSaturated, Overloaded          429 + Retry-After
BreakerOpen                          503 + Retry-After (until the half-open probe)
EngineUnavailable, other EngineError 503 with the reason
EngineTimeout                        504
FaultInjected                        500 (a deliberate drill fault, the only intended 5xx)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Route

from target_service.api.breaker import BreakerOpen
from target_service.api.engine_protocol import (
    EngineError,
    EngineSaturated,
    EngineTimeout,
    EngineUnavailable,
)
from target_service.api.faults import FaultInjected
from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Overloaded


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


async def _saturated(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EngineSaturated)
    return JSONResponse(
        {"detail": f"engine saturated: {exc.reason}"}, 429, _retry_after(exc.retry_after_s)
    )


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Overloaded)
    return JSONResponse({"detail": str(exc)}, 429, _retry_after(exc.retry_after_s))


async def _breaker_open(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BreakerOpen)
    wait = request.app.state.engine.breaker.retry_after_s()
    return JSONResponse({"detail": exc.reason}, 503, _retry_after(wait))


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EngineError)
    return JSONResponse({"detail": f"engine unavailable: {exc.reason}"}, 503)


async def _timeout(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EngineTimeout)
    return JSONResponse({"detail": exc.reason}, 504)


async def _fault(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FaultInjected)
    metrics: AgentMetrics = request.app.state.metrics
    metrics.task_outcomes.labels(agent=exc.agent, outcome="error").inc()
    return JSONResponse({"detail": str(exc)}, 500)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code != 405:
        return await http_exception_handler(request, exc)
    path = request.url.path
    allowed: list[tuple[re.Pattern[str], set[str]]] = request.app.state.route_methods
    methods = {method for regex, route_methods in allowed if regex.match(path)
               for method in route_methods}  # fmt: skip
    return JSONResponse({"detail": exc.detail}, 405, {"Allow": ", ".join(sorted(methods))})


def route_methods(routes: Iterable[BaseRoute]) -> list[tuple[re.Pattern[str], set[str]]]:
    """(path regex, methods) of every route, for the `Allow` header of 405 answers."""
    return [
        (route.path_regex, set(route.methods))
        for route in routes
        if isinstance(route, Route) and route.methods  # APIRoute is a Route
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers above on `app` (most specific classes first)."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(EngineSaturated, _saturated)
    app.add_exception_handler(Overloaded, _overloaded)
    app.add_exception_handler(BreakerOpen, _breaker_open)
    app.add_exception_handler(EngineTimeout, _timeout)
    app.add_exception_handler(EngineUnavailable, _unavailable)
    app.add_exception_handler(EngineError, _unavailable)
    app.add_exception_handler(FaultInjected, _fault)
