"""The namespace harness itself: hosts reach each other and only each other, processes are kept
by their own PID, an unplugged host is unreachable, and teardown leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.netns.namespaces import PREFIX, Network, ip, namespaces, netns_pids, remove_stale


def _wait_cmdline(pid: int, argv: list[str], timeout: float = 5.0) -> list[str]:
    """The process' command line once `ip netns exec` has exec'd into `argv`."""
    deadline = time.monotonic() + timeout
    cmdline: list[str] = []
    while time.monotonic() < deadline:
        cmdline = psutil.Process(pid).cmdline()
        if cmdline == argv:
            break
        time.sleep(0.05)
    return cmdline


def test_hosts_reach_each_other_and_the_machine_gains_no_address(network, start_target):
    """The target in one namespace answers a client in another by its 10.213.0.x address; the
    machine's own namespace has no such address and no veth of ours."""
    runner, target_host = network.add_host("runner"), network.add_host("target")
    target = start_target(target_host)
    assert network.call(runner, lambda: httpx.get(f"{target.url}/readyz").status_code) == 200
    assert "10.213.0." not in ip("-o", "addr", "show")
    assert all(f" {veth}@" not in ip("-o", "link", "show") for veth in network.veth_names())


def test_a_process_started_in_a_namespace_is_kept_by_its_own_pid(network, tmp_path):
    """`ip netns exec` execs: the PID kept is the program's own, and it is inside the namespace."""
    host = network.add_host("solo")
    argv = ["sleep", "60"]
    process = network.start(host, argv, tmp_path / "sleep.log")
    assert _wait_cmdline(process.pid, argv) == argv
    assert netns_pids(host.netns) == [process.pid]
    network.stop(process)
    assert not _running(process.pid)


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def test_an_unplugged_host_can_no_longer_be_reached(network, start_target):
    """After `cut`, the target's process still runs but a client gets no connection to it."""
    runner, target_host = network.add_host("runner"), network.add_host("target")
    target = start_target(target_host)
    network.cut(target_host)

    def reach() -> str:
        try:
            httpx.get(f"{target.url}/readyz", timeout=1.0)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return "answered"

    assert network.call(runner, reach) in ("ConnectTimeout", "ConnectError")
    assert all(p.poll() is None for p in network.processes)


def test_teardown_removes_every_namespace_veth_and_process(netns_ok, tmp_path):
    """A network of three hosts running processes (one with a child of its own) is closed: no
    namespace of it in `ip netns list`, no veth of it, none of its PIDs running."""
    net = Network()
    pids: list[int] = []
    try:
        for role in ("a", "b", "c"):
            host = net.add_host(role)
            spawner = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
            process = net.start(host, [sys.executable, "-c", spawner], tmp_path / f"{role}.log")
            pids.append(process.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and sum(map(len, map(netns_pids, net.names))) < 6:
            time.sleep(0.1)
        pids += [pid for name in net.names for pid in netns_pids(name)]
        assert len(set(pids)) == 6
        names, veths = net.names, net.veth_names()
        assert set(names) <= set(namespaces())
    finally:
        net.close()
    assert not set(names) & set(namespaces())
    links = ip("-o", "link", "show")
    assert [veth for veth in veths if f" {veth}@" in links] == []
    assert [pid for pid in pids if _running(pid)] == []
    assert net.leftovers() == []


def test_names_carry_this_runs_pid(network):
    """Namespace names start with the prefix and this process's PID, so runs never collide."""
    host = network.add_host("x")
    assert host.netns.startswith(f"{PREFIX}{os.getpid()}-")
    assert len(host.veth) <= 15


def test_stale_namespaces_are_removed_only_when_their_run_is_gone(netns_ok):
    """`remove_stale` deletes a namespace of our prefix whose PID no longer runs (and ends the
    process inside it), and leaves one whose PID runs (this process) alone."""
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    stale, live = f"{PREFIX}{pid_max + 1}-1-old", f"{PREFIX}{os.getpid()}-0-live"
    sleeper = None
    try:
        for name in (stale, live):
            ip("netns", "add", name)
        sleeper = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "60"])
        _wait_cmdline(sleeper.pid, ["sleep", "60"])
        assert stale in remove_stale()
        assert sleeper.wait(timeout=10) != 0
        assert stale not in namespaces() and live in namespaces()
    finally:
        if sleeper is not None and sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait(timeout=5)
        for name in (stale, live):
            ip("netns", "delete", name, check=False)
    assert not {stale, live} & set(namespaces())
