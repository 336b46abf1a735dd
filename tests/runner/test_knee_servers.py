"""The knee on real servers whose capacity follows exactly from their settings.

`agentload run` (a real subprocess, real Locust) drives tests/servers/capacity.py through the API
description tests/servers/capacity.toml, with a profile of short steps written in tmp_path:

- a plateau (SLOTS requests at a time, SERVICE_MS each): the knee's rps is within 10 % of
  SLOTS / SERVICE_MS, at SLOTS users;
- a server whose throughput falls past its peak (contention): the knee is the peak, not the
  last step;
- one that never saturates within the steps: no knee, ``not_saturated`` set, a ``knee_found``
  gate fails saying so, and the profile phase (py-spy on the server's PID) says it profiles the
  largest step, and gates the held load.

Load goes to 127.0.0.1 only and is bounded (at most 10 users for at most ~30 s per test).
"""

from __future__ import annotations

from pathlib import Path

from tests.runner.agentload_run import alive, all_child_pids, end_all, run_agentload, summary
from tests.runner.conftest import Capacity
from tests.support import ROOT

API = ROOT / "tests/servers/capacity.toml"
STEP = """
[stress]
start_users = 2
step_users = 2
step_duration = "{step}s"
warmup = "1.5s"
max_steps = {steps}
spawn_rate = 50
"""


def write_profile(path: Path, phase: str, gates: list[str], steps: int, extra: str = "") -> Path:
    """A stress-shaped profile of short steps (2, 4, 6 ... users; 5 s each, 1.5 s warm-up)."""
    head = (
        f'phase = "{phase}"\ndescription = "knee on a server of known capacity"\nusers = 10\n'
        f'spawn_rate = 50\nduration = "{5 * steps}s"\nscenario_config = "stress"\n'
        f'user_classes = ["MixedAgentUser"]\nshape = "stress"\ngates = {gates!r}\n'
    ).replace("'", '"')
    path.write_text(head + STEP.format(step=5 if phase == "stress" else 4, steps=steps) + extra)
    return path


def run(tmp_path: Path, profile: Path, server: Capacity, *extra: str) -> tuple[Path, str, int]:
    out = tmp_path / "run"
    args = ["run", str(profile), "--api", str(API), "--host", server.url, "--no-prometheus"]
    done = run_agentload([*args, *extra, "--out", str(out)], timeout=120)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert alive(all_child_pids(out)) == []
    return out, output, done.returncode


STOCK_STRESS_GATES = ["max_rps > 0", "peak_error_rate < 5%", "p95(*) < 30s"]


def test_plateau_knee_is_within_10_percent_of_slots_over_service_time(tmp_path, capacity_server):
    """4 slots of 100 ms: 40 rps from 4 users on. The knee is at 4 users and its rps within
    10 % of 40; the search stops because throughput stopped growing; the stock stress gates
    and knee gates pass."""
    server = capacity_server("plateau", 4, 100.0)
    gates = [*STOCK_STRESS_GATES, "knee_found", "knee_rps >= 36"]
    profile = write_profile(tmp_path / "plateau.toml", "stress", gates, steps=6)
    out, output, code = run(tmp_path, profile, server)
    try:
        assert code == 0, output[-3000:]
        stress = summary(out)["stress"]
        knee = stress["knee"]
        assert knee is not None and stress["not_saturated"] is None, stress
        assert abs(knee["rps"] - server.capacity_rps) / server.capacity_rps <= 0.10, stress
        assert knee["users"] == 4, stress
        assert stress["stop_reason"].startswith("throughput stopped growing"), stress
        for step in stress["steps"]:  # below the slots it is linear; above, the plateau
            expected = min(step["users"], 4) / 0.1
            assert abs(step["rps"] - expected) / expected <= 0.10, stress
        assert "knee at 4 users" in output
    finally:
        end_all(all_child_pids(out))


def test_throughput_falling_past_its_peak_has_its_knee_at_the_peak(tmp_path, capacity_server):
    """Contention past 6 in flight (100 ms * (n / 6)^2): 60 rps at 6 users, 45 at 8, 36 at 10.
    The knee is the peak (6 users, within 10 % of 60 rps), not the last, largest step."""
    server = capacity_server("collapse", 6, 100.0)
    profile = write_profile(tmp_path / "collapse.toml", "stress", STOCK_STRESS_GATES, steps=6)
    out, output, code = run(tmp_path, profile, server)
    try:
        assert code == 0, output[-3000:]
        stress = summary(out)["stress"]
        knee, last = stress["knee"], stress["steps"][-1]
        assert knee is not None, stress
        assert knee["users"] == 6, stress
        assert abs(knee["rps"] - server.capacity_rps) / server.capacity_rps <= 0.10, stress
        assert last["users"] > knee["users"] and last["rps"] < 0.85 * knee["rps"], stress
        assert stress["stop_reason"].startswith("throughput stopped growing"), stress
    finally:
        end_all(all_child_pids(out))


def test_never_saturating_server_has_no_knee_and_the_profile_holds_the_largest_step(
    tmp_path, capacity_server
):
    """64 slots of 100 ms (640 rps) and steps of 2, 4, 6 users: throughput still grows at the
    last step. No knee; ``not_saturated`` is the largest step; ``knee_found`` fails with its
    reason (exit 1) while the held load's gates pass; the profile phase says it profiles the
    largest step, records the server with py-spy, and its totals are the hold's (6 users)."""
    server = capacity_server("plateau", 64, 100.0)
    hold = '\n[profile]\nhold = "4s"\nwarmup = "1s"\nrate_hz = 100\n'
    gates = ["p95(*) < 30s", "error_rate(*) < 5%"]
    profile = write_profile(tmp_path / "never.toml", "profile", gates, steps=3, extra=hold)
    pid = str(server.process.pid)
    out, output, code = run(tmp_path, profile, server, "--pid", pid, "--gate", "knee_found")
    try:
        assert code == 1, output[-3000:]
        result = summary(out)
        stress = result["stress"]
        assert stress["knee"] is None, stress
        assert stress["stop_reason"].startswith("reached max_steps (3)"), stress
        assert stress["not_saturated"]["users"] == 6, stress
        assert abs(stress["not_saturated"]["rps"] - 60.0) / 60.0 <= 0.10, stress
        verdicts = {g["name"]: g for g in result["gates"]}
        found = verdicts.pop("knee_found")
        assert not found["passed"] and found["observed"] == 0.0
        assert "no knee: not saturated up to 6 users" in found["reason"]
        assert all(g["passed"] for g in verdicts.values()), verdicts
        assert {"p95(GET /work)", "error_rate(GET /work)"} == set(verdicts)
        profiled = result["profile"]
        assert profiled["users"] == 6 and profiled["users_from"] == "not_saturated", profiled
        assert profiled.get("pid") == server.process.pid or "error" in profiled, profiled
        assert any("profiling the largest step, 6 users" in n for n in result["notes"])
        # the held load, not the search: 6 users of 100 ms are 60 rps over the hold's window
        assert abs(result["totals"]["rps"] - 60.0) / 60.0 <= 0.10, result["totals"]
        assert result["window"]["seconds"] < 8, result["window"]
        assert "not saturated up to 6 users" in output
        assert "profiled 6 users: the largest step" in output
    finally:
        end_all(all_child_pids(out))
