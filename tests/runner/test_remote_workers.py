"""Remote workers on loopback: `agentload run --expect-workers N` and `agentload worker` processes
started on their own, as on other machines (real processes, the embedded target)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tests.runner.agentload_run import (
    CLI,
    alive,
    all_child_pids,
    end_all,
    run_agentload,
    start_agentload,
    stop_runner,
    summary,
    wait_for,
)
from tests.support import ROOT, free_port, stop_process

Worker = subprocess.Popen[str]


def joined(out: Path) -> int:
    path = out / "workers.json"
    try:
        return len(json.loads(path.read_text()).get("joined") or [])
    except (OSError, ValueError):
        return 0


def descendants(proc: Worker) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
    except psutil.Error:
        return []


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start `agentload worker --master 127.0.0.1:PORT [ARGS]` processes; each one and its
    Locust worker are ended by PID at teardown."""
    started: list[Worker] = []
    children: list[int] = []

    def start(port: int, *args: str) -> Worker:
        log = (tmp_path / f"worker-{len(started)}.log").open("w")
        proc = subprocess.Popen(
            [*CLI, "worker", "--master", f"127.0.0.1:{port}", *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            children.extend(descendants(proc))
        for proc in started:
            stop_process(proc, grace=15)
        end_all(children)


def worker_log(tmp_path: Path, index: int) -> str:
    return (tmp_path / f"worker-{index}.log").read_text(errors="replace")


def test_smoke_with_two_remote_workers_passes_and_lists_them(
    tmp_path: Path, workers: Callable[..., Worker]
) -> None:
    """Two `agentload worker`s started on their own join the master; smoke passes, summary.json
    lists both, the client's request total equals the count the target served, and both workers
    exit 0 after the master's last run."""
    port, out = free_port(), tmp_path / "run"
    first, second = workers(port), workers(port)
    args = ["run", "smoke", "--expect-workers", "2", "--master-port", str(port)]
    done = run_agentload([*args, "--duration", "8s", "--out", str(out)])
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        result = summary(out)
        section = result["workers"]
        assert section["expected"] == 2 and section["lost"] == []
        assert sorted(w["pid"] for w in section["connected"]) == sorted([first.pid, second.pid])
        assert all(w["host"] and w["runs"] == 1 for w in section["connected"])
        assert result["totals"]["requests"] > 0
        server = result["server_side"]
        if server.get("requests") is not None:
            assert result["totals"]["requests"] == server["requests"]
        assert first.wait(timeout=30) == 0 and second.wait(timeout=30) == 0
        assert "the master's last run ended" in worker_log(tmp_path, 0)
        assert alive(all_child_pids(out)) == []
    finally:
        end_all(all_child_pids(out))


def test_workers_that_do_not_all_come_abort_with_how_many_did(
    tmp_path: Path, workers: Callable[..., Worker]
) -> None:
    """--expect-workers 2 --workers-timeout 3s with one worker: exit 3, "1 of 2" in the reason."""
    port, out = free_port(), tmp_path / "run"
    workers(port)
    args = ["run", "smoke", "--expect-workers", "2", "--master-port", str(port)]
    args += ["--workers-timeout", "3s", "--duration", "8s", "--no-prometheus"]
    done = run_agentload([*args, "--out", str(out)])
    try:
        assert done.returncode == 3, done.stdout + done.stderr
        reason = summary(out)["abort_reason"]
        assert "1 of 2 workers connected within 3s" in reason
        assert "1 of 2 workers connected within 3s" in done.stderr
        assert alive(all_child_pids(out)) == []
    finally:
        end_all(all_child_pids(out))


def test_a_worker_with_another_scenario_config_is_refused(
    tmp_path: Path, workers: Callable[..., Worker]
) -> None:
    """A worker started with the load scenario config while the master runs smoke's is refused:
    it exits 2 naming both digests, and the run ends as a configuration error (exit 2), not a
    pass with mixed figures."""
    port, out = free_port(), tmp_path / "run"
    workers(port)  # a worker with the same plan, ended at teardown
    bad = workers(port, "--scenario-config", "load")
    args = ["run", "smoke", "--expect-workers", "2", "--master-port", str(port)]
    done = run_agentload([*args, "--duration", "8s", "--no-prometheus", "--out", str(out)])
    try:
        assert done.returncode == 2, done.stdout + done.stderr
        result = summary(out)
        assert result["verdict"] == "error"
        assert "refused" in result["abort_reason"] and "scenario config" in result["abort_reason"]
        assert bad.wait(timeout=30) == 2
        said = worker_log(tmp_path, 1)
        assert "refused" in said and "differs from the master's" in said
        assert "scenario config" in said
        assert "Traceback" not in said + done.stderr
    finally:
        end_all(all_child_pids(out))


@pytest.mark.parametrize("policy", ["fail", "continue"])
def test_a_worker_killed_mid_run_is_lost_by_policy(
    tmp_path: Path, workers: Callable[..., Worker], policy: str
) -> None:
    """A worker (and its Locust process) killed mid-run: the master misses its heartbeats;
    --on-worker-loss fail exits 3, continue finishes and lists it under workers.lost."""
    port, out = free_port(), tmp_path / "run"
    keep, doomed = workers(port), workers(port)
    args = ["run", "smoke", "--expect-workers", "2", "--master-port", str(port)]
    args += ["--duration", "14s", "--no-prometheus", "--on-worker-loss", policy]
    runner = start_agentload([*args, "--out", str(out)])
    try:
        wait_for(lambda: joined(out) == 2, 60, "both workers to join")
        wait_for(lambda: (out / "timeline.jsonl").exists(), 30, "load to start")
        victims = [doomed.pid, *descendants(doomed)]
        for pid in victims:
            psutil.Process(pid).kill()
        doomed.wait(timeout=10)
        code = runner.wait(timeout=120)
        output = stop_runner(runner)
        result = summary(out)
        lost = result["workers"]["lost"]
        assert [w["pid"] for w in lost] == [doomed.pid], output
        assert lost[0]["state"] in ("missing", "quit")
        if policy == "fail":
            assert code == 3, output
            assert "lost" in result["abort_reason"] and "--on-worker-loss fail" in output
        else:
            assert code == 0, output
            assert result["totals"]["requests"] > 0
            assert keep.wait(timeout=30) == 0
        assert alive(all_child_pids(out)) == []
    finally:
        stop_runner(runner)
        end_all(all_child_pids(out))


def test_a_remote_worker_keeps_the_warmup_and_cooldown_out_of_the_figures(
    tmp_path: Path, workers: Callable[..., Worker]
) -> None:
    """--warmup and --cooldown reach a remote worker with the plan: of a 6 s rate run at 20/s,
    only the arrivals sent in its middle 3 s count (about 60 of 120), every one an outcome."""
    port, out = free_port(), tmp_path / "run"
    workers(port)
    args = ["run", "rate", "--rate", "20", "--arrival", "constant", "--duration", "6s"]
    args += ["--warmup", "2s", "--cooldown", "1s", "--allow-inconclusive", "--no-prometheus"]
    args += ["--expect-workers", "1", "--master-port", str(port), "--out", str(out)]
    done = run_agentload(args)
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        result = summary(out)
        assert (result["window"]["warmup_s"], result["window"]["cooldown_s"]) == (2.0, 1.0)
        sent = result["arrivals"]["sent"]
        assert 50 <= sent <= 70, result["arrivals"]  # 3 s of 20/s, not the 6 s of the run
        assert sum(o["total"] for o in result["agent_outcomes"].values()) == sent
        assert alive(all_child_pids(out)) == []
    finally:
        end_all(all_child_pids(out))
