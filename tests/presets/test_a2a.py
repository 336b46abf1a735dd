"""The ``a2a`` preset against the real ``a2a-sdk`` server (JSON-RPC transport, protocol 1.0,
tests/servers/a2a_app.py): one smoke run against the echo agent shared by the tests that read
it, one short run against the failing agent."""

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

from tests.runner.agentload_run import CLI, env_with, summary
from tests.servers.a2a_app import CHUNK_S, FAILED_TEXT, RAISED_TEXT, WORK_S
from tests.support import ROOT, start_server, stop_process

pytestmark = pytest.mark.slow
SCENARIOS = ("send", "stream", "poll")  # each user task: one execution of the agent


@dataclass
class Run:
    """One finished ``agentload run`` against an A2A server, and how many times its agent ran."""

    returncode: int
    stderr: str
    out: Path
    executions: int

    def rows(self) -> list[dict[str, Any]]:
        """requests.jsonl.gz, one dict a request."""
        with gzip.open(self.out / "requests.jsonl.gz", "rt", encoding="utf-8") as lines:
            return [json.loads(line) for line in lines]


class Running:
    """``agentload run smoke --api a2a`` going on in the background against one server."""

    def __init__(self, url: str, out: Path, duration: str, *extra: str) -> None:
        self.url, self.out = url, out
        self.before = _executions(url)
        self.stderr = out.with_suffix(".stderr")
        args = ["run", "smoke", "--api", "a2a", "--host", url, "--duration", duration, *extra]
        with self.stderr.open("w") as err:
            self.process = subprocess.Popen(
                [*CLI, *args, "--no-prometheus", "--out", str(out)],
                cwd=ROOT, env=env_with(), stdout=subprocess.DEVNULL, stderr=err, text=True,
            )  # fmt: skip

    def wait(self, timeout: float = 150.0) -> Run:
        """Its end (ended by PID if it outlives ``timeout``)."""
        try:
            self.process.wait(timeout)
        finally:
            stop_process(self.process)
        stderr = self.stderr.read_text(errors="replace")
        executions = _executions(self.url) - self.before
        return Run(self.process.returncode, stderr, self.out, executions)


def _serve(agent: str, folder: Path, path: str = "/") -> tuple[subprocess.Popen[str], str]:
    """``python -m tests.servers.a2a_app --agent AGENT --path PATH`` on a free port, ready."""
    args = ["--agent", agent, "--path", path]
    log = folder / f"a2a-{agent}.log"
    return start_server("tests.servers.a2a_app", args, "/.well-known/agent-card.json", log)


def _executions(url: str) -> int:
    return int(httpx.get(f"{url}/count", timeout=5).json()["executions"])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    """The module's two runs, side by side to keep its wall time near the longer one: a 12 s
    smoke run against the echo agent at the SDK's default path ``/`` (read by every test but
    the last), and a 10 s one against the failing agent served at ``/a2a/jsonrpc``, reached with
    ``--var a2a_path=a2a/jsonrpc``."""
    folder = tmp_path_factory.mktemp("a2a")
    processes: list[subprocess.Popen[str]] = []  # servers and runs, ended by PID at the end
    try:
        urls = {}
        for agent, path in (("echo", "/"), ("failing", "/a2a/jsonrpc")):
            process, urls[agent] = _serve(agent, folder, path)
            processes.append(process)
        var = ["--var", "a2a_path=a2a/jsonrpc"]
        failing = Running(urls["failing"], folder / "failing", "10s", *var)
        processes.append(failing.process)
        smoke = Running(urls["echo"], folder / "smoke", "12s")
        processes.append(smoke.process)
        yield {"failing": failing.wait(), "smoke": smoke.wait()}
    finally:
        for process in reversed(processes):
            stop_process(process)


@pytest.fixture(scope="module")
def smoke(runs: dict[str, Run]) -> Run:
    return runs["smoke"]


def test_smoke_passes_with_every_task_completed(smoke: Run) -> None:
    """smoke --api a2a against the SDK's server: exit 0, no traceback, agent success 100 % in
    send, stream and poll; every request (GetTask polls too) under the one path template."""
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    assert "Traceback" not in smoke.stderr
    outcomes = summary(smoke.out)["agent_outcomes"]
    for scenario in SCENARIOS:
        assert outcomes[scenario]["success_rate"] == 1.0, outcomes
        assert outcomes[scenario]["total"] > 0, outcomes
    entries = set(summary(smoke.out)["endpoints"])
    assert entries == {
        "POST /{a2a_path} SendMessage",
        "POST /{a2a_path} SendStreamingMessage",
        "POST /{a2a_path} SendMessage returnImmediately",
        "POST /{a2a_path} GetTask",
        "TTC poll",
        "TTFT stream",
        "TPOT stream",
    }, entries


def test_stream_has_ttft_at_the_first_artifact_chunk(smoke: Run) -> None:
    """Every streamed task has a TTFT, the agent's WORK_S of thought and little more (the task
    and working events before it are no tokens); the gaps between its chunks are CHUNK_S."""
    endpoints = summary(smoke.out)["endpoints"]
    streams = summary(smoke.out)["agent_outcomes"]["stream"]["total"]
    ttft = endpoints["TTFT stream"]
    assert ttft["requests"] == streams > 0, endpoints.keys()
    assert WORK_S * 1000 <= ttft["p50_ms"] < WORK_S * 1000 + 150, ttft
    assert endpoints["TPOT stream"]["requests"] > 0
    llm = summary(smoke.out)["llm"]["stream"]
    assert llm["itl_ms"]["p50"] == pytest.approx(CHUNK_S * 1000, abs=15), llm["itl_ms"]


def test_server_executions_equal_agentload_tasks(smoke: Run) -> None:
    """Every task agentload counted ran the agent once, and nothing else did: the server's
    executions during the run equal agentload's send, stream and poll tasks."""
    calls = Counter(r["scenario"] for r in smoke.rows() if r["part"] == "call")
    assert smoke.executions == sum(calls[s] for s in SCENARIOS) > 0, (smoke.executions, calls)


def test_a_failing_agent_gives_outcome_error_with_its_message(runs: dict[str, Run]) -> None:
    """Against an agent that ends its tasks failed (with a message) or raises, in turn, at the
    path --var a2a_path names: exit 1, every task an error; the reasons carry the agent's text
    (a failed state's message, the JSON-RPC error of a blocking send, the stream's error
    event), except a polled task whose agent raised: the SDK marks it failed without a
    message."""
    run = runs["failing"]
    assert run.returncode == 1, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    outcomes = summary(run.out)["agent_outcomes"]
    for scenario in SCENARIOS:
        assert outcomes[scenario].get("error", 0) == outcomes[scenario]["total"] > 0, outcomes
    reasons = Counter((r["scenario"], r["reason"]) for r in run.rows() if r["part"] == "call")
    expected = {
        ("send", f"task failed: {FAILED_TEXT}"),
        ("send", f"JSON-RPC error: {RAISED_TEXT}"),
        ("stream", f"task failed: {FAILED_TEXT}"),
        ("stream", f"stream error: {RAISED_TEXT}"),
        ("poll", f"job TASK_STATE_FAILED: {FAILED_TEXT}"),
        ("poll", "job TASK_STATE_FAILED: no reason given"),
    }
    assert set(reasons) <= expected, reasons
    assert {scenario for scenario, _ in reasons} == set(SCENARIOS), reasons
    assert run.executions == sum(reasons.values())
