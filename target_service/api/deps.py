"""Shared dependencies of the routers, as named `Annotated` aliases.

ClientKey      the caller's key id (sha256 of the key, first 16 hex); 401 without a valid key
Settings       app.state.settings (AgentSettings)
Metrics        app.state.metrics (AgentMetrics)
Engine         app.state.engine (EngineClient)
RuntimeState   app.state.runtime (in-flight counters, admission)
Faults         app.state.faults (FaultState): `await faults.apply("research")` in a route,
               after validation, injects `AGENT_FAULT_*` latency / 500s into an agent call
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from target_service.api.engine_client import EngineClient
from target_service.api.faults import FaultState
from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Runtime
from target_service.api.settings import AgentSettings

_bearer = HTTPBearer(auto_error=False, description="An API key from AGENT_API_KEYS.")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
BEARER_SECURITY: dict[str, object] = {"security": [{"HTTPBearer": []}]}


def key_id(key: str) -> str:
    """The id under which a key's jobs are stored: never the raw key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class KeyRing:
    """The accepted API keys, compared in constant time against every one of them."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = [key.encode() for key in keys]
        self._ids = [key_id(key) for key in keys]

    def identify(self, token: bytes) -> str | None:
        """The key id of `token` if it is one of the keys, else None."""
        found = -1
        for index, key in enumerate(self._keys):
            if hmac.compare_digest(token, key):
                found = index
        return self._ids[found] if found >= 0 else None


def authenticate_headers(headers: Iterable[tuple[bytes, bytes]], keys: KeyRing) -> str:
    """The caller's key id from `Authorization: Bearer <key>` in raw ASGI `headers`, or 401
    with a Bearer challenge (`HTTPException`, answered by the app's exception handler)."""
    header = b""
    for name, value in headers:
        if name == b"authorization":
            header = value
            break
    scheme, _, token = header.partition(b" ")
    token = token.strip()
    if not token or scheme.lower() != b"bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing API key: send Authorization: Bearer <key>",
            headers=_CHALLENGE,
        )  # fmt: skip
    ident = keys.identify(token)
    if ident is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", headers=_CHALLENGE)
    return ident


def authenticate(request: Request) -> str:
    """`authenticate_headers` for a request (the key ring is `app.state.keys`).

    Plain function for hot routes that skip dependency injection (they declare the
    `HTTPBearer` security scheme through `BEARER_SECURITY` instead).
    """
    return authenticate_headers(request.scope["headers"], request.app.state.keys)


async def require_api_key(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's key id; 401 with a Bearer challenge when the key is missing or wrong."""
    return authenticate(request)


async def get_settings(request: Request) -> AgentSettings:
    settings: AgentSettings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> AgentMetrics:
    metrics: AgentMetrics = request.app.state.metrics
    return metrics


async def get_engine(request: Request) -> EngineClient:
    engine: EngineClient = request.app.state.engine
    return engine


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_faults(request: Request) -> FaultState:
    faults: FaultState = request.app.state.faults
    return faults


ClientKey = Annotated[str, Depends(require_api_key)]
Settings = Annotated[AgentSettings, Depends(get_settings)]
Metrics = Annotated[AgentMetrics, Depends(get_metrics)]
Engine = Annotated[EngineClient, Depends(get_engine)]
RuntimeState = Annotated[Runtime, Depends(get_runtime)]
Faults = Annotated[FaultState, Depends(get_faults)]
