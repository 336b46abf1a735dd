"""The engine's FastAPI app: OpenAI-compatible completions, state, health, metrics, faults."""

from __future__ import annotations

import hmac
import time
from typing import Annotated

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from target_service.engine.metrics import EngineMetrics, default_collectors
from target_service.engine.scheduler import CapacityModel, QueueFull
from target_service.engine.schemas import ChatRequest, FaultsUpdate
from target_service.engine.service import Engine
from target_service.engine.settings import EngineSettings

COMPLETIONS_PATH = "/v1/chat/completions"


def _error(status: int, message: str, kind: str, code: str, **headers: str) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def create_app(
    settings: EngineSettings | None = None, registry: CollectorRegistry | None = None
) -> FastAPI:
    """Build the engine app; metrics go to `registry` (a fresh one with the process collectors
    when not given)."""
    settings = settings or EngineSettings()
    if registry is None:
        registry = CollectorRegistry()
        default_collectors(registry)
    model = CapacityModel(settings)
    engine = Engine(settings, model, EngineMetrics(registry, model.pool))
    app = FastAPI(title="agentload simulated engine", version="1.0")
    app.state.engine = engine
    started = int(time.time())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if request.url.path == COMPLETIONS_PATH:
            engine.metrics.outcome["bad_request"].inc()
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        body = {
            "error": {
                "message": f"{where}: {first.get('msg', 'invalid request')}",
                "type": "invalid_request_error",
                "code": "invalid_request",
            },
            "detail": jsonable_encoder(exc.errors()),
        }
        return JSONResponse(body, status_code=422)

    @app.post(COMPLETIONS_PATH, response_model=None)
    async def chat_completions(body: ChatRequest) -> Response:
        if engine.outage:
            engine.metrics.outcome["unavailable"].inc()
            return _error(503, "engine outage (fault injection)", "engine_unavailable", "outage")
        try:
            gen = await engine.admit(body)
        except QueueFull as exc:
            engine.metrics.outcome["rejected"].inc()
            retry = {"Retry-After": str(engine.model.retry_after_s())}
            return _error(429, str(exc), "engine_overloaded", "queue_full", **retry)
        if body.stream:
            return StreamingResponse(
                engine.stream(gen),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        return JSONResponse(await engine.complete(gen))

    @app.get("/v1/engine/state")
    async def engine_state() -> dict[str, int | bool]:
        return engine.state()

    @app.get("/v1/models")
    async def models() -> dict[str, object]:
        card = {"id": settings.model_name, "object": "model", "created": started}
        return {"object": "list", "data": [{**card, "owned_by": "agentload"}]}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    if settings.admin_key is not None:
        _add_admin(app, engine, settings.admin_key.get_secret_value())
    return app


def _add_admin(app: FastAPI, engine: Engine, key: str) -> None:
    """`/admin/faults`, guarded by `Authorization: Bearer <ENGINE_ADMIN_KEY>`."""
    expected = key.encode()

    def require_admin(authorization: Annotated[str | None, Header()] = None) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            raise HTTPException(
                401, "missing or wrong admin key", headers={"WWW-Authenticate": "Bearer"}
            )

    admin = [Depends(require_admin)]

    @app.get("/admin/faults", dependencies=admin)
    async def get_faults() -> dict[str, bool]:
        return {"outage": engine.outage}

    @app.post("/admin/faults", dependencies=admin)
    async def set_faults(update: FaultsUpdate) -> dict[str, bool]:
        engine.outage = update.outage
        return {"outage": engine.outage}
