"""`python -m target_service`: starts engine and API, reports PIDs, stops both, fails clearly."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support import ROOT, free_port, stop_process
from tests.target_service.conftest import ADMIN_KEY, FAST_ENGINE, Launcher

PID_LINE = re.compile(r"^target_service: (engine|api) pid=(\d+) url=(\S+)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def _supervisor(tmp_path: Path, *args: str, **extra: str) -> Iterator[subprocess.Popen[str]]:
    """The supervisor with stdout piped and stderr (its own and its children's) in err.log."""
    env = {**os.environ, **FAST_ENGINE, "AGENT_DB_PATH": str(tmp_path / "jobs.sqlite"), **extra}
    with (tmp_path / "err.log").open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "target_service", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        yield process
    finally:
        stop_process(process)
        if process.stdout is not None:
            process.stdout.close()


def _stderr(tmp_path: Path) -> str:
    return (tmp_path / "err.log").read_text()


def _read_until(process: subprocess.Popen[str], prefix: str, timeout: float = 60) -> list[str]:
    """Lines of stdout up to and including the first starting with `prefix`."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"stdout closed before {prefix!r}: {lines}")
        lines.append(line.rstrip("\n"))
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no {prefix!r} line in {timeout}s: {lines}")


def _ports() -> list[str]:
    return ["--port", str(free_port()), "--engine-port", str(free_port())]


def test_starts_both_children_and_sigterm_ends_them(tmp_path: Path) -> None:
    """It prints one pid line per child, serves the API, hands AGENT_ADMIN_KEY to the engine,
    and on SIGTERM ends both children and exits 0."""
    with _supervisor(tmp_path, *_ports(), AGENT_ADMIN_KEY=ADMIN_KEY) as process:
        lines = _read_until(process, "target_service: ready")
        children = {m[1]: (int(m[2]), m[3]) for m in map(PID_LINE.match, lines) if m}
        assert set(children) == {"engine", "api"}
        engine_pid, engine_url = children["engine"]
        api_pid, api_url = children["api"]
        assert httpx.get(f"{engine_url}/healthz").status_code == 200
        assert httpx.get(f"{api_url}/readyz").status_code == 200
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        assert httpx.get(f"{engine_url}/admin/faults", headers=admin).json() == {"outage": False}
        assert _alive(engine_pid) and _alive(api_pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert not _alive(engine_pid) and not _alive(api_pid)


def test_external_engine_url_starts_only_the_api(tmp_path: Path, launch: Launcher) -> None:
    """With AGENT_ENGINE_URL set, no engine is started and the API uses the given one."""
    engine = launch.engine()
    with _supervisor(tmp_path, *_ports(), AGENT_ENGINE_URL=engine.url) as process:
        lines = _read_until(process, "target_service: ready")
        assert lines[0] == f"target_service: engine external url={engine.url}"
        assert [m[1] for m in map(PID_LINE.match, lines) if m] == ["api"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert engine.process.poll() is None


def test_a_dying_child_ends_the_supervisor_with_one_line(tmp_path: Path) -> None:
    """When the engine dies, the supervisor says which child and exits 1."""
    with _supervisor(tmp_path, *_ports()) as process:
        (line,) = _read_until(process, "target_service: engine pid=")
        match = PID_LINE.match(line)
        assert match is not None
        os.kill(int(match[2]), signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        err = _stderr(tmp_path)
        assert f"engine (pid {match[2]}) exited with code -9" in err
        assert "Traceback" not in err


def test_a_taken_port_fails_with_one_line(tmp_path: Path) -> None:
    """A port already in use ends the supervisor with exit 1 and a line naming the port."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with _supervisor(tmp_path, "--port", str(port), "--engine-port", str(free_port())) as p:
            assert p.wait(timeout=30) == 1
    expected = f"target_service: api port {port} on 127.0.0.1 is already in use"
    assert _stderr(tmp_path).strip() == expected


def test_bad_option_exits_2_with_one_line(tmp_path: Path) -> None:
    """An unknown option or a bad port value exits 2 with a single line and no traceback."""
    for args in (["--bogus"], ["--port", "http"], ["--port", "9000", "--engine-port", "9000"]):
        with _supervisor(tmp_path, *args) as process:
            out, _ = process.communicate(timeout=30)
            assert process.returncode == 2
        err = _stderr(tmp_path)
        assert out == "" and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err
