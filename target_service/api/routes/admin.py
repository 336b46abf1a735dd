"""`/admin/faults`: change injected faults at run time (only when `AGENT_ADMIN_KEY` is set)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from target_service.api.deps import Engine, Faults, Settings
from target_service.api.schemas import ErrorBody, FaultChange, FaultSettings

_bearer = HTTPBearer(auto_error=False, scheme_name="AdminKey", description="AGENT_ADMIN_KEY")


async def require_admin_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the caller sends `Authorization: Bearer <AGENT_ADMIN_KEY>`."""
    admin_key = request.app.state.settings.admin_key
    given = credentials.credentials.encode() if credentials is not None else b""
    if admin_key is None or not hmac.compare_digest(given, admin_key.get_secret_value().encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong admin key",
            headers={"WWW-Authenticate": "Bearer"},
        )  # fmt: skip


router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses={401: {"model": ErrorBody}},
)


def _current(faults: Faults) -> FaultSettings:
    return FaultSettings(
        error_rate=faults.error_rate,
        latency_ms=faults.latency_ms,
        engine_outage=faults.engine_outage,
    )


@router.get("/faults")
async def get_faults(faults: Faults) -> FaultSettings:
    """The injected faults now in force."""
    return _current(faults)


@router.post("/faults", responses={503: {"model": ErrorBody}})
async def set_faults(
    change: FaultChange, faults: Faults, engine: Engine, settings: Settings
) -> FaultSettings:
    """Change injected faults; `engine_outage` is forwarded to the engine's `/admin/faults`."""
    if change.engine_outage is not None:
        assert settings.admin_key is not None  # the router exists only with an admin key
        await engine.set_outage(change.engine_outage, settings.admin_key.get_secret_value())
        faults.engine_outage = change.engine_outage
    if change.error_rate is not None:
        faults.error_rate = change.error_rate
    if change.latency_ms is not None:
        faults.latency_ms = change.latency_ms
    return _current(faults)
