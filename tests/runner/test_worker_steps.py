"""Stress steps measured against the server's own count, locally and with `--workers 2`.

The server (tests/servers/capacity_truth.py) has 4 slots of 50 ms: 80 requests/s at most, about
40 with 2 closed-loop users, and it records the wall-clock time at which it completed each
request. Each step in stress_steps.jsonl names its window (whole wall-clock seconds); its rps
must be the server's completions in that window over its length, within 3 %. With workers the
requests reach the master in reports every 3 s, so this holds only because a step is computed
from the per-second histograms once every worker has reported past the window's end (a window
of 8 s would otherwise hold 2 or 3 reports: -25 % / +12 %).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.runner.agentload_run import run_agentload
from tests.support import ROOT, free_port, stop_process, wait_ready

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "worker_steps_locustfile.py"
SLOTS, SERVICE_MS = 4, 50.0
CAPACITY_RPS = SLOTS * 1000.0 / SERVICE_MS
PROFILE = """\
phase = "stress"
users = 6
spawn_rate = 50
duration = "{total}s"
scenario_config = "stress"
user_classes = ["WorkUser"]
shape = "stress"
gates = ["max_rps > 0"]

[stress]
start_users = 2
step_users = 2
step_duration = "{step}s"
warmup = "{warmup}s"
max_steps = 3
spawn_rate = 50
entry = "GET /work"
"""


@pytest.fixture
def capacity_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "capacity-server.log").open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.capacity_truth", str(port), str(SLOTS),
             str(SERVICE_MS)],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        wait_ready(f"{url}/ok", process)
        yield url
    finally:
        stop_process(process)


def _profile(tmp_path: Path, step: float, warmup: float) -> Path:
    path = tmp_path / "stress-steps.toml"
    path.write_text(PROFILE.format(total=step * 3, step=step, warmup=warmup))
    return path


def _args(profile: Path, url: str, workers: int, out: Path) -> list[str]:
    args = ["run", str(profile), "--host", url, "--locustfile", str(LOCUSTFILE)]
    args += ["--user-class", "WorkUser", "--no-prometheus", "--out", str(out)]
    return [*args, "--workers", str(workers)] if workers else args


@pytest.mark.slow
@pytest.mark.parametrize(
    ("workers", "step", "warmup"), [(0, 7, 1), (2, 11, 2)], ids=["local", "2-workers"]
)
def test_each_steps_rps_is_the_servers_count_in_its_window(
    capacity_server: str, tmp_path: Path, workers: int, step: float, warmup: float
) -> None:
    """Every step's rps (and request count) is the server's completions in the step's window
    within 3 %, none reads 0, none exceeds the server's capacity, and each was computed from
    every worker's reports (complete), within MAX_WAIT_S of the step's end."""
    out = tmp_path / "run"
    done = run_agentload(_args(_profile(tmp_path, step, warmup), capacity_server, workers, out))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    rows = [json.loads(line) for line in (out / "stress_steps.jsonl").read_text().splitlines()]
    truth = httpx.get(f"{capacity_server}/truth", timeout=10).json()["done"]
    assert [r["users"] for r in rows] == [2, 4, 6], rows
    report = []
    for row in rows:
        start, end = row["window"]["start"], row["window"]["end"]
        served = sum(1 for t in truth if start <= t < end)
        report.append(
            f"step {row['step']} ({row['users']} users) [{start}, {end}): rps {row['rps']:.2f}, "
            f"server {served / (end - start):.2f} ({row['requests']} vs {served} requests), "
            f"decided {row['decided_t'] - row['t']:.1f}s after the step's end"
        )
        assert row["seconds"] == end - start >= step - warmup - 1, report[-1]
        assert row["complete"] is True and row["waiting_for"] == [], report[-1]
        assert 0 <= row["decided_t"] - row["t"] <= 2 * 3.0 + 2 + 1.5, report[-1]
        assert served > 0 and row["rps"] > 0, report[-1]
        assert abs(row["requests"] - served) <= 0.03 * served, report[-1]
        assert row["rps"] == pytest.approx(served / (end - start), rel=0.03), report[-1]
        assert row["rps"] <= CAPACITY_RPS * 1.01, report[-1]
    print("\n".join(report))
    stress = json.loads((out / "summary.json").read_text())["stress"]
    assert [s["rps"] for s in stress["steps"]] == [r["rps"] for r in rows]


def test_steps_shorter_than_three_report_intervals_are_refused_with_workers(
    tmp_path: Path,
) -> None:
    """With --workers, a step whose measured part is under 9 s stops the run before any load:
    one line naming the numbers and the fix, exit 2, no traceback."""
    out = tmp_path / "run"
    profile = _profile(tmp_path, step=6, warmup=2)
    args = [*_args(profile, f"http://127.0.0.1:{free_port()}", 2, out), "--ready-timeout", "1s"]
    done = run_agentload(args, timeout=60)
    wiring = (
        "Orchestrator.prepare calls agentload.profiles.model.check_worker_steps(profile, workers)"
    )
    assert done.returncode == 2, f"{wiring}?\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, done.stderr
    assert (
        "stress: step_duration_s - warmup_s = 4s is shorter than 3 worker report intervals "
        "(9 s) with --workers; raise step_duration_s" in errors[0]
    )
    assert "Traceback" not in done.stdout + done.stderr
    assert not (out / "stress_steps.jsonl").exists() and not (out / "locust.html").exists()
