"""Pure ASGI middleware: request metrics, in-flight count and the body-size limit (413).

The route label is the matched route's template (`/v1/jobs/{job_id}`), read from
`scope["route"]` after the router ran (FastAPI sets it for its own routes; the `/metrics`
route is named here); requests no route matched are labelled `unmatched`, unknown methods
`other`, so label sets stay bounded whatever clients send.
Bodies are checked against `Content-Length` before the app runs; chunked bodies are counted
as they arrive and the app's answer is replaced by 413 once they pass the limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from target_service.api.metrics import AgentMetrics
from target_service.api.runtime import Runtime

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


async def _send_413(send: Send, limit: int) -> None:
    body = b'{"detail":"request body too large (limit %d bytes)"}' % limit
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class AgentHTTPMiddleware:
    """Measures every HTTP request and enforces `AGENT_MAX_BODY_BYTES`."""

    def __init__(
        self, app: ASGIApp, metrics: AgentMetrics, runtime: Runtime, max_body_bytes: int
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.runtime = runtime
        # The gauge reads the plain counter when scraped: nothing to lock per request.
        metrics.in_flight.set_function(lambda: runtime.http_in_flight)
        self.max_body_bytes = max_body_bytes
        self._observers: dict[tuple[str, str, int], Callable[[float], None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        runtime = self.runtime
        runtime.http_in_flight += 1
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            limit = self.max_body_bytes
            length = -1
            for name, value in scope["headers"]:
                if name == b"content-length":
                    length = int(value) if value.isdigit() else limit + 1
                    break
            if length > limit:
                status = 413
                await _send_413(send, limit)
            elif length >= 0 or scope["method"] in _BODILESS:
                # The common case, inline: no wrapper around `receive`.
                await self.app(scope, receive, send_status)
            else:
                status = await self._serve_chunked(scope, receive, send, limit)
        except BaseException:
            status = 500  # counted as a server error even when a response had started
            raise
        finally:
            runtime.http_in_flight -= 1
            self._observer(scope, status)(time.perf_counter() - started)

    def _observer(self, scope: Scope, status: int) -> Callable[[float], None]:
        """The histogram child's `observe` for this route template, method and status."""
        route = getattr(scope.get("route"), "path", None)
        if route is None:
            route = "/metrics" if scope["path"] == "/metrics" else "unmatched"
        method = scope["method"]
        key = (route, method if method in _METHODS else "other", status)
        observe = self._observers.get(key)
        if observe is None:
            child = self.metrics.http_duration.labels(
                route=route, method=key[1], status=str(status)
            )
            observe = self._observers[key] = child.observe
        return observe

    async def _serve_chunked(self, scope: Scope, receive: Receive, send: Send, limit: int) -> int:
        """Run the app on a body of unknown length, counted as it arrives; return the status
        it answered, or 413 (sent from here) once the body passed `limit`."""
        status = 500
        received = 0
        too_large = started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal status, started
            if too_large and not started:
                return
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not (too_large and not started):
                raise
        if too_large and not started:
            await _send_413(send, limit)
            return 413
        return status
