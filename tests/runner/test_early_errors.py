"""What can be checked before load is: a gate on an entry the plan does not have, a bad `--host`
port, a Locust option Locust does not know, a bad option value. Each stops `agentload run` with
exit 2 and one `agentload: error:` line naming the bad value and what was expected, before the
target sees a single request."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentload.errors import ConfigError
from agentload.gates import check_entries, evaluate, parse_gate, parse_gates
from agentload.run.locust_plan import check_locust_args
from tests.runner.agentload_run import run_agentload


class CountingServer(ThreadingHTTPServer):
    """Answers every request `200 {}` and counts it."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Counted)
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Counted(BaseHTTPRequestHandler):
    server: CountingServer

    def _answer(self) -> None:
        with self.server.lock:
            self.server.requests += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture
def target() -> Iterator[CountingServer]:
    """A counting HTTP server on a free loopback port, shut down at teardown."""
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


LATE_ERRORS = {
    "gate on an unknown entry": (
        ["--gate", "p95(GET /nope) < 1s"],
        [
            "gate 'p95(GET /nope) < 1s': unknown entry 'GET /nope', expected one of the plan's "
            "entries: GET /v1/status, POST /v1/agents/codegen, ",
            "TTC research",
        ],
    ),
    "gate on an unknown scenario": (
        ["--gate", "agent_success_rate(chat) >= 90%"],
        ["unknown scenario 'chat', expected one of the plan's scenarios: status, codegen, "],
    ),
    "gate on the stream of a scenario that does not stream": (
        ["--gate", "p95(ttft:research) < 1s"],
        ["no streamed calls in scenario 'research', expected ttft:SCENARIO", ": codegen"],
    ),
    "port out of range": (
        ["--host", "http://127.0.0.1:99999"],
        ["--host port '99999' is not a TCP port, expected a number from 1 to 65535"],
    ),
    "unknown Locust option": (
        ["--", "--no-such-locust-option"],
        [
            "Locust options '--no-such-locust-option': unrecognized arguments: "
            "--no-such-locust-option",
            "expected options of `locust --help`",
        ],
    ),
    "bad Locust option value": (
        ["--", "--spawn-rate", "fast"],
        ["Locust options '--spawn-rate fast': argument -r/--spawn-rate: invalid", "'fast'"],
    ),
    "negative --users": (
        ["--users", "-1"],
        ["Invalid value for '--users': Input should be greater than or equal to 1"],
    ),
}


@pytest.mark.parametrize(("args", "needles"), LATE_ERRORS.values(), ids=list(LATE_ERRORS))
def test_errors_found_before_load_exit_2_in_one_line_without_a_request(
    target: CountingServer, tmp_path: Path, args: list[str], needles: list[str]
) -> None:
    """`agentload run smoke` with one bad input: exit 2 within seconds, exactly one
    `agentload: error:` line (no box, no traceback) naming it, no results folder, and the
    target saw 0 requests."""
    out = tmp_path / "run"
    host = [] if "--host" in args else ["--host", target.url]
    started = time.monotonic()
    done = run_agentload(["run", "smoke", *host, "--out", str(out), *args], timeout=60)
    took = time.monotonic() - started
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    errors = [line for line in output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("agentload: error: "), output
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert "Traceback" not in output and "╭" not in output
    assert not out.exists()
    assert target.requests == 0
    assert took < 20, f"took {took:.1f}s"


def test_a_known_entry_and_a_good_locust_option_start_the_run(tmp_path: Path) -> None:
    """The same checks let the plan's own entries and Locust's own options through."""
    from agentload.apis.load import load_description
    from agentload.scenarios.plan import resolve

    plan = resolve(*load_description("agent-v1"))
    good = [
        "p95(GET /v1/status) < 1s",
        "p95(/v1/agents/codegen) < 1s",  # the path alone names one entry
        "p99(TTC research) < 30s",
        "p95(GET /v1/jobs/{job_id}) < 1s",  # a job's poll
        "p95(ttft:codegen) < 1s",
        "agent_success_rate(research) >= 90%",
        "goodput(codegen) >= 90%",
        "error_rate(*) < 1%",
        "server.p95(/anything) < 1s",  # the server's routes are not the plan's
        "knee_found",
    ]
    check_entries(parse_gates(good), plan.entries(), list(plan.scenarios))
    check_locust_args(("--reset-stats", "--tags", "smoke"), None, plan.path)
    with pytest.raises(ConfigError, match="unrecognized arguments: --nope"):
        check_locust_args(("--nope",), None, plan.path)


def test_plan_entries_name_every_call_poll_cancel_and_timing() -> None:
    from agentload.apis.load import load_description
    from agentload.scenarios.plan import resolve

    plan = resolve(*load_description("agent-v1"))
    assert plan.entries() == [
        "GET /v1/status",
        "POST /v1/agents/codegen",
        "TTFT codegen",
        "TPOT codegen",
        "POST /v1/agents/research",
        "GET /v1/jobs/{job_id}",
        "DELETE /v1/jobs/{job_id}",
        "TTC research",
    ]


def test_all_failed_entry_says_so_instead_of_no_requests() -> None:
    """An entry whose every request failed has no successful latency: the gate says all N
    failed, not that there were no requests."""
    summary = {
        "endpoints": {
            "POST /v1/ask": {"requests": 39, "failures": 39, "p95_ms": None, "error_rate": 1.0},
            "GET /v1/idle": {"requests": 0, "failures": 0, "p95_ms": None},
        }
    }
    ask, idle = evaluate(parse_gates(["p95(POST /v1/ask) < 1s", "p95(GET /v1/idle) < 1s"]), summary)
    assert not ask.passed and ask.reason == "all 39 requests of 'POST /v1/ask' failed"
    assert not idle.passed and idle.reason == "no requests for 'GET /v1/idle'"


def test_every_star_gate_line_names_its_scenario() -> None:
    """`agent_success_rate(*)` gives one result per scenario, each shown with its name."""
    from agentload.gates import shown_expr
    from agentload.results.junit import junit_xml

    outcomes = {
        name: {"success": 1, "error": 3, "total": 4, "success_rate": 0.25}
        for name in ("ask", "chat", "plan", "search")
    }
    results = evaluate([parse_gate("agent_success_rate(*) >= 95%")], {"agent_outcomes": outcomes})
    shown = [shown_expr(r.name, r.expr) for r in results]
    assert shown == [f"agent_success_rate({name}) >= 95%" for name in sorted(outcomes)]
    assert all(not r.passed for r in results)
    xml = ET.fromstring(junit_xml({"phase": "smoke", "gates": [r.to_dict() for r in results]}))
    cases = {case.get("name"): case for case in xml.iter("testcase")}
    for line in shown:
        failure = cases[line].find("failure")
        assert failure is not None
        assert failure.get("message") == f"{line}: observed 25%, expected >= 95%"


def test_a_gate_on_a_plan_entry_without_requests_is_not_evaluable_after_the_run() -> None:
    """Once the plan's entries were checked before load, one the run never reached (a job's
    cancel, say) fails as not evaluable rather than as a configuration error."""
    gate = parse_gate("p95(DELETE /v1/jobs/{job_id}) < 1s")
    [result] = evaluate([gate], {"endpoints": {"GET /v1/status": {"requests": 3}}}, strict=False)
    assert not result.passed and result.reason == "no requests for 'DELETE /v1/jobs/{job_id}'"
