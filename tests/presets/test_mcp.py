"""The ``mcp`` preset against the official ``mcp`` SDK's server (``MCPServer`` over streamable
HTTP, tests/servers/mcp_app.py): one smoke run shared by the tests that read it, one short run
with the tool that raises.

Every JSON-RPC method goes to one path; the preset names each step's entry
(``POST /{mcp_path} tools/call``), and requests.jsonl.gz gives each request's scenario: each
session is one task (its first request's line is ``part: "call"``, the others ``"step"``).
"""

from __future__ import annotations

import gzip
import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runner.agentload_run import run_agentload, summary
from tests.servers.mcp_app import FAIL_MESSAGE
from tests.support import start_server, stop_process

pytestmark = pytest.mark.slow
TURNS = 3  # the preset's turns: tools/call requests per session
VERSIONS = {"session": "2025-11-25", "stateless": "2026-07-28"}  # the server sees per tool call
CALL, DELETE = "POST /{mcp_path} tools/call", "DELETE /{mcp_path}"


@dataclass
class Server:
    url: str
    log: Path

    def counts(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/counts", timeout=5).json()  # type: ignore[no-any-return]


@dataclass
class Run:
    """One ``agentload run`` against the server, with the server's counts before and after."""

    done: subprocess.CompletedProcess[str]
    out: Path
    before: dict[str, Any]
    after: dict[str, Any]

    def grown(self, key: str) -> Any:
        """How a count of the server's grew during the run (a number, a Counter or a set)."""
        old, new = self.before[key], self.after[key]
        if isinstance(new, int):
            return new - old
        if isinstance(new, dict):
            return Counter(new) - Counter(old)
        return set(new) - set(old)

    def rows(self) -> list[dict[str, Any]]:
        """requests.jsonl.gz, a dict a request."""
        with gzip.open(self.out / "requests.jsonl.gz", "rt", encoding="utf-8") as lines:
            return [json.loads(line) for line in lines]

    def sessions(self, scenario: str) -> int:
        """How many sessions of ``scenario`` agentload ran (one ``call`` line each)."""
        return sum(1 for r in self.rows() if r["scenario"] == scenario and r["part"] == "call")

    def requests(self, scenario: str, entry: str) -> int:
        return sum(1 for r in self.rows() if r["scenario"] == scenario and r["entry"] == entry)


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``python -m tests.servers.mcp_app`` (SSE answers, the SDK's default) on a free port."""
    log = tmp_path_factory.mktemp("mcp") / "server.log"
    process, url = start_server("tests.servers.mcp_app", [], "/counts", log)
    try:
        yield Server(url, log)
    finally:
        stop_process(process)


def _run(server: Server, out: Path, duration: str, *extra: str) -> Run:
    before = server.counts()
    args = ["run", "smoke", "--api", "mcp", "--host", server.url, "--duration", duration]
    done = run_agentload([*args, *extra, "--no-prometheus", "--out", str(out)])
    return Run(done, out, before, server.counts())


@pytest.fixture(scope="module")
def smoke(mcp_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The one smoke run (both scenarios) that the tests below read."""
    return _run(mcp_server, tmp_path_factory.mktemp("smoke") / "run", "10s")


def test_smoke_passes_with_every_session_a_success(smoke: Run, mcp_server: Server) -> None:
    """smoke --api mcp against the SDK's server: exit 0, no traceback on either side, agent
    success 100 % in both scenarios (SSE answers in ``session``, JSON in ``stateless``)."""
    assert smoke.done.returncode == 0, smoke.done.stderr[-3000:]
    assert "Traceback" not in smoke.done.stderr
    assert "Traceback" not in mcp_server.log.read_text(errors="replace")
    result = summary(smoke.out)
    for scenario in ("session", "stateless"):
        outcomes = result["agent_outcomes"][scenario]
        assert outcomes["success_rate"] == 1.0 and outcomes["total"] > 0, outcomes
        assert result["endpoints"][f"TTC {scenario}"]["requests"] == outcomes["total"]


def test_server_tool_invocations_equal_agentload_tools_call_count(smoke: Run) -> None:
    """Every tools/call agentload sent ran the tool once: per protocol version (one a scenario)
    the server's invocations equal agentload's tools/call requests, TURNS a session; the
    tools/call entry counts them all."""
    served = smoke.grown("tool_calls_by_version")
    assert smoke.grown("tool_calls") == sum(served.values())
    for scenario, version in VERSIONS.items():
        sessions = smoke.sessions(scenario)
        calls = smoke.requests(scenario, CALL)
        assert calls == served[version] == TURNS * sessions > 0, (scenario, calls, served)
    assert summary(smoke.out)["endpoints"][CALL]["requests"] == sum(served.values())


def test_one_session_per_user_session_each_deleted_at_the_end(smoke: Run) -> None:
    """The server created one MCP session per agentload session of ``session``, its TURNS tool
    calls carried that session's id, and every session was deleted: none left open."""
    created, deleted = smoke.grown("created"), smoke.grown("deleted")
    sessions = smoke.sessions("session")
    assert len(created) == smoke.grown("sessions_created") == sessions > 0
    assert deleted == created, f"left open: {sorted(created - deleted)}"
    assert smoke.requests("session", DELETE) == sessions
    per_session = smoke.grown("tool_calls_by_session")
    assert {per_session[sid] for sid in created} == {TURNS}
    assert per_session["none"] == TURNS * smoke.sessions("stateless")  # no session header


def test_a_tool_that_raises_gives_outcome_error_with_its_text(
    mcp_server: Server, tmp_path: Path
) -> None:
    """--var tool=fail: the SDK answers HTTP 200 with ``isError: true``; every session's outcome
    is an error carrying the tool's message; the gates fail (exit 1); each session ends at its
    first call and is still deleted."""
    run = _run(mcp_server, tmp_path / "run", "6s", "--var", "tool=fail")
    assert run.done.returncode == 1, run.done.stderr[-3000:]
    assert "Traceback" not in run.done.stderr
    outcomes = summary(run.out)["agent_outcomes"]
    for scenario in ("session", "stateless"):
        assert outcomes[scenario].get("error") == outcomes[scenario]["total"] > 0, outcomes
    reasons = {r["reason"] for r in run.rows() if r["part"] == "call"}
    assert reasons == {
        f"turn 1 step 1 'tools/call': tool error: Error executing tool fail: {FAIL_MESSAGE}: "
        "hello from agentload"
    }
    sessions = run.sessions("session") + run.sessions("stateless")
    assert run.grown("tools") == Counter(fail=sessions)
    assert run.grown("deleted") == run.grown("created") != set()
