"""`agentload run --web`: Locust's web UI with the phase's users; Ctrl-C ends the run."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.runner.agentload_run import (
    alive,
    all_child_pids,
    end_all,
    start_agentload,
    stop_runner,
    summary,
    timeline_lines,
    wait_for,
)
from tests.support import free_port


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _template_args(url: str) -> dict[str, Any]:
    """What the web UI's page gives its script (``window.templateArgs``)."""
    page = httpx.get(url, timeout=5.0).text
    line = next(x for x in page.splitlines() if "window.templateArgs = " in x)
    return json.loads(line.split("window.templateArgs = ", 1)[1].strip().rstrip(";"))


def _start_as_the_ui_does(url: str, users: int) -> None:
    """POST /swarm with what the UI's form sends on Start: users, spawn rate, host, and, when it
    shows its class picker, the classes ticked, at first every class it lists."""
    args = _template_args(url)
    form: dict[str, Any] = {"user_count": users, "spawn_rate": users, "host": args["host"]}
    if args["show_userclass_picker"]:
        form["user_classes"] = args["available_user_classes"]
    answer = httpx.post(f"{url}/swarm", data=form, timeout=5.0).json()
    assert answer["success"], answer


def test_web_ui_serves_the_user_classes_and_an_unstarted_run_fails_its_gates(tmp_path: Path):
    """The UI lists the user classes without its class picker (Start runs the phase's); ended
    by Ctrl-C before any test, the run says that no request was made and fails (exit 1) instead
    of calling the profile's entries unknown."""
    out, port = tmp_path / "run", free_port()
    args = ["run", "smoke", "--web", "--web-port", str(port), "--no-prometheus", "--out", str(out)]
    proc = start_agentload(args)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/"), 60, "the web UI")
        args = _template_args(f"http://127.0.0.1:{port}")
        assert {"MixedAgentUser", "StatusUser"} <= set(args["available_user_classes"])
        assert args["show_userclass_picker"] is False  # Start runs the phase's classes
        pids = all_child_pids(out)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        output = stop_runner(proc)
        assert proc.returncode == 1, output
        assert "no requests were made" in output and "Traceback" not in output
        assert summary(out)["verdict"] == "fail"
        assert alive(pids) == []
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))


def test_a_web_ui_run_starts_only_the_phases_user_classes(tmp_path: Path):
    """Started from the UI as its Start button does, the smoke phase runs its one user class,
    MixedAgentUser: no OpenModelUser nor one-scenario users beside it; Ctrl-C then ends the run
    with the requests it made in summary.json."""
    out, port = tmp_path / "run", free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["run", "smoke", "--web", "--web-port", str(port), "--no-prometheus", "--out", str(out)]
    proc = start_agentload(args)
    try:
        wait_for(lambda: _answers(f"{url}/"), 60, "the web UI")
        _start_as_the_ui_does(url, users=3)
        wait_for(lambda: timeline_lines(out) >= 4, 30, "4 s of load")
        running = httpx.get(f"{url}/tasks", timeout=5.0).json()["per_class"]
        assert set(running) == {"MixedAgentUser"}, running
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        output = stop_runner(proc)
        assert "Traceback" not in output
        log = (out / "runner.log").read_text()
        assert 'All users spawned: {"MixedAgentUser": 3} (3 total users)' in log, log[-3000:]
        assert summary(out)["totals"]["requests"] > 0
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))
