"""Distributed-mode benchmark (not a test): aggregate requests/s of one Locust process beside a
master with 1 and with 2 workers, against a cheap endpoint on this machine.

The users are agentload's own (``StatusUser`` of agent-v1, no think time: outcomes, timeline and
exact histograms on), the target ``benchmarks/stall_server.py`` without stalls (one uvicorn
process). Every configuration runs ``ROUNDS`` times, alternated; the figures are the medians of
the requests/s Locust reports, the ratios against one process, and the CPU each kind of process
used (100 % = one core), which says where the cores run out: the load generators, the target,
or nothing left on the machine for either.

Run: ``.venv/bin/python benchmarks/bench_workers.py`` (about 90 s; loads only 127.0.0.1).
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_scenarios import AGENTS, BIN, NO_THINK, tiny_server  # noqa: E402
from tests.support import free_port  # noqa: E402

USERS, SECONDS, ROUNDS = 16, 8, 2
CONFIGS = (("1 process", 0), ("1 worker", 1), ("2 workers", 2))


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(BIN / "locust"), "-f", AGENTS, *args],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def run(url: str, server_pid: int, workers: int, folder: Path) -> dict[str, float]:
    """One headless run: its aggregate requests/s and CPU % per kind of process."""
    folder.mkdir(parents=True)
    scenario = folder / "no-think.toml"
    scenario.write_text(NO_THINK)
    env = {**os.environ, "AGENT_API_KEY": "agentload-dev-key", "PYTHONUNBUFFERED": "1"}
    common = ["--api", "agent-v1", "--scenario-config", str(scenario), "--loglevel", "WARNING"]
    main = ["--headless", "--only-summary", "--host", url, "-u", str(USERS), "-r", str(USERS)]
    main += ["-t", f"{SECONDS}s", "--csv", str(folder / "locust"), *common]
    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    if workers:
        port = free_port()
        main += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
        main += ["--expect-workers", str(workers)]
    procs.append(
        ("master" if workers else "process", _spawn([*main, "StatusUser"], folder / "log", env))
    )
    for _ in range(workers):
        args = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port), *common]
        procs.append(("worker", _spawn(args, folder / "log", env)))
    watched = [(kind, psutil.Process(p.pid)) for kind, p in procs]
    watched.append(("target", psutil.Process(server_pid)))
    cpu = {kind: 0.0 for kind, _ in watched}
    for _, proc in watched:
        proc.cpu_percent(None)
    samples = 0
    try:
        deadline = time.monotonic() + SECONDS + 60
        time.sleep(2.0)  # spawned and warmed up
        while procs[0][1].poll() is None and time.monotonic() < deadline:
            time.sleep(1.0)
            if procs[0][1].poll() is not None:
                break
            samples += 1
            for kind, proc in watched:
                try:
                    cpu[kind] += proc.cpu_percent(None)
                except psutil.Error:
                    pass
    finally:
        for _, process in procs:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
    with (folder / "locust_stats.csv").open() as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    figures = {f"cpu {k}": v / max(samples, 1) for k, v in cpu.items()}
    return {"rps": float(row["Requests/s"]), **figures}


def main() -> None:
    cores = os.cpu_count() or 1
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp, tiny_server({"STALL_S": "0"}) as url:
        server = next(
            p for p in psutil.Process().children() if "stall_server" in " ".join(p.cmdline())
        )
        for round_ in range(ROUNDS):
            for name, workers in CONFIGS:
                folder = Path(tmp) / f"{round_}-{workers}"
                results[name].append(run(url, server.pid, workers, folder))
    base = statistics.median(r["rps"] for r in results["1 process"])
    print(f"{cores} cores; {USERS} users, {SECONDS}s runs, median of {ROUNDS} rounds")
    print(f"{'':<10} {'req/s':>8} {'ratio':>6}   CPU % (100 = one core)")
    for name, _ in CONFIGS:
        rps = statistics.median(r["rps"] for r in results[name])
        kinds = sorted({k for r in results[name] for k in r if k.startswith("cpu ")})
        cpu = "  ".join(
            f"{k[4:]} {statistics.median(r.get(k, 0.0) for r in results[name]):.0f}" for k in kinds
        )
        print(f"{name:<10} {rps:>8.0f} {rps / base:>6.2f}   {cpu}")


if __name__ == "__main__":
    main()
