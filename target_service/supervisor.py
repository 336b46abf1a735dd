"""Run the engine and the agent API as child processes; stop both together.

The engine starts first (unless `AGENT_ENGINE_URL` points elsewhere) and must answer `/healthz`
before the API starts with `AGENT_ENGINE_URL` set to it. SIGINT/SIGTERM stop both children
(SIGTERM, then SIGKILL after `grace_s`) and the supervisor exits 0; a child that dies or a port
that is taken ends the supervisor with one line and exit code 1.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import FrameType
from typing import TextIO

EXIT_OK = 0
EXIT_FAILURE = 1
POLL_S = 0.1


class SupervisorError(Exception):
    """A failure that ends the supervisor with one line and `EXIT_FAILURE`."""


@dataclass(frozen=True)
class SupervisorConfig:
    """Where the children listen and how long they get to stop."""

    host: str = "127.0.0.1"
    port: int = 8000
    engine_port: int = 8001
    grace_s: float = 10.0
    ready_timeout_s: float = 60.0


def say(line: str, stream: TextIO = sys.stdout) -> None:
    """Write one `target_service: ...` line and flush it (the runner reads these as they come)."""
    stream.write(f"target_service: {line}\n")
    stream.flush()


def port_in_use(host: str, port: int) -> bool:
    """Whether binding `host:port` fails now (as uvicorn binds, with SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:
    """In the child (Linux): get SIGTERM if the supervisor itself is killed."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class Supervisor:
    """Owns the two children: start, watch, stop."""

    config: SupervisorConfig
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False
    api_url: str = ""

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Start both children, watch them until a signal or a death; return the exit code."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            self._start()
            self._watch()
        except SupervisorError as exc:
            say(str(exc), sys.stderr)
            return EXIT_FAILURE
        finally:
            self.stop()
        return EXIT_OK

    def _start(self) -> None:
        cfg = self.config
        external = self.env.get("AGENT_ENGINE_URL")
        ports = (
            [("api", cfg.port)] if external else [("engine", cfg.engine_port), ("api", cfg.port)]
        )
        for name, port in ports:
            if port_in_use(cfg.host, port):
                raise SupervisorError(f"{name} port {port} on {cfg.host} is already in use")
        if external:
            engine_url = external.rstrip("/")
            say(f"engine external url={engine_url}")
        else:
            engine_url = f"http://{_url_host(cfg.host)}:{cfg.engine_port}"
            engine_env = dict(self.env)
            if self.env.get("AGENT_ADMIN_KEY"):
                engine_env["ENGINE_ADMIN_KEY"] = self.env["AGENT_ADMIN_KEY"]
            self._spawn("engine", "target_service.engine", cfg.engine_port, engine_env, engine_url)
            self._wait_for_engine(f"{engine_url}/healthz")
            if self.stopping:
                return
        api_url = f"http://{_url_host(cfg.host)}:{cfg.port}"
        api_env = {**self.env, "AGENT_ENGINE_URL": engine_url}
        self._spawn("api", "target_service.api", cfg.port, api_env, api_url)
        self.api_url = api_url

    def _spawn(self, name: str, module: str, port: int, env: dict[str, str], url: str) -> None:
        cmd = [sys.executable, "-m", module, "--host", self.config.host, "--port", str(port)]
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        child = subprocess.Popen(cmd, env=env, preexec_fn=preexec)
        self.children[name] = child
        say(f"{name} pid={child.pid} url={url}")

    def _check_children(self) -> None:
        for name, child in self.children.items():
            code = child.poll()
            if code is not None:
                raise SupervisorError(f"{name} (pid {child.pid}) exited with code {code}")

    def _wait_for_engine(self, health_url: str) -> None:
        deadline = time.monotonic() + self.config.ready_timeout_s
        while not self.stopping and not _answers_200(health_url):
            self._check_children()
            if time.monotonic() > deadline:
                raise SupervisorError(
                    f"engine not healthy at {health_url} after {self.config.ready_timeout_s:g}s"
                )
            time.sleep(POLL_S)

    def _watch(self) -> None:
        """Until a signal: check the children; say once when the API answers /readyz."""
        ready = False
        while not self.stopping:
            self._check_children()
            if not ready and self.api_url and _answers_200(f"{self.api_url}/readyz"):
                ready = True
                say(f"ready url={self.api_url}")
            time.sleep(POLL_S)

    def stop(self) -> None:
        """SIGTERM every live child (API first), then SIGKILL those still alive after grace."""
        live = [c for c in reversed(self.children.values()) if c.poll() is None]
        for child in live:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.config.grace_s
        for child in live:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
