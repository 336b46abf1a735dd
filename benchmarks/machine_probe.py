"""What the machine does under a benchmark (not a test): run-queue wait, the loopback floor
between two cores, py-spy's view of a process.

- ``runqueue_wait_s(pid)``: seconds the process was runnable but waiting for its CPU (Linux
  schedstat): other processes' work, not its own.
- ``loopback_floor(cores)``: round trips of bare sockets between two cores, p50 and p99 (ms).
- ``py_spy(pid, seconds, out)`` records a process (raw collapsed stacks, not pausing it);
  ``top_frames(path)`` lists the functions most often on top of its stacks.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

BIN = Path(__file__).resolve().parent.parent / ".venv" / "bin"


def runqueue_wait_s(pid: int) -> float:
    """Seconds the threads of ``pid`` have been runnable but waiting for a CPU (Linux
    schedstat; 0 where it cannot be read): other processes on its core, not its own work."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def py_spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[str]:
    """py-spy recording ``pid`` for ``seconds`` into ``out`` (raw collapsed stacks, without
    pausing the process)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".log").open("w") as log:
        return subprocess.Popen(
            [str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(int(seconds)),
             "--rate", "100", "--nonblocking", "--format", "raw", "--output", str(out)],
            stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip


FLOOR = """
import math, os, socket, sys, time
client_core, server_core, n = (int(a) for a in sys.argv[1:4])
listener = socket.create_server(("127.0.0.1", 0))
listener.settimeout(30)
pid = os.fork()
if pid == 0:
    if server_core >= 0:
        os.sched_setaffinity(0, {server_core})
    conn, _ = listener.accept()
    conn.settimeout(60)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while conn.recv(64):
        conn.sendall(b"t")
    os._exit(0)
try:
    if client_core >= 0:
        os.sched_setaffinity(0, {client_core})
    sock = socket.create_connection(listener.getsockname(), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(n):
        time.sleep(0.02)
        start = time.perf_counter()
        sock.sendall(b"x")
        sock.recv(64)
        rtts.append((time.perf_counter() - start) * 1000)
    sock.close()
finally:
    os.waitpid(pid, 0)
rtts.sort()
print(rtts[n // 2], rtts[math.ceil(0.99 * n) - 1])
"""


def loopback_floor(cores: tuple[int | None, int | None], n: int = 300) -> tuple[float, float]:
    """Round trips (ms, p50 and p99) of bare sockets between the two cores, one every 20 ms:
    the machine's floor under a TTFT error (a request's way in plus its first token's way out)."""
    client, server = (-1 if c is None else c for c in cores)
    done = subprocess.run(
        [sys.executable, "-c", FLOOR, str(client), str(server), str(n)],
        capture_output=True, text=True, timeout=n * 0.02 + 60, check=True,
    )  # fmt: skip
    p50, p99 = (float(x) for x in done.stdout.split())
    return p50, p99


def top_frames(path: Path, n: int = 8) -> list[tuple[float, str]]:
    """The ``n`` functions with the most samples on top of the stack (share, frame)."""
    leaves: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frame = stack.rsplit(";", 1)[-1]
        name, _, where = frame.partition(" (")
        leaves[f"{name} ({where.rsplit(':', 1)[0].split('site-packages/')[-1]})"] += int(count)
        total += int(count)
    return [(c / total, frame) for frame, c in leaves.most_common(n)] if total else []
