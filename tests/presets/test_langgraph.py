"""The ``langgraph`` preset against the real LangGraph Agent Server: ``langgraph dev`` (from
``langgraph-cli[inmem]``) serving tests/servers/langgraph_app/ on a free loopback port.

One smoke run against the echo graph (``agent``, the preset's default) is shared by the tests
that read its results; one short run against the ``failing`` graph is the negative case."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runner.agentload_run import run_agentload, summary
from tests.support import ROOT, free_port, wait_ready

pytestmark = pytest.mark.slow
APP = ROOT / "tests" / "servers" / "langgraph_app"
# `langgraph dev` runs from its own venv (tests/servers/langgraph_app/requirements.txt)
LANGGRAPH_PYTHON = ROOT / ".venv-langgraph" / "bin" / "python"
FAILURE = "the failing graph raised on purpose (agentload test)"  # graphs.py's FAILURE
SCENARIOS = ("wait", "stream", "background", "conversation")
# The entries whose every request starts one run of the graph.
RUN_ENTRIES = (
    "POST /runs/wait",
    "POST /runs/stream",
    "POST /threads/{thread_id}/runs",
    "POST /threads/{thread_id}/runs/wait",
)
SESSION_ENTRIES = {
    "POST /threads",
    "GET /threads/{thread_id}/runs/{run_id}",
    "GET /threads/{thread_id}/state",
    "DELETE /threads/{thread_id}",
}
# What `langgraph dev` would otherwise send out: the CLI's usage record, a PyPI version check,
# LangSmith traces and usage metadata (sent whenever a LangSmith key is in the environment).
OFFLINE = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
}
KEYS = (
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGGRAPH_API_KEY",
    "LANGSMITH_CONTROL_PLANE_API_KEY",
    "LANGGRAPH_CLOUD_LICENSE_KEY",
)
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Server:
    """A running ``langgraph dev`` and the file its echo graph logs each run to."""

    url: str
    runs_log: Path
    startup_s: float

    def runs(self) -> list[dict[str, Any]]:
        """One ``{"messages", "thread_id", "run_id"}`` per run of the echo graph so far."""
        text = self.runs_log.read_text() if self.runs_log.exists() else ""
        return [json.loads(line) for line in text.splitlines()]

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until no thread is busy: runs still queued or running when agentload stopped
        (the server finishes a run whose client went away) have been executed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = httpx.post(f"{self.url}/threads/search", json={"status": "busy"}, timeout=5)
            if busy.status_code == 200 and not busy.json():
                return
            time.sleep(0.2)
        raise TimeoutError(f"threads still busy after {timeout}s")


def _stop_group(process: subprocess.Popen[str], grace: float = 10.0) -> None:
    """End the server by its process group (its own: start_new_session), SIGKILL after grace."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def langgraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``langgraph dev --no-browser --no-reload`` on a free port, run in a copy of the app
    (the in-memory server writes .langgraph_api/ into its current folder); ready in about 1 s."""
    folder = tmp_path_factory.mktemp("langgraph")
    app = folder / "app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", ".langgraph_api"))
    runs_log = folder / "runs.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(OFFLINE, LANGGRAPH_ECHO_LOG=str(runs_log))
    port = free_port()
    # --n-jobs-per-worker: runs at once (1 when not given, whatever `langgraph dev --help` says)
    assert LANGGRAPH_PYTHON.exists(), f"{LANGGRAPH_PYTHON} is missing: `make install` makes it"
    cmd = [str(LANGGRAPH_PYTHON), "-m", "langgraph_cli", "dev", "--no-browser", "--no-reload",
           "--host", "127.0.0.1", "--port", str(port), "--n-jobs-per-worker", "10"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with (folder / "server.log").open("w") as out:
        process = subprocess.Popen(
            cmd, cwd=app, env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_ready(f"{url}/ok", process, timeout=60)
        yield Server(url, runs_log, time.monotonic() - started)
    finally:
        _stop_group(process)


@dataclass
class Run:
    """One finished ``agentload run`` and what the server executed during it."""

    done: subprocess.CompletedProcess[str]
    out: Path
    server_runs: list[dict[str, Any]]

    @property
    def summary(self) -> dict[str, Any]:
        return summary(self.out)

    def requests(self) -> list[dict[str, Any]]:
        """requests.jsonl.gz: one record a request of the run."""
        with gzip.open(self.out / "requests.jsonl.gz", "rt") as lines:
            return [json.loads(line) for line in lines]


def _run(server: Server, out: Path, *extra: str) -> Run:
    before = len(server.runs())
    args = ["run", "smoke", "--api", "langgraph", "--host", server.url, "--no-prometheus"]
    done = run_agentload([*args, *extra, "--out", str(out)])
    server.settle()
    return Run(done, out, server.runs()[before:])


@pytest.fixture(scope="module")
def smoke(langgraph: Server, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The one smoke run against the echo graph that the tests below read."""
    return _run(langgraph, tmp_path_factory.mktemp("smoke") / "run", "--duration", "15s")


def test_smoke_passes_with_every_scenario_at_full_agent_success(smoke: Run) -> None:
    """`agentload run smoke --api langgraph` against the echo graph: exit 0, no traceback, and
    each of the four scenarios ran and succeeded every time."""
    assert smoke.done.returncode == 0, smoke.done.stderr[-3000:]
    assert "Traceback" not in smoke.done.stderr
    outcomes = smoke.summary["agent_outcomes"]
    for name in SCENARIOS:
        assert outcomes[name]["total"] > 0, (name, outcomes)
        assert outcomes[name]["success_rate"] == 1.0, (name, outcomes[name])


def test_the_server_executed_as_many_runs_as_agentload_counts(smoke: Run) -> None:
    """Every request of a run entry (/runs/wait, /runs/stream, a thread's /runs and
    /runs/wait) is one run the echo graph executed, and nothing else ran it. A request killed
    at the stop timeout is the only leeway, none in a run that ends cleanly: one cut off is
    counted (a failure, perhaps killed before the server saw it), one started after the stop
    began reached the server without being counted."""
    endpoints = smoke.summary["endpoints"]
    counted = sum(endpoints[entry]["requests"] for entry in RUN_ENTRIES)
    totals = smoke.summary["totals"]
    low, high = counted - totals["cut_off"], counted + totals["aborted_at_stop"]
    assert low <= len(smoke.server_runs) <= high, (counted, totals)
    if totals["cut_off"] + totals["aborted_at_stop"] == 0:
        assert len(smoke.server_runs) == counted


def test_the_third_turn_reaches_the_graph_with_the_five_messages_of_its_thread(smoke: Run) -> None:
    """A conversation's thread holds its history: on each thread of a conversation session the
    echo graph saw 1, 3 then 5 messages (a session the run's end stopped early saw fewer turns;
    every other thread, one run with one message)."""
    by_thread: dict[str, list[int]] = defaultdict(list)
    for run in smoke.server_runs:
        by_thread[run["thread_id"]].append(run["messages"])
    assert all(seen == [1, 3, 5][: len(seen)] for seen in by_thread.values()), by_thread
    three_turns = [seen for seen in by_thread.values() if seen == [1, 3, 5]]
    sessions = smoke.summary["agent_outcomes"]["conversation"]["success"]
    assert len(three_turns) == sessions > 0


def test_entries_are_named_by_path_templates_never_by_ids(smoke: Run) -> None:
    """The stats entries are the preset's path templates (thread and run ids in braces), plus
    the TTFT/TPOT of the stream and the TTC of the two sessions; no concrete id anywhere."""
    names = set(smoke.summary["endpoints"])
    http = {name for name in names if name.split(" ", 1)[0].isupper() and "/" in name}
    assert http == set(RUN_ENTRIES) | SESSION_ENTRIES, sorted(names)
    assert not [name for name in names if UUID.search(name)]
    assert not [r["entry"] for r in smoke.requests() if UUID.search(r["entry"])]


def test_the_stream_has_ttft_and_tpot_and_the_sessions_a_ttc(smoke: Run) -> None:
    """Every /runs/stream call has a TTFT (its first `messages` token) and a TPOT (the fake
    chat model streams word by word); each background and conversation session one TTC."""
    endpoints = smoke.summary["endpoints"]
    outcomes = smoke.summary["agent_outcomes"]
    assert endpoints["TTFT stream"]["requests"] == endpoints["POST /runs/stream"]["requests"] > 0
    assert endpoints["TPOT stream"]["requests"] > 0
    for name in ("background", "conversation"):
        assert endpoints[f"TTC {name}"]["requests"] == outcomes[name]["total"], name
        assert endpoints[f"TTC {name}"]["failures"] == 0, name
    # the stream's TTFT comes after the graph's 200 ms sleep, before the whole answer
    assert 200 <= endpoints["TTFT stream"]["p50_ms"] <= endpoints["POST /runs/stream"]["p50_ms"]


def test_a_graph_that_raises_fails_every_scenario_with_its_message(
    langgraph: Server, tmp_path: Path
) -> None:
    """--var assistant_id=failing: exit 1, and every outcome of every scenario is an error
    whose reason carries the graph's exception message (a 200 with __error__, an `error` event,
    the failed task in the thread's state)."""
    run = _run(langgraph, tmp_path / "run", "--duration", "10s", "--var", "assistant_id=failing")
    assert run.done.returncode == 1, run.done.stderr[-3000:]
    assert "Traceback" not in run.done.stderr
    outcomes = run.summary["agent_outcomes"]
    assert set(outcomes) == set(SCENARIOS), outcomes
    for name, counts in outcomes.items():
        assert counts["total"] > 0 and counts.get("error") == counts["total"], (name, counts)
    judged = [r for r in run.requests() if r["outcome"] not in (None, "success")]
    assert judged
    wrong = [(r["entry"], r["outcome"], r["reason"]) for r in judged if FAILURE not in r["reason"]]
    assert not wrong, wrong[:5]
    assert run.server_runs == []  # the echo graph never ran
