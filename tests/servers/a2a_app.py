"""A tiny Agent2Agent server on the real ``a2a-sdk`` (JSON-RPC transport), for the ``a2a`` preset.

``python -m tests.servers.a2a_app --port PORT [--agent echo|failing] [--path /a2a]`` serves on
127.0.0.1, with the SDK's own routes and request handler (protocol 1.0, ``A2A-Version: 1.0``):

- ``POST /`` (or ``--path``) -> the JSON-RPC endpoint (``SendMessage``, ``SendStreamingMessage``,
  ``GetTask``, ...);
- ``GET /.well-known/agent-card.json`` -> the agent card (readiness too);
- ``GET /count`` -> ``{"executions": N, "agent": ...}``: how many times the executor ran, for
  the test to compare with agentload's counts (a route of ours, not A2A's).

Agents (no LLM, no key, no network):

- ``echo``: the task, a ``working`` status, then after ~100 ms the user's text echoed back as one
  artifact streamed in three chunks 20 ms apart (``echo: `` + the words), then ``completed``;
- ``failing``: the task, ``working``, then the two ways an agent fails, in turn: odd executions
  end the task ``failed`` with the agent message ``the failing agent failed on purpose`` (an
  agent that catches its own error); even ones let ``RuntimeError("the raising agent raised on
  purpose")`` escape ``execute`` (an agent that crashes: the SDK answers a blocking send with a
  JSON-RPC error -32603 carrying the text, a stream with an ``error`` event, and marks the task
  ``failed`` without a message).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn
from a2a.helpers import new_task_from_user_message, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import AgentCapabilities, AgentCard, AgentInterface, AgentSkill
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

WORK_S = 0.1  # the agent "thinks" this long before its first chunk
CHUNK_S = 0.02  # between the chunks of the echoed artifact
FAILED_TEXT = "the failing agent failed on purpose"
RAISED_TEXT = "the raising agent raised on purpose"


class CountingExecutor(AgentExecutor):
    """Counts its executions: the task (a new one, or the one the message continues), a
    ``working`` status, ``WORK_S`` of thought, then ``run``."""

    def __init__(self) -> None:
        self.executions = 0

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        self.executions += 1
        number = self.executions
        task = context.current_task
        if task is None:
            assert context.message is not None  # a send always carries the user's message
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.start_work()
        await asyncio.sleep(WORK_S)
        await self.run(number, context.get_user_input(), updater)

    async def run(self, number: int, text: str, updater: TaskUpdater) -> None:
        """What execution ``number`` (1-based) does once the task is working."""
        raise NotImplementedError

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        assert context.task_id is not None and context.context_id is not None
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


class EchoExecutor(CountingExecutor):
    """Echoes the user's text as one artifact in three chunks, then completes."""

    async def run(self, number: int, text: str, updater: TaskUpdater) -> None:
        words = text.split()
        half = len(words) // 2
        pieces = ["echo:", " " + " ".join(words[:half]), " " + " ".join(words[half:])]
        for index, piece in enumerate(pieces):
            if index:
                await asyncio.sleep(CHUNK_S)
            await updater.add_artifact(
                [new_text_part(piece)],
                artifact_id="echo",
                name="echo",
                append=index > 0,
                last_chunk=index == len(pieces) - 1,
            )
        await updater.complete()


class FailingExecutor(CountingExecutor):
    """Ends the task ``failed`` with a message saying why, and raises every other time."""

    async def run(self, number: int, text: str, updater: TaskUpdater) -> None:
        if number % 2 == 0:
            raise RuntimeError(RAISED_TEXT)
        message = new_text_message(
            FAILED_TEXT, task_id=updater.task_id, context_id=updater.context_id
        )
        await updater.failed(message)


AGENTS: dict[str, type[CountingExecutor]] = {
    "echo": EchoExecutor,
    "failing": FailingExecutor,
}


def agent_card(url: str, agent: str) -> AgentCard:
    """The card the SDK serves at ``/.well-known/agent-card.json``: JSON-RPC at ``url``."""
    return AgentCard(
        name=f"agentload {agent} agent",
        description="Echoes the user's text (a test agent of agentload)",
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=True),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[AgentSkill(id="echo", name="echo", description="Echo", tags=["test"])],
    )


def build_app(port: int, agent: str, path: str = "/") -> Starlette:
    """The SDK's routes for ``agent`` (JSON-RPC at ``path``), plus ``GET /count``."""
    executor = AGENTS[agent]()
    card = agent_card(f"http://127.0.0.1:{port}{path}", agent)
    handler = DefaultRequestHandler(
        agent_executor=executor, task_store=InMemoryTaskStore(), agent_card=card
    )

    async def count(_request: Request) -> JSONResponse:
        body: dict[str, Any] = {"executions": executor.executions, "agent": agent}
        return JSONResponse(body)

    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, path),
        Route("/count", count, methods=["GET"]),
    ]
    return Starlette(routes=routes)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.servers.a2a_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--agent", choices=sorted(AGENTS), default="echo")
    parser.add_argument("--path", default="/", help="the JSON-RPC endpoint's path (default /)")
    args = parser.parse_args()
    app = build_app(args.port, args.agent, args.path)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
