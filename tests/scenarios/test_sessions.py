"""Sessions of steps end to end: real `agentload run smoke` runs against a stateful API of our own
(tests/servers/sessions_api.py) whose counts are known exactly; the description's mistakes that
can be known before load stop the run with exit 2 and one line naming the file and field."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runner.agentload_run import run_agentload
from tests.support import ROOT, free_port, start_server, stop_process

pytestmark = pytest.mark.slow
DESCRIPTION = ROOT / "tests" / "servers" / "sessions.toml"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("sessions-server") / "server.log"
    process, url = start_server("tests.servers.sessions_api", [], "/counts", log)
    try:
        yield url
    finally:
        stop_process(process)


def _counts(url: str) -> dict[str, Any]:
    return httpx.get(f"{url}/counts", timeout=5).json()  # type: ignore[no-any-return]


def _delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What one run did on the server."""
    found: dict[str, Any] = {}
    for key, value in after.items():
        if isinstance(value, dict):
            found[key] = {k: v - before[key].get(k, 0) for k, v in value.items()}
            found[key] = {k: v for k, v in found[key].items() if v}
        else:
            found[key] = value - before[key]
    return found


def _run(
    url: str, tmp: Path, api: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], Path, dict[str, Any]]:
    before = _counts(url)
    out = tmp / "run"
    done = run_agentload(
        ["run", "smoke", "--api", str(api), "--host", url, "--users", "4", "--out", str(out),
         *extra],
        timeout=120,
    )  # fmt: skip
    return done, out, _delta(before, _counts(url))


@pytest.fixture(scope="module")
def good_run(server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One 10 s smoke run of the two sessions, read by the tests below."""
    tmp = tmp_path_factory.mktemp("sessions-good")
    done, out, did = _run(server, tmp, DESCRIPTION, "--duration", "10s", "--var", "greeting=HOLA")
    summary = json.loads((out / "summary.json").read_text())
    return {"done": done, "summary": summary, "server": did, "out": out}


def test_a_good_session_run_passes_with_every_session_a_success(good_run: dict[str, Any]) -> None:
    done, summary = good_run["done"], good_run["summary"]
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    outcomes = summary["agent_outcomes"]
    assert outcomes["chat"]["success"] == outcomes["chat"]["total"] > 5
    assert outcomes["background"]["success"] == outcomes["background"]["total"] > 5


def test_the_server_counts_what_agentload_counts(good_run: dict[str, Any]) -> None:
    """A thread per session (created, then deleted by the teardown), a run per background
    session polled with both ids, three chats per chat session."""
    server, endpoints = good_run["server"], good_run["summary"]["endpoints"]
    outcomes = good_run["summary"]["agent_outcomes"]
    sessions = outcomes["chat"]["total"] + outcomes["background"]["total"]
    assert server["created"] == endpoints["POST /threads"]["requests"] == sessions
    assert server["deleted"] == endpoints["DELETE /threads/{thread_id}"]["requests"] == sessions
    assert server["runs"] == endpoints["POST /threads/{thread_id}/runs"]["requests"]
    assert server["runs"] == outcomes["background"]["total"]
    chats = endpoints["POST /threads/{thread_id}/chat"]["requests"]
    assert sum(server["chats"].values()) == chats == 3 * outcomes["chat"]["total"]


def test_the_conversation_grows_turn_by_turn(good_run: dict[str, Any]) -> None:
    """Turn n sends the 2(n-1) earlier messages and replies, then its own: 1, 3 and 5."""
    chats = good_run["server"]["chats"]
    sessions = good_run["summary"]["agent_outcomes"]["chat"]["total"]
    assert chats == {"1": sessions, "3": sessions, "5": sessions}


def test_a_var_from_the_command_line_reaches_the_requests(good_run: dict[str, Any]) -> None:
    assert good_run["server"]["first_words"] == {"HOLA": sum(good_run["server"]["chats"].values())}


def test_entries_are_path_templates_with_a_ttc_per_session(good_run: dict[str, Any]) -> None:
    endpoints = good_run["summary"]["endpoints"]
    assert set(endpoints) == {
        "POST /threads",
        "POST /threads/{thread_id}/chat",
        "POST /threads/{thread_id}/runs",
        "GET /threads/{thread_id}/runs/{run_id}",
        "GET /threads/{thread_id}/state",
        "DELETE /threads/{thread_id}",
        "TTC chat",
        "TTC background",
    }
    outcomes = good_run["summary"]["agent_outcomes"]
    assert endpoints["TTC chat"]["requests"] == outcomes["chat"]["total"]
    assert endpoints["TTC chat"]["failures"] == 0


def test_every_request_of_a_session_is_in_requests_file_under_its_scenario(
    good_run: dict[str, Any],
) -> None:
    with gzip.open(good_run["out"] / "requests.jsonl.gz", "rt") as lines:
        rows = [json.loads(line) for line in lines]
    calls = [row for row in rows if row["part"] == "call"]
    outcomes = good_run["summary"]["agent_outcomes"]
    assert len(calls) == outcomes["chat"]["total"] + outcomes["background"]["total"]
    assert {row["entry"] for row in calls} == {"POST /threads"}
    assert all(row["outcome"] == "success" for row in calls)
    http = sum(v["requests"] for k, v in good_run["summary"]["endpoints"].items() if " /" in k)
    assert len(rows) == http


BROKEN = """
name = "broken"
[readiness]
path = "/counts"

[scenarios.gone]
think_time = { min_s = 0.1, max_s = 0.2 }
[[scenarios.gone.setup]]
method = "POST"
path = "/threads"
capture = { thread_id = "thread_id", session = { header = "X-Session" } }
[[scenarios.gone.steps]]
name = "first"
method = "GET"
path = "/threads/{thread_id}/state"
headers = { X-Session = "{session}" }
[[scenarios.gone.steps]]
name = "missing"
method = "GET"
path = "/threads/{thread_id}/nothing-here"
headers = { X-Session = "{session}" }
[[scenarios.gone.teardown]]
method = "DELETE"
path = "/threads/{thread_id}"
headers = { X-Session = "{session}" }
expect_status = [204]
response = "none"

[scenarios.nocapture]
think_time = { min_s = 0.1, max_s = 0.2 }
[[scenarios.nocapture.setup]]
name = "thread"
method = "POST"
path = "/threads"
capture = { thread_id = "no_such_field" }
[[scenarios.nocapture.steps]]
method = "GET"
path = "/threads/{thread_id}/state"

[scenarios.long]
turns = 200
think_time = { min_s = 0.2, max_s = 0.2 }
[[scenarios.long.setup]]
method = "POST"
path = "/threads"
capture = { thread_id = "thread_id", session = { header = "X-Session" } }
[[scenarios.long.steps]]
method = "GET"
path = "/threads/{thread_id}/state"
headers = { X-Session = "{session}" }
[[scenarios.long.teardown]]
method = "DELETE"
path = "/threads/{thread_id}"
headers = { X-Session = "{session}" }
expect_status = [204]
response = "none"
"""


def test_failing_steps_name_themselves_and_every_thread_is_deleted_even_at_stop(
    server: str, tmp_path: Path
) -> None:
    """A 404 in step 2, a capture that finds nothing, and sessions of 200 turns that the run's
    end cuts off: each thread whose id was captured is deleted (the cut-off ones by the user's
    on_stop)."""
    api = tmp_path / "broken.toml"
    api.write_text(BROKEN)
    done, out, did = _run(server, tmp_path, api, "--duration", "6s")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    with (out / "locust_failures.csv").open() as f:
        failures = {(row["Method"], row["Name"]): row["Error"] for row in csv.DictReader(f)}
    assert "step 2 'missing': HTTP 404" in failures[("TTC", "gone")]
    assert (
        "setup 1 'thread': capture 'thread_id' found nothing (path 'no_such_field')"
        in failures[("TTC", "nocapture")]
    )
    outcomes = json.loads((out / "summary.json").read_text())["agent_outcomes"]
    assert outcomes["gone"]["error"] == outcomes["gone"]["total"] > 0
    assert outcomes["nocapture"]["error"] == outcomes["nocapture"]["total"] > 0
    # 200 turns of 0.2 s: none ended in 6 s, each one cut off at stop, a timeout
    assert outcomes["long"]["timeout"] == outcomes["long"]["total"] > 0, outcomes["long"]
    long_threads = did["created"] - outcomes["gone"]["total"] - outcomes["nocapture"]["total"]
    assert long_threads > 0, did  # sessions of the long scenario were cut off by the stop
    # every thread whose id was captured is deleted: the long ones by the users' on_stop
    assert did["deleted"] == did["created"] - outcomes["nocapture"]["total"], did


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (
            """[[scenarios.s.steps]]
method = "DELETE"
path = "/threads/x"
response = "none"
capture = { gone = "thread_id" }
""",
            "scenarios.s.steps.0.capture.gone",
            'a JSON path on a step with response = "none" matches nothing',
        ),
        (
            """[[scenarios.s.steps]]
method = "POST"
path = "/threads"
capture = { thread_id = "thread_id" }
[[scenarios.s.steps]]
method = "POST"
path = "/threads/{thread_id}/runs"
[scenarios.s.steps.job]
id_path = "run_id"
poll = "/threads/{thread}/runs/{run_id}"
success_states = ["success"]
""",
            "scenarios.s.steps.1.job.poll",
            "unknown template name 'thread', expected one of",
        ),
        ("steps = []\n", "scenarios.s.steps", "an empty list, expected at least one"),
        (
            """[[scenarios.s.steps]]
path = "/threads/{thread_id}"
[[scenarios.s.steps]]
path = "/threads"
capture = { thread_id = "thread_id" }
""",
            "scenarios.s.steps.0.path",
            "unknown template name 'thread_id'",
        ),
    ],
    ids=["capture-matches-nothing", "poll-unknown-name", "no-steps", "capture-used-before"],
)
def test_a_session_that_cannot_work_stops_before_load(
    body: str, field: str, says: str, tmp_path: Path
) -> None:
    api = tmp_path / "bad.toml"
    api.write_text(f'name = "bad"\n[scenarios.s]\n{body}')
    port = free_port()  # nothing listens: any request would fail, none is made
    done = run_agentload(
        ["run", "smoke", "--api", str(api), "--host", f"http://127.0.0.1:{port}",
         "--out", str(tmp_path / "r")],
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"agentload: error: {api}: ")
    assert f'field "{field}"' in lines[0] and says in lines[0], lines[0]


def test_an_unknown_var_stops_before_load(tmp_path: Path) -> None:
    done = run_agentload(
        ["run", "smoke", "--api", str(DESCRIPTION), "--host", f"http://127.0.0.1:{free_port()}",
         "--var", "greting=x", "--out", str(tmp_path / "r")],
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--var greting=x: unknown name 'greting', expected one of greeting" in done.stderr
