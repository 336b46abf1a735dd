"""Fault drills for the runner: the target dies or never comes up, the runner is signalled, a Locust
worker dies. Each ends with a clear verdict, the partial results kept, and no process left."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.runner.agentload_run import (
    alive,
    all_child_pids,
    end_all,
    logged_pids,
    run_agentload,
    start_agentload,
    stop_runner,
    summary,
    timeline_lines,
    wait_for,
)
from tests.support import free_port


def assert_aborted(out: Path, code: int | None, reason_part: str) -> dict:
    result = summary(out)
    assert code == 3, result
    assert result["verdict"] == "aborted" and result["exit_code"] == 3
    assert reason_part in result["abort_reason"], result["abort_reason"]
    return result


def test_target_killed_mid_run_aborts_with_exit_3_and_keeps_results(tmp_path: Path):
    """The target's API process is killed mid-run: exit 3, verdict aborted with the reason, the
    measurements so far kept (summary, timeline, CSV history, junit), no process left."""
    out = tmp_path / "run"
    proc = start_agentload(
        ["run", "smoke", "--duration", "60s", "--no-prometheus", "--out", str(out)]
    )
    try:
        wait_for(lambda: timeline_lines(out) >= 3, 90, "three timeline lines")
        os.kill(logged_pids(out)["target api"][0], signal.SIGKILL)
        proc.wait(timeout=45)
        result = assert_aborted(out, proc.returncode, "api process")
        assert result["totals"]["requests"] > 0
        for name in ("timeline.jsonl", "locust_stats_history.csv", "junit.xml", "final.json"):
            assert (out / name).is_file(), name
        assert "ABORTED (exit 3)" in stop_runner(proc)
        assert alive(all_child_pids(out)) == []
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))


def test_target_that_never_answers_aborts_after_the_bounded_wait(tmp_path: Path):
    """--host where nothing answers: a clear abort (exit 3) after --ready-timeout."""
    out = tmp_path / "run"
    host = f"http://127.0.0.1:{free_port()}"
    args = ["run", "smoke", "--host", host, "--ready-timeout", "2s", "--no-prometheus"]
    done = run_agentload([*args, "--out", str(out)], timeout=60)
    assert_aborted(out, done.returncode, "not ready after 2s")
    assert "Traceback" not in done.stdout + done.stderr
    assert "ABORTED (exit 3)" in done.stderr


def test_target_that_fails_to_start_aborts_with_its_reason(tmp_path: Path):
    """An embedded target that exits at start (bad engine setting): exit 3 naming its last words."""
    out = tmp_path / "run"
    args = ["run", "smoke", "--no-prometheus", "--out", str(out)]
    done = run_agentload(args, env={"ENGINE_SLOTS": "0"}, timeout=60)
    assert_aborted(out, done.returncode, "ENGINE_SLOTS")
    assert "Traceback" not in done.stderr
    assert alive(all_child_pids(out)) == []


@pytest.mark.parametrize(
    ("sig", "args", "ready"),
    [
        # Ctrl-C during a distributed smoke run (target, master, 2 workers, Prometheus if any).
        (signal.SIGINT, ["smoke", "--duration", "60s", "--workers", "2"], "timeline"),
        # SIGTERM while py-spy records the target in the profile phase.
        (
            signal.SIGTERM,
            ["profile", "--users", "3", "--duration", "40s", "--no-prometheus"],
            "py-spy",
        ),
    ],
    ids=["SIGINT-workers", "SIGTERM-profile"],
)
def test_signal_keeps_partial_results_and_ends_every_child(tmp_path: Path, sig, args, ready):
    """SIGINT/SIGTERM to the runner: exit 3, partial summary written, and every child it started
    (target supervisor, API, engine, Locust master and workers, Prometheus, py-spy) is gone."""
    out = tmp_path / "run"
    proc = start_agentload(["run", *args, "--out", str(out)])
    try:
        if ready == "timeline":
            wait_for(lambda: timeline_lines(out) >= 3, 90, "three timeline lines")
        else:
            wait_for(lambda: "py-spy" in logged_pids(out), 90, "py-spy to start")
        pids = all_child_pids(out)
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert_aborted(out, proc.returncode, f"interrupted by {sig.name}")
        assert (out / "timeline.jsonl").is_file() and (out / "junit.xml").is_file()
        assert alive(pids) == [], logged_pids(out)
        if ready == "py-spy":
            assert len(logged_pids(out)["py-spy"]) == 2
        else:
            assert len(logged_pids(out)["locust"]) == 3
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))


@pytest.mark.parametrize("policy", ["fail", "continue"])
def test_a_dead_worker_is_reported_and_the_policy_applied(tmp_path: Path, policy: str):
    """A Locust worker killed mid-run: `fail` aborts (exit 3) naming it; `continue` finishes
    with the other worker and lists the lost one in summary["workers"]."""
    out = tmp_path / "run"
    args = ["run", "smoke", "--duration", "15s", "--workers", "2", "--no-prometheus"]
    proc = start_agentload([*args, "--on-worker-loss", policy, "--out", str(out)])
    try:
        wait_for(lambda: timeline_lines(out) >= 3, 90, "three timeline lines")
        worker = logged_pids(out)["locust"][2]
        os.kill(worker, signal.SIGKILL)
        proc.wait(timeout=90)
        result = summary(out)
        assert {"pid": worker, "exit_code": -9} in result["workers"]["lost"]
        if policy == "fail":
            assert_aborted(out, proc.returncode, f"locust worker pid {worker} died")
        else:
            assert proc.returncode in (0, 1) and result["verdict"] in ("pass", "fail")
            assert any(str(worker) in note for note in result["notes"])
        assert alive(all_child_pids(out)) == []
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))


HOPELESS_PROFILE = """
phase = "smoke"
users = 4
spawn_rate = 4
duration = "60s"
scenario_config = "smoke"
user_classes = ["MixedAgentUser"]
shape = "none"
gates = ["error_rate < 1%"]

[abort]
grace = "4s"
interval = "1s"
gates = ["error_rate < 5%"]
"""


def test_a_hopeless_run_is_stopped_early_after_the_grace_period(tmp_path: Path):
    """Early abort (k6 abortOnFail + delayAbortEval): every agent call fails (about a fifth of
    the HTTP requests: the status calls succeed), so once the abort gate's interval is past its
    threshold, after the 4 s grace, the run stops long before its 60 s, exit 1 (a failed gate),
    with the abort reason."""
    profile = tmp_path / "hopeless.toml"
    profile.write_text(HOPELESS_PROFILE)
    out = tmp_path / "run"
    args = ["run", str(profile), "--no-prometheus", "--out", str(out)]
    done = run_agentload(args, env={"AGENT_FAULT_ERROR_RATE": "1.0"}, timeout=90)
    result = summary(out)
    assert done.returncode == 1, done.stdout + done.stderr
    assert result["verdict"] == "fail"
    assert result["abort_reason"].startswith("early abort: gate 'error_rate < 5%'")
    assert result["duration_s"] < 45  # of the 60 s it would have run
    gates = {g["name"]: g["passed"] for g in result["gates"]}
    # the profile's gate, and the agent-v1 description's own smoke gate
    assert gates["error_rate"] is False and set(gates) == {"error_rate", "p95(GET /v1/status)"}
    assert "stopped early" in done.stderr
    assert alive(all_child_pids(out)) == []
