"""A broken target never passes: one smoke run against a server of our own that misbehaves on
purpose (tests/servers/hostile.py: a stalled stream, a line that never ends, a body trickled past
the deadline, an endless body, no answer at all, a reset mid-body, a redirect to another
origin, an empty body, a header and a body reflecting the credentials). Every call ends within
its limits and is a failure named for what happened; the run ends on time with exit 1,
Locust's memory stays flat, and no credential is written anywhere."""

from __future__ import annotations

import base64
import csv
import gzip
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.runner.agentload_run import start_agentload, summary
from tests.support import ROOT, start_server, stop_process

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
    "reflect": ("error", "answer is not JSON (text/plain; echo=Bearer ***)"),
    "reflect-json": ("error", "API error: bad credentials Bearer ***"),
    "follow-away": ("error", "redirect to another origin (http://203.0.113.7:80): not followed"),
}
SECRET, PASSWORD = "sk-hostile-0123456789", "hunter2-pass"
BASIC = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    process, url = start_server("tests.servers.hostile", [], "/ok", log)
    try:
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def run(hostile: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The one run, its wall time and the largest RSS any Locust process reached."""
    out = tmp_path_factory.mktemp("hostile-run") / "run"
    started = time.monotonic()
    host = hostile.replace("http://", f"http://admin:{PASSWORD}@")
    process = start_agentload(
        ["run", "smoke", "--api", str(DESCRIPTION), "--host", host, "--users", "10",
         "--duration", f"{DURATION_S}s", "--no-prometheus", "--out", str(out)],
        env={"HOSTILE_KEY": SECRET},
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
        errors: dict[str, list[str]] = {}
        for row in csv.DictReader(f):
            errors.setdefault(row["Name"], []).append(row["Error"])
    outcomes = summary(run["out"])["agent_outcomes"]
    for scenario, (outcome, reason) in REASONS.items():
        name = "/redirect" if scenario == "follow-away" else f"/{scenario}"
        assert any(reason in error for error in errors[name]), (scenario, errors.get(name))
        counted = outcomes[scenario]
        assert counted.get(outcome) == counted["total"] > 0, (scenario, counted)


def test_no_request_passes_and_every_one_sent_is_counted(run: dict[str, Any]) -> None:
    endpoints = summary(run["out"])["endpoints"]
    for scenario in REASONS:
        path = "/redirect" if scenario == "follow-away" else f"/{scenario}"
        entry = endpoints[f"GET {path}"]
        assert entry["failures"] == entry["requests"] > 0, (scenario, entry)
        assert run["served"][path] >= entry["requests"], scenario


def test_locust_memory_stays_flat_whatever_the_server_sends(run: dict[str, Any]) -> None:
    assert 0 < run["peak"] < RSS_LIMIT, run["peak"]


def test_no_credential_reaches_a_results_file_or_the_console(run: dict[str, Any]) -> None:
    """The API key the server reflected and the password in --host appear nowhere: not in the
    console, nor in any file of the results folder (gzip files read inside)."""
    secrets = (SECRET, PASSWORD, BASIC)
    assert not [s for s in secrets if s in run["output"]]
    assert f"admin:{PASSWORD}" not in run["output"]
    found = []
    for path in run["out"].rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        found += [(path.name, s) for s in secrets if s.encode() in data]
    assert not found, found
    argv = summary(run["out"])["meta"]["options"]["argv"]
    assert argv[argv.index("--host") + 1].startswith("http://***@127.0.0.1:"), argv


def test_a_redirect_to_the_same_origin_is_followed_when_allowed(run: dict[str, Any]) -> None:
    """follow_redirects: /redirect-here's 302 to /ok is followed, each hop a request of the
    entry; every such task is a success (the only ones of the run)."""
    outcomes = summary(run["out"])["agent_outcomes"]["follow-here"]
    assert outcomes["success"] == outcomes["total"] > 0, outcomes
    entry = summary(run["out"])["endpoints"]["GET /redirect-here"]
    assert entry["failures"] == 0 and entry["requests"] == 2 * outcomes["total"], entry
