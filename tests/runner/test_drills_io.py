"""Fault drills for the runner's surroundings: Prometheus missing or killed mid-run, and the disk
filling up under the runner's own writes. Each run finishes with a clear line, and no process is
left behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
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

SMOKE = ["run", "smoke", "--users", "4"]


def test_prometheus_missing_finishes_without_the_server_side_view(tmp_path: Path):
    """No Prometheus binary: the run finishes with its gates' verdict, `server_side` says why it
    is missing, and so does the console."""
    out = tmp_path / "run"
    done = run_agentload(
        [*SMOKE, "--duration", "10s", "--out", str(out)],
        env={"AGENTLOAD_PROMETHEUS_BIN": "/nonexistent"},
        timeout=90,
    )
    console = done.stdout + done.stderr
    assert done.returncode in (0, 1), console
    result = summary(out)
    assert result["server_side"]["source"] is None
    assert "no prometheus binary found" in result["server_side"]["missing"]
    assert "server-side view missing: no prometheus binary found" in done.stderr
    assert "Traceback" not in console
    assert "prometheus" not in logged_pids(out)
    assert alive(all_child_pids(out)) == []


def test_prometheus_killed_mid_run_finishes_without_the_server_side_view(tmp_path: Path):
    """The run's Prometheus is SIGKILLed mid-run: the run is not aborted, it finishes with its
    gates' verdict, says the server-side view is missing and why, and still writes report.html."""
    out = tmp_path / "run"
    proc = start_agentload([*SMOKE, "--duration", "15s", "--out", str(out)])
    try:
        wait_for(lambda: timeline_lines(out) >= 3, 90, "three timeline lines")
        prometheus = logged_pids(out)["prometheus"]
        os.kill(prometheus[0], signal.SIGKILL)
        proc.wait(timeout=60)
        console = stop_runner(proc)
        assert proc.returncode in (0, 1), console
        result = summary(out)
        assert result["verdict"] in ("pass", "fail") and result["abort_reason"] is None
        assert result["server_side"]["source"] is None
        missing = result["server_side"]["missing"]
        assert f"prometheus (pid {prometheus[0]}) died mid-run" in missing, missing
        assert any("server-side view missing" in note for note in result["notes"])
        assert f"server-side view missing: {missing}" in console
        assert (out / "report.html").is_file()
        assert "Traceback" not in console
        assert alive(all_child_pids(out)) == []
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))


@pytest.mark.parametrize(
    ("limit", "first"),
    [(1, "resources.jsonl"), (2_000_000, "report.html")],
    ids=["every-write", "report-only"],
)
def test_disk_full_under_the_runner_is_one_clear_line_and_no_process_left(
    tmp_path: Path, limit: int, first: str
):
    """Mid-run, the runner's writes past `limit` bytes a file fail (RLIMIT_FSIZE set on the
    runner alone, its children keep writing; EFBIG stands for a full disk's ENOSPC). With every
    write failing the run stops at once (the resource sampler's next line), summary.json cannot
    be written: exit 2. With only the 5 MB report.html failing the run completes, summary.json
    holds the verdict, and the exit is 2 (results incomplete). Either way: `cannot write <file>`
    lines, no traceback, no half-written temporary file, no process left."""
    out = tmp_path / "run"
    proc = start_agentload([*SMOKE, "--duration", "8s", "--no-prometheus", "--out", str(out)])
    try:
        wait_for(lambda: timeline_lines(out) >= 2, 90, "two timeline lines")
        pids = all_child_pids(out)
        psutil.Process(proc.pid).rlimit(psutil.RLIMIT_FSIZE, (limit, limit))
        proc.wait(timeout=60)
        console = stop_runner(proc)
        assert proc.returncode == 2, console
        assert "Traceback" not in console and "Logging error" not in console, console
        errors = [line for line in console.splitlines() if "cannot write" in line]
        assert f"cannot write {out / first}: File too large" in errors[0], console
        assert all(str(out) in line for line in errors), console
        if first == "report.html":
            assert summary(out)["verdict"] in ("pass", "fail")
            assert not (out / "report.html").exists()
            assert "(exit 2): results incomplete: cannot write" in console
        else:
            assert "ERROR (exit 2): cannot write" in console
        assert alive(pids) == []
        assert not [p.name for p in out.iterdir() if p.name.startswith(".") or ".tmp" in p.name]
    finally:
        stop_runner(proc)
        end_all(all_child_pids(out))
