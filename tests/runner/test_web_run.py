"""`agentload run --web`: Locust's web UI with the phase's users; Ctrl-C ends the run."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.runner.agentload_run import (
    alive,
    all_child_pids,
    end_all,
    start_agentload,
    stop_runner,
    summary,
    wait_for,
)
from tests.support import free_port


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_web_ui_serves_the_user_classes_and_an_unstarted_run_fails_its_gates(tmp_path: Path):
    """The UI lists the user classes; ended by Ctrl-C before any test, the run says that no
    request was made and fails (exit 1) instead of calling the profile's entries unknown."""
    out, port = tmp_path / "run", free_port()
    args = ["run", "smoke", "--web", "--web-port", str(port), "--no-prometheus", "--out", str(out)]
    proc = start_agentload(args)
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/"), 60, "the web UI")
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5.0).text
        assert "MixedAgentUser" in page and "StatusUser" in page
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
