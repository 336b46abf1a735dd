"""A broken target never passes: one smoke run against a server of our own that misbehaves on
purpose (tests/servers/hostile.py: a stalled stream, a line that never ends, a body trickled past
the deadline, an endless body, no answer at all, a reset mid-body, a redirect to another
origin, an empty body). Every call ends within its limits and is a failure named for what
happened; the run ends on time with exit 1 and Locust's memory stays flat."""

from __future__ import annotations

import csv
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.runner.agentload_run import start_agentload, summary
from tests.support import ROOT, free_port, stop_process, wait_ready

pytestmark = pytest.mark.slow
DESCRIPTION = ROOT / "tests" / "servers" / "hostile.toml"
DURATION_S, DEADLINE_S = 8, 3
RSS_LIMIT = 150 * 1024 * 1024
REASONS = {
    "stall": ("timeout", "stalled: no data for idle_timeout_s (1s)"),
    "no-newline": ("error", "answer over max_body_bytes (65,536 bytes): not read further"),
    "trickle": ("timeout", "deadline: not done within timeout_s (3s)"),
    "endless": ("error", "answer over max_body_bytes (65,536 bytes): not read further"),
    "never": ("timeout", "deadline: not done within timeout_s (3s)"),
    "reset": ("error", "connection reset mid-body"),
    "redirect": ("error", "HTTP 302"),
    "empty": ("error", "empty answer, expected JSON"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.hostile", "--port", str(port)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/ok", process)
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def run(hostile: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The one run, its wall time and the largest RSS any Locust process reached."""
    out = tmp_path_factory.mktemp("hostile-run") / "run"
    started = time.monotonic()
    process = start_agentload(
        ["run", "smoke", "--api", str(DESCRIPTION), "--host", hostile, "--users", "8",
         "--duration", f"{DURATION_S}s", "--no-prometheus", "--out", str(out)]
    )  # fmt: skip
    peak = 0
    try:
        while process.poll() is None and time.monotonic() - started < 90:
            for child in psutil.Process(process.pid).children(recursive=True):
                try:
                    if "locust" in " ".join(child.cmdline()):
                        peak = max(peak, child.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(0.2)
        output = process.communicate(timeout=30)[0]
    finally:
        stop_process(process)
    counts = httpx.get(f"{hostile}/counts", timeout=5).json()
    return {"rc": process.returncode, "out": out, "output": output, "peak": peak,
            "wall": time.monotonic() - started, "served": counts}  # fmt: skip


def test_the_run_fails_on_time_and_names_it(run: dict[str, Any]) -> None:
    assert run["rc"] == 1, run["output"][-3000:]
    assert "Traceback" not in run["output"]
    # start-up and the finish take a few seconds; no call may hold the run past its deadline
    assert run["wall"] < DURATION_S + DEADLINE_S + 15, run["wall"]


def test_every_misbehaviour_is_a_failure_named_for_what_happened(run: dict[str, Any]) -> None:
    with (run["out"] / "locust_failures.csv").open() as f:
        errors = {row["Name"]: row["Error"] for row in csv.DictReader(f)}
    outcomes = summary(run["out"])["agent_outcomes"]
    for scenario, (outcome, reason) in REASONS.items():
        assert reason in errors[f"/{scenario}"], (scenario, errors.get(f"/{scenario}"))
        counted = outcomes[scenario]
        assert counted.get(outcome) == counted["total"] > 0, (scenario, counted)


def test_no_request_passes_and_every_one_sent_is_counted(run: dict[str, Any]) -> None:
    endpoints = summary(run["out"])["endpoints"]
    for scenario in REASONS:
        entry = endpoints[f"GET /{scenario}"]
        assert entry["failures"] == entry["requests"] > 0, (scenario, entry)
        assert run["served"][f"/{scenario}"] >= entry["requests"], scenario


def test_locust_memory_stays_flat_whatever_the_server_sends(run: dict[str, Any]) -> None:
    assert 0 < run["peak"] < RSS_LIMIT, run["peak"]
