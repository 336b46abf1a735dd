"""Child processes of the runner: started in their own group, dying with the runner, ended by PID.

Used by the parts that start processes (the target, Locust, py-spy, Prometheus); nothing here
knows what the process is.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
from typing import Any

import psutil

_PR_SET_PDEATHSIG = 1
# Looked up once in the parent: nothing but the call itself may run between fork and exec.
_PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def die_with_parent() -> None:
    """`preexec_fn` for children: on Linux they get SIGTERM if the runner dies (even by SIGKILL),
    so a killed runner leaves no target or Locust behind. Only a foreign call runs in the child."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def running(pid: int) -> bool:
    """True while the process with this PID runs (a zombie has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def end_process(
    process: subprocess.Popen[Any], sig: int = signal.SIGTERM, grace: float = 10.0
) -> None:
    """End a child we started: `sig`, then SIGKILL after `grace` seconds; a no-op once ended."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def kill_pid(pid: int, grace: float = 3.0) -> None:
    """End one process by PID if it still runs: SIGTERM, then SIGKILL after `grace` seconds."""
    try:
        proc = psutil.Process(pid)
        proc.terminate()
        proc.wait(timeout=grace)
    except psutil.TimeoutExpired:
        try:
            proc.kill()
            proc.wait(timeout=3)
        except psutil.Error:
            pass
    except psutil.Error:
        pass
