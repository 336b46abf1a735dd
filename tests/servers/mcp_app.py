"""A tiny MCP server on the official ``mcp`` SDK (``MCPServer``, streamable HTTP), for the ``mcp``
preset's tests.

``python -m tests.servers.mcp_app --port PORT [--json-response]`` serves on 127.0.0.1:

- ``/mcp``: the SDK's streamable-HTTP transport, stateful (``initialize`` opens a session named by
  the ``Mcp-Session-Id`` header, ``DELETE`` ends it), and the stateless per-request protocol
  (``MCP-Protocol-Version: 2026-07-28``) on the same path. Answers are SSE (the SDK's default) or
  plain JSON with ``--json-response``.
- tools: ``echo(text)`` sleeps ``ECHO_S`` and returns ``text``; ``fail(text)`` raises a
  ``ToolError`` whose message starts with ``FAIL_MESSAGE`` (the SDK answers HTTP 200 with a result
  ``isError: true`` carrying it).
- ``GET /counts``: what the server did, for the tests to compare with agentload's counts: tool
  invocations (by tool, by session, by protocol version), the session ids it issued and the ones
  a ``DELETE`` ended.

No network beyond loopback, no LLM, no key.
"""

from __future__ import annotations

import argparse
import threading
from collections import Counter
from typing import Any

import anyio
import uvicorn
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ECHO_S = 0.1
FAIL_MESSAGE = "mcp_app fail tool raised on purpose"
SESSION_HEADER = b"mcp-session-id"


class Counts:
    """What the server did, behind one lock (tools run in the event loop, reads in a route)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tools: Counter[str] = Counter()
        self.by_session: Counter[str] = Counter()
        self.by_version: Counter[str] = Counter()
        self.created: list[str] = []
        self.deleted: list[str] = []

    def tool_call(self, name: str, ctx: Context) -> None:
        headers = ctx.headers or {}
        with self.lock:
            self.tools[name] += 1
            self.by_session[headers.get("mcp-session-id", "none")] += 1
            self.by_version[ctx.protocol_version or "none"] += 1

    def view(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tool_calls": sum(self.tools.values()),
                "tools": dict(self.tools),
                "tool_calls_by_session": dict(self.by_session),
                "tool_calls_by_version": dict(self.by_version),
                "sessions_created": len(self.created),
                "sessions_deleted": len(self.deleted),
                "created": list(self.created),
                "deleted": list(self.deleted),
            }


COUNTS = Counts()
server = MCPServer("agentload-mcp-echo", version="1.0", log_level="WARNING")


@server.tool()
async def echo(text: str, ctx: Context) -> str:
    """Wait a little, then answer the text given."""
    COUNTS.tool_call("echo", ctx)
    await anyio.sleep(ECHO_S)
    return text


@server.tool()
async def fail(text: str, ctx: Context) -> str:
    """Always raise: the negative test's tool."""
    COUNTS.tool_call("fail", ctx)
    raise ToolError(f"{FAIL_MESSAGE}: {text}")


@server.custom_route("/counts", methods=["GET"])
async def counts(_request: Request) -> JSONResponse:
    return JSONResponse(COUNTS.view())


class SessionWatch:
    """Pure ASGI middleware that records the sessions on the wire: an ``Mcp-Session-Id`` answered
    to a request that carried none was created; a ``DELETE`` answered 2xx ended its session."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        asked = dict(scope["headers"]).get(SESSION_HEADER)
        method = scope["method"]

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = dict(message.get("headers", [])).get(SESSION_HEADER)
                ok = 200 <= message["status"] < 300
                with COUNTS.lock:
                    if asked is None and given is not None and ok:
                        COUNTS.created.append(given.decode())
                    if method == "DELETE" and asked is not None and ok:
                        COUNTS.deleted.append(asked.decode())
            await send(message)

        await self.app(scope, receive, watch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--json-response", action="store_true", help="plain JSON, not SSE")
    args = parser.parse_args()
    app = server.streamable_http_app(json_response=args.json_response)
    uvicorn.run(SessionWatch(app), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
