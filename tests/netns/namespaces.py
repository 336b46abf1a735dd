"""Hosts made from Linux network namespaces, for tests of runs that span machines.

A `Network` is a star: one hub namespace holding a bridge, and one namespace per host joined to
it by a veth pair (the hub end is enslaved to the bridge, the host end is ``eth0`` with
``10.213.0.N/24``; loopback is up everywhere). Both ends of every veth are created inside
namespaces, so the machine's own namespace gains no link, address or route. Processes run
through ``ip netns exec`` (ip execs: the PID kept is the process itself); each is ended by its
PID, and its descendants by theirs. `Network.close()` ends every process, deletes every
namespace and raises if anything is left.

Names carry this process's PID (``agentload-t<pid>-<n>-<role>``), so two test runs never
collide; `remove_stale()` deletes only namespaces of that prefix whose PID no longer runs.
"""

from __future__ import annotations

import ctypes
import itertools
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import psutil

PREFIX = "agentload-t"
SUBNET = "10.213.0"
_CLONE_NEWNET = 0x40000000
_NETNS_DIR = Path("/run/netns")
_STALE = re.compile(rf"^{PREFIX}(\d+)-")
_counter = itertools.count(1)
T = TypeVar("T")


class NetnsError(RuntimeError):
    """An `ip` command failed; the message quotes it and its error output."""


def ip(*args: str, check: bool = True) -> str:
    """Run `ip ARGS`; its output. `NetnsError` quoting the command when it fails."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def namespaces() -> list[str]:
    """The names of `ip netns list` (without their ids)."""
    return [line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()]


def netns_pids(netns: str) -> list[int]:
    """The PIDs of the processes inside `netns` (`ip netns pids`); [] if it is gone."""
    return [int(p) for p in ip("netns", "pids", netns, check=False).split()]


def unavailable() -> str | None:
    """Why namespaces cannot be made here, found by trying (None: they can)."""
    if shutil.which("ip") is None:
        return "no `ip` command (iproute2) on this machine"
    if os.geteuid() != 0:
        return f"network namespaces need root; running as uid {os.geteuid()}"
    probe = f"{PREFIX}{os.getpid()}-probe"
    try:
        ip("netns", "add", probe)
        ip("-n", probe, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
    except (NetnsError, OSError, subprocess.SubprocessError) as exc:
        return f"the kernel refused a network namespace or veth pair: {exc}"
    finally:
        ip("netns", "delete", probe, check=False)
    return None


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def kill_tree(pid: int, grace: float = 5.0) -> None:
    """End `pid` and every descendant it had, each by PID: SIGTERM to `pid` (up to `grace` to
    exit), then a second for the descendants to follow it, then SIGKILL to whatever remains."""
    try:
        family = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return
    _signal(pid, signal.SIGTERM)
    for members, wait in ((family[:1], grace), (family, 1.0)):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(p.pid) for p in members):
            time.sleep(0.05)
    for proc in family:
        if _alive(proc.pid):
            _signal(proc.pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def remove_stale() -> list[str]:
    """Delete namespaces of our prefix left by a test run whose PID no longer runs (their
    processes are ended by PID first). The names deleted."""
    removed = []
    for name in namespaces():
        match = _STALE.match(name)
        if match is None or psutil.pid_exists(int(match[1])):
            continue
        for pid in netns_pids(name):
            kill_tree(pid, grace=1.0)
        ip("netns", "delete", name, check=False)
        removed.append(name)
    return removed


@dataclass
class Host:
    """One namespace on the network: its role, namespace name, address and hub-side veth."""

    role: str
    netns: str
    address: str
    veth: str


@dataclass
class Network:
    """A hub namespace with a bridge and hosts joined to it (see the module docstring)."""

    tag: str = field(default_factory=lambda: f"{os.getpid()}-{next(_counter)}")
    hosts: dict[str, Host] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    hub: str = ""

    def __post_init__(self) -> None:
        self.hub = f"{PREFIX}{self.tag}-hub"
        ip("netns", "add", self.hub)
        ip("-n", self.hub, "link", "set", "lo", "up")
        ip("-n", self.hub, "link", "add", "br0", "type", "bridge")
        ip("-n", self.hub, "link", "set", "br0", "up")

    @property
    def names(self) -> list[str]:
        """Every namespace of this network, the hub last."""
        return [host.netns for host in self.hosts.values()] + [self.hub]

    def veth_names(self) -> list[str]:
        return [host.veth for host in self.hosts.values()]

    def add_host(self, role: str) -> Host:
        """A new namespace `role` joined to the hub, with the next free address."""
        index = len(self.hosts) + 2  # .1 stays free (a gateway by habit)
        netns = f"{PREFIX}{self.tag}-{role}"
        veth = f"al{os.getpid():x}{self.tag.rsplit('-', 1)[1]}h{index}"[:15]
        host = Host(role, netns, f"{SUBNET}.{index}", veth)
        self.hosts[role] = host
        ip("netns", "add", netns)
        ip("-n", netns, "link", "set", "lo", "up")
        ip("-n", self.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
           "netns", netns)  # fmt: skip
        ip("-n", self.hub, "link", "set", veth, "master", "br0")
        ip("-n", self.hub, "link", "set", veth, "up")
        ip("-n", netns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", netns, "link", "set", "eth0", "up")
        return host

    def start(
        self,
        host: Host,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start `argv` inside `host`'s namespace, its output to `log_path`; kept for close()."""
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                ["ip", "netns", "exec", host.netns, *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        self.processes.append(process)
        return process

    def call(self, host: Host, func: Callable[[], T]) -> T:
        """`func()` in a thread that joined `host`'s network namespace (a namespace is per
        thread: the rest of this process stays where it was); its result or its exception."""
        box: dict[str, T] = {}
        errors: list[BaseException] = []

        def run() -> None:
            fd = os.open(_NETNS_DIR / host.netns, os.O_RDONLY)
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    errors.append(OSError(ctypes.get_errno(), f"setns into {host.netns}"))
                    return
            finally:
                os.close(fd)
            try:
                box["value"] = func()
            except BaseException as exc:  # handed to the caller's thread
                errors.append(exc)

        thread = threading.Thread(target=run, name=f"netns-{host.role}")
        thread.start()
        thread.join()
        if errors:
            raise errors[0]
        return box["value"]

    def cut(self, host: Host) -> None:
        """Unplug `host`: delete its veth (both ends go). Its processes run on, unreachable;
        nothing they send leaves the namespace, so no peer hears a goodbye or a reset."""
        ip("-n", self.hub, "link", "delete", host.veth)

    def remove_host(self, host: Host) -> list[int]:
        """Tear `host` down as a machine that vanishes: unplug it first (so nothing it sends gets
        out: no goodbye, no FIN, no reset), then SIGKILL every process in it by PID, then delete
        its namespace. The PIDs killed."""
        self.cut(host)
        pids = netns_pids(host.netns)
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        for process in self.processes:
            if process.pid in pids:
                process.wait(timeout=10)
        ip("netns", "delete", host.netns)
        return pids

    def stop(self, process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        kill_tree(process.pid, grace)
        process.wait(timeout=10)

    def leftovers(self) -> list[str]:
        """What of this network is still there: namespaces, veths (in the machine's namespace
        or the hub's), processes it started (by PID)."""
        listed = set(namespaces())
        left = [f"netns {name}" for name in self.names if name in listed]
        links = ip("-o", "link", "show")
        if self.hub in listed:
            links += ip("-n", self.hub, "-o", "link", "show", check=False)
        left += [f"veth {name}" for name in self.veth_names() if f" {name}@" in links]
        left += [f"pid {p.pid}" for p in self.processes if _alive(p.pid)]
        return left

    def close(self) -> None:
        """End every process (by PID, and any other PID still in one of these namespaces),
        delete every namespace, and raise if anything is left."""
        for process in self.processes:
            kill_tree(process.pid)
        listed = set(namespaces())
        for name in self.names:
            if name in listed:
                for pid in netns_pids(name):
                    kill_tree(pid, grace=2.0)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        for name in self.names:
            if name in listed:
                ip("netns", "delete", name, check=False)
        left = self.leftovers()
        if left:
            raise NetnsError(f"network {self.tag} left behind: {', '.join(left)}")
