"""A stateful agent API of our own for the session tests, whose every count is known exactly.

``python -m tests.servers.sessions_api --port PORT`` serves:

- ``POST /threads`` -> ``{"thread_id"}`` and an ``X-Session`` header that every later call on the
  thread must send back (else 401): a header capture is needed;
- ``POST /threads/{thread_id}/chat`` ``{"messages": [...]}`` -> ``{"reply", "seen"}``: the reply
  echoes the last message; ``seen`` is the number of messages received, also counted by size;
- ``POST /threads/{thread_id}/runs`` -> ``{"run_id", "status": "pending"}``; the run succeeds
  ``RUN_S`` later: ``GET /threads/{thread_id}/runs/{run_id}`` says so (404 for a run of another
  thread: both ids are needed); ``GET /threads/{thread_id}/state`` -> the last run's output;
- ``DELETE /threads/{thread_id}`` -> 204;
- ``GET /counts``: threads created and deleted, runs created, chats by number of messages and
  by the first word of their last message.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Response

RUN_S = 0.2

app = FastAPI()
threads: dict[str, dict[str, Any]] = {}
counts: dict[str, Any] = {
    "created": 0, "deleted": 0, "runs": 0, "chats": Counter(), "first_words": Counter()
}  # fmt: skip


def _thread(thread_id: str, session: str | None) -> dict[str, Any]:
    thread = threads.get(thread_id)
    if thread is None:
        raise HTTPException(404, "no such thread")
    if session != thread["session"]:
        raise HTTPException(401, "wrong X-Session")
    return thread


@app.post("/threads")
def create_thread(response: Response) -> dict[str, str]:
    thread_id = str(uuid.uuid4())
    session = uuid.uuid4().hex
    threads[thread_id] = {"session": session, "runs": {}, "output": None}
    counts["created"] += 1
    response.headers["X-Session"] = session
    return {"thread_id": thread_id}


@app.post("/threads/{thread_id}/chat")
def chat(thread_id: str, body: dict[str, Any], x_session: str | None = Header(None)) -> Any:
    _thread(thread_id, x_session)
    messages = body.get("messages") or []
    counts["chats"][len(messages)] += 1
    counts["first_words"][str(messages[-1]["content"]).split(" ", 1)[0]] += 1
    return {"reply": f"echo: {messages[-1]['content']}", "seen": len(messages)}


@app.post("/threads/{thread_id}/runs")
def create_run(thread_id: str, body: dict[str, Any], x_session: str | None = Header(None)) -> Any:
    thread = _thread(thread_id, x_session)
    run_id = str(uuid.uuid4())
    thread["runs"][run_id] = {"ends": time.monotonic() + RUN_S, "input": body.get("input")}
    counts["runs"] += 1
    return {"run_id": run_id, "status": "pending"}


@app.get("/threads/{thread_id}/runs/{run_id}")
def read_run(thread_id: str, run_id: str, x_session: str | None = Header(None)) -> Any:
    thread = _thread(thread_id, x_session)
    run = thread["runs"].get(run_id)
    if run is None:
        raise HTTPException(404, "no such run on this thread")
    done = time.monotonic() >= run["ends"]
    if done:
        thread["output"] = f"done: {run['input']}"
    return {"run_id": run_id, "status": "success" if done else "running"}


@app.get("/threads/{thread_id}/state")
def state(thread_id: str, x_session: str | None = Header(None)) -> Any:
    return {"values": {"output": _thread(thread_id, x_session)["output"]}}


@app.delete("/threads/{thread_id}", status_code=204)
def delete_thread(thread_id: str, x_session: str | None = Header(None)) -> Response:
    _thread(thread_id, x_session)
    del threads[thread_id]
    counts["deleted"] += 1
    return Response(status_code=204)


@app.get("/counts")
def read_counts() -> dict[str, Any]:
    chats = {str(k): v for k, v in sorted(counts["chats"].items())}
    return {**counts, "chats": chats, "first_words": dict(counts["first_words"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
