"""Nothing in flight is lost at stop: one smoke run against calls that outlive it
(tests/servers/hostile.py: an answer that never comes, a stream that stalls after two events, a
body trickled over 20 s; every deadline 60 s), in one process and with two workers (whose master
waits for their last reports). Locust kills the users when its stop timeout runs out; each call
in flight is a failure of its own entry, ``cut off at stop``, its task an outcome ``timeout``, in
the counts, the gates, requests.jsonl.gz and Locust's CSVs."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agentload.results.requests_file import read_lines
from tests.runner.agentload_run import alive, all_child_pids, run_agentload, summary
from tests.support import start_server, stop_process

pytestmark = pytest.mark.slow
DURATION_S, STOP_TIMEOUT_S = 3, 5
ENTRIES = {"never": "GET /never", "stall": "GET /stall", "trickle": "GET /trickle"}
REASON = "cut off at stop"
DESCRIPTION = """name = "outlived"
[readiness]
path = "/ok"
[scenarios.never]      # no answer at all: killed in Locust's request
path = "/never"
timeout_s = 60
[scenarios.stall]      # two events, then nothing: killed reading the stream
path = "/stall"
timeout_s = 60
idle_timeout_s = 60
stream = { dialect = "events" }
[scenarios.trickle]    # 200 bytes, one every 0.1 s: killed reading the body
path = "/trickle"
timeout_s = 60
"""
PROFILE = f"""phase = "smoke"
users = 3
spawn_rate = 10
duration = "{DURATION_S}s"
scenario_config = "smoke"
user_classes = ["NeverUser", "StallUser", "TrickleUser"]
shape = "none"
gates = ["error_rate(*) < 1%", "agent_success_rate(*) >= 95%"]
"""


@pytest.fixture(scope="module", params=[0, 2], ids=["local", "workers"])
def run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """The run (a user per scenario; ``--workers`` 0 or 2), its wall time, and what the server
    received."""
    folder = tmp_path_factory.mktemp("cut-off")
    (folder / "outlived.toml").write_text(DESCRIPTION)
    (folder / "profile.toml").write_text(PROFILE)
    process, url = start_server("tests.servers.hostile", [], "/ok", folder / "server.log")
    try:
        started = time.monotonic()
        done = run_agentload(
            [
                "run", str(folder / "profile.toml"), "--api", str(folder / "outlived.toml"),
                "--host", url, "--no-prometheus", "--out", str(folder / "run"),
                "--workers", str(request.param),
            ],
            timeout=90,
        )  # fmt: skip
        wall = time.monotonic() - started
        served = httpx.get(f"{url}/counts", timeout=5).json()
    finally:
        stop_process(process)
    out = folder / "run"
    yield {"done": done, "out": out, "output": done.stdout + done.stderr, "wall": wall,
           "served": served, "summary": summary(out)}  # fmt: skip


def test_the_run_fails_on_its_gates_with_the_calls_cut_off_counted(run: dict[str, Any]) -> None:
    """Exit 1, no traceback, every child ended, within the run, the stop timeout and the
    start-up; the verdict names the gate each entry failed, and the console says how many
    requests were cut off and that they are counted."""
    assert run["done"].returncode == 1, run["output"][-3000:]
    assert "Traceback" not in run["output"]
    assert alive(all_child_pids(run["out"])) == []
    assert run["wall"] < DURATION_S + STOP_TIMEOUT_S + 20, run["wall"]
    verdict = next(ln for ln in run["output"].splitlines() if "smoke FAIL (exit 1)" in ln)
    for entry in ENTRIES.values():
        assert f"error_rate({entry}) < 1%" in verdict, verdict
    assert "no requests were made" not in run["output"]
    assert (
        "3 requests were still in flight when the stop timeout ran out: cut off, each a failure "
        "of its entry ('cut off at stop') and its task an outcome 'timeout'" in run["output"]
    )


def test_each_call_cut_off_is_one_failure_of_its_own_entry(run: dict[str, Any]) -> None:
    """Each entry: one request, the server's, failed, timed from its start to the kill (the
    run's end plus the stop timeout); the totals count them, in flight at stop and cut off."""
    result = run["summary"]
    for scenario, entry in ENTRIES.items():
        stats = result["endpoints"][entry]
        assert stats["requests"] == stats["failures"] == 1, (entry, stats)
        assert stats["error_rate"] == 1.0
        assert STOP_TIMEOUT_S * 1000 < stats["failed"]["max_ms"] < 30_000, (entry, stats)
        assert run["served"][f"/{scenario}"] == 1, run["served"]
    totals = result["totals"]
    assert totals["requests"] == totals["failures"] == 3, totals
    assert totals["in_flight_at_stop"] == totals["cut_off"] == 3, totals
    assert totals["aborted_at_stop"] == 0 and totals["error_rate"] == 1.0
    assert result["window"]["seconds"] > STOP_TIMEOUT_S


def test_each_task_cut_off_is_an_outcome_timeout(run: dict[str, Any]) -> None:
    outcomes = run["summary"]["agent_outcomes"]
    for scenario in ENTRIES:
        assert outcomes[scenario]["timeout"] == outcomes[scenario]["total"] == 1, outcomes
        assert outcomes[scenario]["success_rate"] == 0.0
    gates = {g["name"]: g for g in run["summary"]["gates"]}
    assert not any(g["passed"] for g in gates.values()), gates


def test_requests_jsonl_has_a_line_for_each_call_cut_off(run: dict[str, Any]) -> None:
    """One line per call, its scenario's: part call, failed, outcome timeout, reason cut off
    at stop; the stream and the trickled body had their answer's status, the silent server
    none."""
    lines = {line["scenario"]: line for line in read_lines(run["out"] / "requests.jsonl.gz")}
    assert set(lines) == set(ENTRIES), lines
    for scenario, entry in ENTRIES.items():
        line = lines[scenario]
        assert line["entry"] == entry and line["part"] == "call", line
        assert line["failed"] is True and line["outcome"] == "timeout", line
        assert line["reason"] == REASON, line
        assert line["e2e_ms"] > STOP_TIMEOUT_S * 1000, line
    assert lines["never"]["status"] == 0
    assert lines["stall"]["status"] == lines["trickle"]["status"] == 200


def test_locusts_csvs_are_written_after_the_last_call_is_counted(run: dict[str, Any]) -> None:
    """locust_failures.csv and locust_stats.csv hold the failures counted at the kill, the last
    thing that happened in the run: the same counts as summary.json."""
    with (run["out"] / "locust_failures.csv").open(newline="") as f:
        failures = {(r["Method"], r["Name"]): r for r in csv.DictReader(f)}
    with (run["out"] / "locust_stats.csv").open(newline="") as f:
        stats = {f"{r['Type']} {r['Name']}": r for r in csv.DictReader(f)}
    for entry in ENTRIES.values():
        method, name = entry.split(" ", 1)
        row = failures[(method, name)]
        assert REASON in row["Error"] and row["Occurrences"] == "1", row
        counted = run["summary"]["endpoints"][entry]
        assert int(stats[entry]["Request Count"]) == counted["requests"], stats[entry]
        assert int(stats[entry]["Failure Count"]) == counted["failures"], stats[entry]
