"""py-spy on the target's processes: `flamegraph.svg`, `profile.speedscope.json`, top functions.

`PySpy(pid, seconds, out_dir).start()` runs two `py-spy record` processes on the PID (with
`--subprocesses`, so a supervisor PID covers the API and the engine): one writing the flame graph,
one the speedscope JSON. `--gil` keeps only samples holding the GIL (Python work on the CPU), so
threads and event loops waiting for I/O do not bury the bottleneck; `--nonblocking` keeps the two
samplers from pausing the target. `top_functions(speedscope)` is pure: the functions with the
most samples at the leaf (self) and anywhere on the stack (total). When py-spy cannot attach,
`ProfileError` says how to grant ptrace rights.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from agentload.errors import AgentloadError
from agentload.processes import die_with_parent, kill_pid

FLAMEGRAPH = "flamegraph.svg"
SPEEDSCOPE = "profile.speedscope.json"
PTRACE_HINT = (
    "py-spy needs ptrace rights on the target: run agentload as the target's user with "
    "`sudo setcap cap_sys_ptrace+ep $(which py-spy)` or "
    "`echo 0 | sudo tee /proc/sys/kernel/yama/ptrace_scope`; in Docker add `--cap-add SYS_PTRACE`"
)


class ProfileError(AgentloadError):
    """py-spy could not profile the target (the run goes on; the summary says why)."""


def py_spy_binary() -> str:
    """The py-spy executable next to this interpreter, or on PATH."""
    local = Path(sys.executable).parent / "py-spy"
    found = str(local) if local.exists() else shutil.which("py-spy")
    if not found:
        raise ProfileError("py-spy is not installed: pip install py-spy")
    return found


class PySpy:
    """Two `py-spy record` runs of `seconds` on `pid` (and its subprocesses)."""

    def __init__(self, pid: int, seconds: float, out_dir: Path, rate: int = 100) -> None:
        self.pid, self.seconds, self.out_dir, self.rate = pid, seconds, out_dir, rate
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log_path = out_dir / "py-spy.log"
        self._started = time.monotonic()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def _cmd(self, fmt: str, output: str) -> list[str]:
        return [
            py_spy_binary(), "record", "--pid", str(self.pid), "--subprocesses",
            "--nonblocking", "--gil",
            "--function", "--rate", str(self.rate), "--duration", str(max(1, round(self.seconds))),
            "--format", fmt, "--output", str(self.out_dir / output),
        ]  # fmt: skip

    def start(self) -> None:
        self._started = time.monotonic()
        with self.log_path.open("ab") as log:
            for fmt, output in (("flamegraph", FLAMEGRAPH), ("speedscope", SPEEDSCOPE)):
                self.procs.append(
                    subprocess.Popen(
                        self._cmd(fmt, output),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                        preexec_fn=die_with_parent,
                    )
                )

    def running(self) -> bool:
        return any(p.poll() is None for p in self.procs)

    def wait(self, timeout: float) -> dict[str, Any]:
        """Wait for both recordings; the summary's `profile` section, or ProfileError."""
        for proc in self.procs:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_pid(proc.pid)
                proc.wait(timeout=5)
        svg, speedscope = self.out_dir / FLAMEGRAPH, self.out_dir / SPEEDSCOPE
        if not svg.exists() or not speedscope.exists():
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            if "ermission" in log or "ptrace" in log.lower():
                raise ProfileError(f"py-spy could not attach to pid {self.pid}. {PTRACE_HINT}")
            last = log.strip().splitlines()[-1] if log.strip() else "no output"
            raise ProfileError(f"py-spy wrote no profile of pid {self.pid}: {last}")
        data = json.loads(speedscope.read_text(encoding="utf-8"))
        return {
            "flamegraph": FLAMEGRAPH,
            "speedscope": SPEEDSCOPE,
            "pid": self.pid,
            "seconds": round(min(self.seconds, time.monotonic() - self._started), 1),
            "top_functions": top_functions(data),
        }

    def interrupt(self) -> None:
        """Ask the recordings to end now (SIGINT: py-spy writes the samples taken so far)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                kill_pid(proc.pid)
            proc.wait(timeout=5)


def top_functions(speedscope: dict[str, Any], n: int = 5) -> list[dict[str, Any]]:
    """The `n` functions with the largest self share of samples, with their total share."""
    frames = speedscope.get("shared", {}).get("frames", [])
    self_w: Counter[int] = Counter()
    total_w: Counter[int] = Counter()
    all_w = 0.0
    for prof in speedscope.get("profiles", []):
        for stack, weight in zip(prof.get("samples", []), prof.get("weights", []), strict=False):
            if not stack:
                continue
            all_w += weight
            self_w[stack[-1]] += weight
            for idx in set(stack):
                total_w[idx] += weight
    if all_w <= 0:
        return []
    top = []
    for idx, weight in self_w.most_common(n):
        frame = frames[idx]
        top.append(
            {
                "function": frame.get("name"),
                "file": frame.get("file"),
                "line": frame.get("line"),
                "self_pct": round(100 * weight / all_w, 2),
                "total_pct": round(100 * total_w[idx] / all_w, 2),
            }
        )
    return top
