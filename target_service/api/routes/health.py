"""Liveness and readiness (no auth)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from target_service.api.deps import Engine
from target_service.api.schemas import ErrorBody

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"model": ErrorBody, "description": "Engine not ready"}})
async def readyz(engine: Engine) -> JSONResponse:
    """Ready when the engine answers `GET /v1/models`."""
    if await engine.ready():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"detail": "engine not answering"}, status_code=503)
