"""The system under test: the embedded target service, or a deployment given by URL.

`EmbeddedTarget.start()` runs `python -m target_service` on free loopback ports in its own process
group, reads the supervisor's `target_service: <child> pid=<pid> url=<url>` lines, and waits
(bounded) until `/readyz` answers 200. `stop()` ends the supervisor and both children by PID.
`RemoteTarget` only checks that the given URL answers and refuses non-loopback hosts unless allowed.

Failures raise `RunAborted` (target died or never ready) or `ConfigError` (bad `--host`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx
import psutil

from agentload.errors import ConfigError, RunAborted
from agentload.processes import die_with_parent, end_process, free_port, kill_pid, running
from agentload.redaction import basic_header, shown_url

_PID_LINE = re.compile(r"target_service: (?P<child>\w+) pid=(?P<pid>\d+) url=(?P<url>\S+)")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(url: str) -> bool:
    """True when the URL's host is a loopback name or address."""
    host = urlsplit(url).hostname or ""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(url: str, allow_remote: bool) -> str:
    """Validate `--host`: an http(s) URL, loopback unless `allow_remote`. Returns it without '/'."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f'--host "{shown_url(url)}" must be a URL like "http://127.0.0.1:8000"')
    try:
        port = parts.port
    except ValueError:  # not a number, or above 65535
        port = 0
    if port == 0:  # the URL itself is not repeated: it may carry a password
        given = parts.netloc.rpartition(":")[2]
        raise ConfigError(
            f"--host port {given!r} is not a TCP port, expected a number from 1 to 65535, "
            'e.g. "http://127.0.0.1:8000"'
        )
    if not allow_remote and not is_loopback(url):
        raise ConfigError(
            f'--host "{shown_url(url)}" is not a loopback address: a load test pointed at the '
            "wrong place is a denial of service. Pass --allow-remote if you own that deployment."
        )
    return url.rstrip("/")


Check = Callable[[], str | None]


def _first(*checks: Check | None) -> Check:
    def check() -> str | None:
        for func in checks:
            problem = func() if func is not None else None
            if problem:
                return problem
        return None

    return check


def wait_ready(
    url: str,
    timeout: float,
    alive: Check | None = None,
    status: int | None = 200,
    headers: dict[str, str] | None = None,
) -> None:
    """Poll `url` until it answers `status` (None: until a TCP connect to its host and port
    succeeds), at most `timeout` seconds; raise `RunAborted` otherwise. `alive` returns a
    problem (process gone, interrupted) that ends the wait at once."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    with httpx.Client(timeout=1.0, headers=headers) as client:
        while time.monotonic() < deadline:
            if alive is not None:
                problem = alive()
                if problem:
                    raise RunAborted(f"target not ready: {problem}")
            try:
                if status is None:
                    _connect(url)
                    return
                got = client.get(url).status_code
                if got == status:
                    return
                last = f"HTTP {got}, expected {status}"
            except (httpx.HTTPError, OSError) as exc:
                last = type(exc).__name__
            time.sleep(0.2)
    raise RunAborted(f"target not ready after {timeout:g}s: {url} gave {last}")


def _connect(url: str) -> None:
    """One TCP connect to `url`'s host and port (OSError when refused)."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1.0):
        return


@dataclass
class RemoteTarget:
    """A deployment the runner does not own: no PIDs, nothing to stop."""

    url: str
    engine_url: str | None = None
    pids: dict[str, int] = field(default_factory=dict)
    ready_path: str | None = None  # the description's readiness path; None: a TCP connect
    ready_status: int = 200
    credentials: str = ""  # "user:password" of --host, sent as basic auth, never shown

    def start(self, ready_timeout: float, interrupted: Check | None = None) -> None:
        """Wait until the readiness path answers its status (no path: a TCP connect)."""
        if self.ready_path:
            auth = {"Authorization": basic_header(self.credentials)} if self.credentials else None
            url = f"{self.url}{self.ready_path}"
            wait_ready(url, ready_timeout, interrupted, self.ready_status, auth)
        else:
            wait_ready(self.url, ready_timeout, interrupted, None)

    def problem(self) -> str | None:
        return None

    def stop(self) -> None:
        return None


@dataclass
class EmbeddedTarget:
    """`python -m target_service` started by the runner; its output goes to `log_path`."""

    log_path: Path
    env: dict[str, str]
    host: str = "127.0.0.1"
    url: str = ""
    engine_url: str | None = None
    pids: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    _reader: threading.Thread | None = None
    _last_lines: deque[str] = field(default_factory=lambda: deque(maxlen=3))

    def start(self, ready_timeout: float, interrupted: Check | None = None) -> None:
        """Start on free ports and wait until `/readyz` answers (bounded by `ready_timeout`)."""
        port, engine_port = free_port(), free_port()
        self.url = f"http://{self.host}:{port}"
        self.engine_url = f"http://{self.host}:{engine_port}"
        cmd = [
            sys.executable, "-m", "target_service",
            "--host", self.host, "--port", str(port), "--engine-port", str(engine_port),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            cmd,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.pids["supervisor"] = self.process.pid
        assert self.process.stdout is not None
        self._reader = threading.Thread(
            target=self._copy_output, args=(self.process.stdout,), daemon=True
        )
        self._reader.start()
        wait_ready(f"{self.url}/readyz", ready_timeout, _first(interrupted, self.problem))

    def _copy_output(self, stream: IO[str]) -> None:
        with self.log_path.open("a", encoding="utf-8") as log:
            for line in stream:
                log.write(line)
                log.flush()
                match = _PID_LINE.search(line)
                if match:
                    self.pids[match["child"]] = int(match["pid"])
                elif line.strip():
                    self._last_lines.append(line.strip()[-200:])

    def problem(self) -> str | None:
        """What is wrong with the target's processes right now, or None when all run."""
        if self.process is None:
            return "not started"
        if self.process.poll() is not None:
            return self._supervisor_exit()
        for child in ("api", "engine"):
            pid = self.pids.get(child)
            if pid is not None and not running(pid):
                # The supervisor notices within a moment and says why (e.g. a bad setting).
                gone = f"target {child} process (pid {pid}) is gone"
                try:
                    self.process.wait(timeout=2.0)
                except subprocess.TimeoutExpired:
                    return gone
                exited = self._supervisor_exit()
                return exited if exited.startswith("target ") else f"{gone}; {exited}"
        return None

    def _supervisor_exit(self) -> str:
        assert self.process is not None
        if self._reader is not None:
            self._reader.join(timeout=1.0)  # its last words reach _last_lines
        last = " | ".join(self._last_lines)
        said = f" (its last output: {last})" if last else ""
        sup, code = self.process.pid, self.process.returncode
        exited = f"target_service supervisor (pid {sup}) exited with code {code}{said}"
        if died := _CHILD_EXIT.search(last):
            return f"target {died['child']} process (pid {died['pid']}) is gone; {exited}"
        return exited

    def stop(self, grace: float = 8.0) -> None:
        """End the supervisor (SIGTERM, then SIGKILL) and make sure every child is gone."""
        if self.process is None:
            return
        pids = set(self.pids.values())
        if self.process.poll() is None:
            try:
                pids.update(c.pid for c in psutil.Process(self.process.pid).children(True))
            except psutil.Error:
                pass
            end_process(self.process, signal.SIGTERM, grace)
        for pid in pids:
            kill_pid(pid)
        if self._reader is not None:
            self._reader.join(timeout=2)


# The supervisor's line when a child dies, e.g. "target_service: api (pid 42) exited with code -9".
_CHILD_EXIT = re.compile(r"target_service: (?P<child>api|engine) \(pid (?P<pid>\d+)\) exited")
