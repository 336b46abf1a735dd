"""A small async runs API whose every path is known, described by tests/servers/runs.toml.

``python -m tests.servers.runs_api PORT`` serves:

- ``POST /runs`` -> 202 ``{"run_id", "status": "pending"}``. Runs take turns by creation order:
  ``success`` (ends after 0.3 s), ``error`` (ends after 0.3 s with an error), ``stuck`` (never ends:
  the client's deadline must cancel it), ``retry`` (the first poll answers 429 with
  ``Retry-After: 1``, then it ends in success).
- ``GET /runs/{run_id}`` -> the run (``pending|running|success|error|interrupted``).
- ``POST /runs/{run_id}/cancel`` -> the run ``interrupted``.
- ``GET /ok`` -> 200 (readiness); ``GET /truth`` -> what happened, for the test to compare:
  runs created per kind, cancels, and for each ``retry`` run the seconds between its 429 and the
  next poll (a client that honours ``Retry-After`` waits at least 1 s).

Standard library only; threads; loopback.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("success", "error", "stuck", "retry")
RUN_S = 0.3
RETRY_AFTER_S = 1


class RunsState:
    """Every run and what the clients did, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.runs: dict[str, dict[str, Any]] = {}
        self.created = 0
        self.cancels = 0
        self.retry_gaps: list[float] = []

    def create(self) -> dict[str, Any]:
        with self.lock:
            kind = KINDS[self.created % len(KINDS)]
            self.created += 1
            run = {"run_id": uuid.uuid4().hex, "kind": kind, "born": time.monotonic()}
            run.update(status="pending", rejected_at=None)
            self.runs[run["run_id"]] = run
            return run

    def view(self, run: dict[str, Any]) -> dict[str, Any]:
        """The run as a client sees it now."""
        age = time.monotonic() - run["born"]
        if run["status"] != "interrupted":
            if run["kind"] == "stuck" or age < RUN_S:
                run["status"] = "running" if age > 0.05 else "pending"
            else:
                run["status"] = "error" if run["kind"] == "error" else "success"
        body = {"run_id": run["run_id"], "status": run["status"]}
        if run["status"] == "error":
            body["error"] = "tool call failed"
        if run["status"] == "success":
            body["output"] = {"messages": [{"role": "assistant", "content": "done"}]}
        return body


STATE = RunsState()


class Handler(BaseHTTPRequestHandler):
    """The runs API's routes."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        return None

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _drain(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = self.path.strip("/").split("/")
        if self.path == "/ok":
            self._send(200, {"ok": True})
        elif self.path == "/truth":
            with STATE.lock:
                kinds = [r["kind"] for r in STATE.runs.values()]
                truth = {
                    "created": {k: kinds.count(k) for k in KINDS},
                    "cancels": STATE.cancels,
                    "retry_gaps": list(STATE.retry_gaps),
                }
            self._send(200, truth)
        elif len(parts) == 2 and parts[0] == "runs":
            self._poll(parts[1])
        else:
            self._send(404, {"detail": "not found"})

    def _poll(self, run_id: str) -> None:
        with STATE.lock:
            run = STATE.runs.get(run_id)
            if run is None:
                self._send(404, {"detail": "no such run"})
                return
            if run["kind"] == "retry":
                if run["rejected_at"] is None:
                    run["rejected_at"] = time.monotonic()
                    self._send(429, {"detail": "slow down"}, {"Retry-After": str(RETRY_AFTER_S)})
                    return
                if run.get("gap") is None:
                    run["gap"] = time.monotonic() - run["rejected_at"]
                    STATE.retry_gaps.append(run["gap"])
            body = STATE.view(run)
        self._send(200, body)

    def do_POST(self) -> None:  # noqa: N802
        self._drain()
        parts = self.path.strip("/").split("/")
        if self.path == "/runs":
            run = STATE.create()
            self._send(202, {"run_id": run["run_id"], "status": "pending"})
        elif len(parts) == 3 and parts[0] == "runs" and parts[2] == "cancel":
            with STATE.lock:
                run = STATE.runs.get(parts[1])
                if run is not None:
                    run["status"] = "interrupted"
                    STATE.cancels += 1
            self._send(200 if run else 404, {"run_id": parts[1], "status": "interrupted"})
        else:
            self._send(404, {"detail": "not found"})


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"runs_api listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
