"""The runner's pure parts: Locust command lines, host checks, top functions, what saturated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentload.errors import ConfigError
from agentload.run.locust_plan import LOCUSTFILE, SHAPES_DIR, LocustPlan, build_commands
from agentload.run.profiler import top_functions
from agentload.run.resources import saturated_first
from agentload.run.target import check_host, is_loopback


def plan(tmp_path: Path, **kwargs) -> LocustPlan:
    defaults = {
        "host": "http://127.0.0.1:8000",
        "out_dir": tmp_path,
        "user_classes": ("MixedAgentUser",),
        "scenario_config": Path("scenarios/smoke.toml"),
    }
    return LocustPlan(**{**defaults, **kwargs})


def test_headless_command_has_reports_shape_and_classes(tmp_path: Path):
    """One process: -f locustfile,shape, headless, CSV with full history, HTML, plugin options."""
    cmds = build_commands(plan(tmp_path, shape="stages", shape_table={"stages": []}))
    main = cmds.main
    assert main[main.index("-f") + 1] == f"{LOCUSTFILE},{SHAPES_DIR / 'stages.py'}"
    assert "--headless" in main and "--csv-full-history" in main
    assert main[main.index("--csv") + 1] == str(tmp_path / "locust")
    assert main[main.index("--html") + 1] == str(tmp_path / "locust.html")
    assert main[main.index("--agentload-out") + 1] == str(tmp_path)
    assert main[main.index("--scenario-config") + 1] == "scenarios/smoke.toml"
    assert main[-1] == "MixedAgentUser"
    assert "--users" not in main  # the shape decides the users
    assert json.loads(cmds.env["AGENTLOAD_SHAPE"]) == {"stages": []}
    assert cmds.workers == []


def test_fixed_users_command_has_users_rate_and_run_time(tmp_path: Path):
    main = build_commands(plan(tmp_path, users=7, spawn_rate=2.5, run_time=30)).main
    assert main[main.index("--users") + 1] == "7"
    assert main[main.index("--spawn-rate") + 1] == "2.5"
    assert main[main.index("--run-time") + 1] == "30s"


def test_workers_get_a_master_and_n_worker_commands(tmp_path: Path):
    """--workers N: the master expects N workers on a loopback port they all connect to."""
    cmds = build_commands(plan(tmp_path, workers=2, master_port=5599))
    assert "--master" in cmds.main
    assert cmds.main[cmds.main.index("--expect-workers") + 1] == "2"
    assert cmds.main[cmds.main.index("--master-bind-host") + 1] == "127.0.0.1"
    assert len(cmds.workers) == 2
    for worker in cmds.workers:
        assert "--worker" in worker and worker[worker.index("--master-port") + 1] == "5599"
        assert "--csv" not in worker and "--agentload-out" not in worker
        assert worker[-1] == "MixedAgentUser"


def test_web_mode_has_no_headless_and_a_loopback_ui(tmp_path: Path):
    main = build_commands(plan(tmp_path, web=True, web_port=8123, shape="stages")).main
    assert "--headless" not in main
    assert main[main.index("--web-host") + 1] == "127.0.0.1"
    assert main[main.index("--web-port") + 1] == "8123"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://127.8.9.10", True),
        ("http://localhost:1", True),
        ("http://[::1]:8000", True),
        ("https://api.example.com", False),
        ("http://10.0.0.5:8000", False),
    ],
)
def test_loopback_detection(url: str, loopback: bool):
    assert is_loopback(url) is loopback


def test_check_host_allows_remote_only_when_asked():
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_host("https://api.example.com", allow_remote=False)
    assert check_host("https://api.example.com/", allow_remote=True) == "https://api.example.com"


def test_top_functions_ranks_self_time_and_counts_total_once_per_sample():
    """Self share from the leaf frame; total share counts a frame once per sample (recursion)."""
    speedscope = {
        "shared": {
            "frames": [
                {"name": "main", "file": "app.py", "line": 1},
                {"name": "handle", "file": "app.py", "line": 10},
                {"name": "encode", "file": "json.py", "line": 5},
            ]
        },
        "profiles": [
            {"samples": [[0, 1, 2], [0, 1, 1], [0, 1], [0, 1]], "weights": [1, 1, 1, 1]},
            {"samples": [[0, 2]], "weights": [1]},
        ],
    }
    top = top_functions(speedscope)
    assert [f["function"] for f in top] == ["handle", "encode"]
    assert top[0] == {
        "function": "handle",
        "file": "app.py",
        "line": 10,
        "self_pct": 60.0,
        "total_pct": 80.0,
    }
    assert top[1]["self_pct"] == 40.0 and top[1]["total_pct"] == 40.0
    assert top_functions({"shared": {"frames": []}, "profiles": []}) == []


def test_saturated_first_names_what_saturated_first():
    cpu_first = [
        {
            "t": 1,
            "procs": {"api": {"cpu_pct": 40}},
            "engine_slots_busy": 1,
            "engine_slots_total": 4,
        },
        {
            "t": 2,
            "procs": {"api": {"cpu_pct": 97}},
            "engine_slots_busy": 2,
            "engine_slots_total": 4,
        },
        {
            "t": 3,
            "procs": {"api": {"cpu_pct": 99}},
            "engine_slots_busy": 4,
            "engine_slots_total": 4,
        },
    ]
    found = saturated_first(cpu_first)
    assert found is not None
    assert found["resource"] == "target CPU (api)" and found["t"] == 2
    slots_first = [{**s, "procs": {"api": {"cpu_pct": 10}}} for s in cpu_first]
    found = saturated_first(slots_first)
    assert found is not None
    assert found["resource"] == "engine slots/queue" and found["t"] == 3
    assert saturated_first(cpu_first[:1]) is None
