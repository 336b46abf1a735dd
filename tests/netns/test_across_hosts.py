"""Runs across hosts made from network namespaces (issue 13, item 4).

Topology (tests/netns/namespaces.py): a hub namespace with a bridge, and four hosts on
10.213.0.0/24 joined to it by veth pairs: ``runner`` (.2: `agentload run` and its Locust
master), ``target`` (.3: the embedded target, or tests/servers/capacity.py), ``worker1`` (.4)
and ``worker2`` (.5), each running one `agentload worker --master 10.213.0.2:PORT` (the stress
test adds ``target-single`` (.6) for its single-process run, at the same time). Load goes
only to the target's address inside the network, for a bounded time; every process is ended by
PID and every namespace deleted at teardown (which fails if anything is left).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.netns.conftest import Target
from tests.netns.namespaces import PREFIX, Host, Network, ip, namespaces
from tests.runner.agentload_run import CLI, env_with, summary
from tests.support import ROOT

MASTER_PORT = 5557


@dataclass
class Hosts:
    runner: Host
    target: Host
    workers: list[Host]


@pytest.fixture
def hosts(network: Network) -> Hosts:
    """The four hosts of the module docstring, on a fresh network."""
    runner, target = network.add_host("runner"), network.add_host("target")
    return Hosts(runner, target, [network.add_host("worker1"), network.add_host("worker2")])


@dataclass
class Run:
    """One `agentload run` or `agentload worker` in a namespace: its process and console log."""

    process: subprocess.Popen[bytes]
    log: Path

    def wait(self, timeout: float) -> tuple[int, str]:
        """Its exit code and console output, once it has ended (killed at `timeout`)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        return code, self.log.read_text(errors="replace")


@pytest.fixture
def agentload(network: Network, hosts: Hosts, tmp_path: Path) -> Callable[..., Run]:
    """Start `agentload ARGS` in a host's namespace (the runner's by default); its console goes
    to NAME-N.log in tmp_path. Ended by PID with the network."""
    count = 0

    def start(args: list[str], host: Host | None = None, name: str = "run") -> Run:
        nonlocal count
        count += 1
        log = tmp_path / f"{name}-{count}.log"
        process = network.start(host or hosts.runner, [*CLI, *args], log, env_with(), ROOT)
        return Run(process, log)

    return start


def master_args(hosts: Hosts, phase: str, url: str, out: Path, workers: int = 2) -> list[str]:
    args = ["run", phase, "--host", url, "--allow-remote", "--no-prometheus", "--out", str(out)]
    args += ["--expect-workers", str(workers), "--master-bind", hosts.runner.address]
    return [*args, "--master-port", str(MASTER_PORT), "--workers-timeout", "60s"]


def start_workers(agentload: Callable[..., Run], hosts: Hosts, *extra: str) -> list[Run]:
    """`agentload worker --master RUNNER:PORT EXTRA` in each worker's namespace."""
    args = ["worker", "--master", f"{hosts.runner.address}:{MASTER_PORT}", *extra]
    return [agentload(args, host, f"worker-{host.role}") for host in hosts.workers]


def _wait_all(workers: list[Run], timeout: float = 30.0) -> list[tuple[int, str]]:
    return [worker.wait(timeout) for worker in workers]


def test_smoke_across_namespaces_counts_what_the_target_served(
    hosts: Hosts,
    start_target: Callable[[Host], Target],
    agentload: Callable[..., Run],
    tmp_path: Path,
) -> None:
    """A master in one namespace, two workers in two others, the target in a fourth: smoke
    passes, summary.json lists both workers and none lost, and the client's request total equals
    the count the target's own /metrics gives for the run."""
    target = start_target(hosts.target)
    before = target.served(hosts.runner)
    out = tmp_path / "smoke"
    run = agentload([*master_args(hosts, "smoke", target.url, out), "--duration", "10s"])
    workers = start_workers(agentload, hosts)
    code, output = run.wait(timeout=120)
    served = target.served(hosts.runner) - before
    assert code == 0, output[-4000:]
    assert "Traceback" not in output
    result = summary(out)
    assert result["verdict"] == "pass"
    assert result["workers"]["expected"] == 2 and result["workers"]["lost"] == []
    connected = sorted(worker["pid"] for worker in result["workers"]["connected"])
    assert connected == sorted(worker.process.pid for worker in workers)
    assert result["totals"]["requests"] == served > 0, (result["totals"], served)
    for worker_code, worker_output in _wait_all(workers):
        assert worker_code == 0, worker_output[-2000:]
        assert "Traceback" not in worker_output
    print(f"smoke across namespaces: client {result['totals']['requests']}, target {served}")


CAPACITY_API = ROOT / "tests/servers/capacity.toml"
SLOTS, SERVICE_MS = 4, 100.0  # 40 rps from 4 closed-loop users on
STRESS = """\
phase = "stress"
description = "knee on a server of known capacity, across namespaces"
users = 8
spawn_rate = 50
duration = "44s"
scenario_config = "stress"
user_classes = ["MixedAgentUser"]
shape = "stress"
gates = ["max_rps > 0", "peak_error_rate < 5%", "knee_found"]

[stress]
start_users = 2
step_users = 2
step_duration = "11s"
warmup = "2s"
max_steps = 4
spawn_rate = 50
"""


@pytest.mark.slow
def test_stress_across_namespaces_finds_the_knee_a_single_process_finds(
    network: Network,
    hosts: Hosts,
    start_capacity: Callable[[Host, int, float], str],
    agentload: Callable[..., Run],
    tmp_path: Path,
) -> None:
    """4 slots of 100 ms (40 rps from 4 users on), steps of 2, 4, 6, 8 users (9 s measured, as
    --workers needs): a single-process run and a master with two namespace workers, at the same
    time against two such servers in two namespaces, find the knee at the same users and within
    10 % of each other's rps (and of 40)."""
    profile = tmp_path / "stress-netns.toml"
    profile.write_text(STRESS)
    single_host = network.add_host("target-single")
    single_url = start_capacity(single_host, SLOTS, SERVICE_MS)
    url = start_capacity(hosts.target, SLOTS, SERVICE_MS)
    api = ["--api", str(CAPACITY_API)]
    single_out, out = tmp_path / "single", tmp_path / "distributed"
    single_args = ["run", str(profile), "--host", single_url, "--allow-remote", "--no-prometheus"]
    single = agentload([*single_args, *api, "--out", str(single_out)], name="single")
    run = agentload([*master_args(hosts, str(profile), url, out), *api], name="distributed")
    workers = start_workers(agentload, hosts, *api)
    code, output = run.wait(timeout=120)
    single_code, single_output = single.wait(timeout=60)
    assert single_code == 0, single_output[-4000:]
    assert code == 0, output[-4000:]
    assert "Traceback" not in output + single_output
    knees = []
    for folder in (single_out, out):
        stress = summary(folder)["stress"]
        assert stress["knee"] is not None, stress
        knees.append(stress["knee"])
    (alone, spread) = knees
    print(f"knee: single {alone}, distributed {spread}")
    assert spread["users"] == alone["users"] == SLOTS
    assert abs(spread["rps"] - alone["rps"]) / alone["rps"] <= 0.10
    capacity = SLOTS * 1000.0 / SERVICE_MS
    assert all(abs(knee["rps"] - capacity) / capacity <= 0.10 for knee in knees)
    assert summary(out)["workers"]["lost"] == []
    for worker_code, worker_output in _wait_all(workers):
        assert worker_code == 0, worker_output[-2000:]


def _wait_for_load(run: Run, marker: str, timeout: float) -> None:
    """Until the run's console shows `marker` (a progress line): the workers are loading."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker in run.log.read_text(errors="replace"):
            return
        if run.process.poll() is not None:
            break
        time.sleep(0.2)
    raise AssertionError(f"no {marker!r} in {run.log}: {run.log.read_text()[-3000:]}")


@pytest.mark.parametrize("on_loss", ["fail", "continue"])
def test_a_worker_whose_namespace_vanishes_mid_run_is_lost(
    network: Network,
    hosts: Hosts,
    start_target: Callable[[Host], Target],
    agentload: Callable[..., Run],
    tmp_path: Path,
    on_loss: str,
) -> None:
    """Mid-run, worker2's host is unplugged (its veth deleted: no goodbye reaches the master),
    its processes killed by PID and its namespace deleted. --on-worker-loss fail: exit 3 saying
    a worker was lost; continue: the run ends on the other worker, with the lost one in
    summary.json's workers.lost."""
    target = start_target(hosts.target)
    out = tmp_path / "loss"
    duration = "25s" if on_loss == "fail" else "14s"  # continue: the run ends on the survivor
    args = [*master_args(hosts, "smoke", target.url, out), "--duration", duration]
    run = agentload([*args, "--on-worker-loss", on_loss])
    workers = start_workers(agentload, hosts)
    _wait_for_load(run, "[smoke] 5s/", timeout=60)
    gone = workers[1].process.pid
    assert gone in network.remove_host(hosts.workers[1])
    removed_at = time.monotonic()
    code, output = run.wait(timeout=120)
    ended_after = time.monotonic() - removed_at
    assert "Traceback" not in output
    result = summary(out)
    lost = result["workers"]["lost"]
    print(f"on-worker-loss {on_loss}: exit {code}, {ended_after:.1f}s after the removal; {lost}")
    assert [worker["pid"] for worker in lost] == [gone], lost
    assert len(result["workers"]["connected"]) == 2
    if on_loss == "fail":
        assert code == 3, output[-4000:]
        assert str(gone) in output, output[-2000:]  # the lost worker is named
        assert "lost (missing); --on-worker-loss fail" in output, output[-2000:]
        assert ended_after < 20, ended_after  # well before the 25 s phase would have ended
    else:
        assert code == 0, output[-4000:]
        assert result["verdict"] == "pass" and result["totals"]["requests"] > 0
    survivor_code, survivor_output = workers[0].wait(timeout=30)
    assert survivor_code == 0, survivor_output[-2000:]
    assert "Traceback" not in survivor_output


def test_no_namespace_veth_or_process_of_this_run_is_left(netns_ok: None) -> None:
    """After the tests above (each network's teardown already checked its own): no namespace
    named for this test process remains, and none of its veths in the machine's namespace."""
    mine = f"{PREFIX}{os.getpid()}-"
    assert [name for name in namespaces() if name.startswith(mine)] == []
    assert f"al{os.getpid():x}" not in ip("-o", "link", "show")
