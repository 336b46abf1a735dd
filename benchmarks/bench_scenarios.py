"""Scenario benchmarks (not tests): the cost of agentload's bookkeeping, and the open model.

1. Requests/s of scenario A's ``StatusUser`` (outcomes, timeline, exact histograms) beside a
   plain ``FastHttpUser`` doing the same ``GET /v1/status``, and beside the same ``StatusUser``
   with the exact-histogram recorder switched off, against the same tiny server, runs
   alternated; prints the ratios (goals: the bookkeeping costs at most 5 %, the exact
   histograms at most 3 %), and the recorder's own time per request, timed alone.
2. Coordinated omission: a server that stalls periodically; prints the P99 the closed loop
   reports, the open model's P99 (latency from the intended start) and the true P99 (every
   instant equally likely to see a request).

Run: ``.venv/bin/python benchmarks/bench_scenarios.py`` (about 80 s; loads only 127.0.0.1).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import free_port, stop_process, wait_ready  # noqa: E402

BIN = ROOT / ".venv" / "bin"
AGENTS = str(ROOT / "locustfiles" / "agents.py")
PLAIN = str(ROOT / "benchmarks" / "plain_status_locustfile.py")
NO_HDR = str(ROOT / "benchmarks" / "no_histograms_locustfile.py")
SHAPE = str(ROOT / "agentload" / "locust" / "shapes" / "open_model.py")
NO_THINK = "seed = 1\n[think_time]\nmin_s = 0\nmax_s = 0\n"
RATIO_USERS, RATIO_SECONDS, ROUNDS = 8, 6, 3
STALL_PERIOD_S, STALL_S, OPEN_RATE, RUN_S = 2.0, 0.4, 100, 12


@contextmanager
def tiny_server(env: dict[str, str]) -> Iterator[str]:
    """``benchmarks/stall_server.py`` on uvicorn (httptools, uvloop), ended by PID."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "uvicorn"), "benchmarks.stall_server:app", "--host", "127.0.0.1",
         "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
         "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/v1/status", process)
        yield url
    finally:
        stop_process(process)


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def locust(files: str, args: list[str], out: Path, env: dict[str, str] | None = None) -> float:
    """One headless Locust run, bounded in time; its CSV (and agentload files) land in ``out``.

    Returns the CPU seconds the Locust process used.
    """
    cpu_before = children_cpu_s()
    out.mkdir(parents=True, exist_ok=True)
    command = [str(BIN / "locust"), "-f", files, "--headless", "--only-summary",
               "--csv", str(out / "locust"), *args]  # fmt: skip
    with (out / "locust.log").open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, text=True,
        )  # fmt: skip
    try:
        process.wait(timeout=RUN_S * 4 + 30)
    finally:
        stop_process(process)
    if process.returncode not in (0, 1):
        raise SystemExit(f"locust failed ({process.returncode}), see {out / 'locust.log'}")
    return children_cpu_s() - cpu_before


def aggregated(out: Path) -> tuple[float, int]:
    """Requests/s and requests of the run's Aggregated row."""
    with (out / "locust_stats.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                return float(row["Requests/s"]), int(row["Request Count"])
    raise SystemExit(f"no Aggregated row in {out}")


def bench_ratio(work: Path) -> None:
    config = work / "no_think.toml"
    config.write_text(NO_THINK)
    runs: dict[str, list[tuple[float, int, float]]] = {"ours": [], "no_hdr": [], "plain": []}
    common = ["-u", str(RATIO_USERS), "-r", str(RATIO_USERS), "-t", f"{RATIO_SECONDS}s"]
    with tiny_server({"STALL_S": "0"}) as url:
        for i in range(ROUNDS):
            for key, files in (("ours", AGENTS), ("no_hdr", NO_HDR)):
                out = work / f"{key}{i}"
                cpu = locust(files, [*common, "--host", url, "--scenario-config", str(config),
                                     "--agentload-out", str(out), "StatusUser"], out)  # fmt: skip
                runs[key].append((*aggregated(out), cpu))
            out = work / f"plain{i}"
            cpu = locust(PLAIN, [*common, "--host", url, "PlainStatusUser"], out)
            runs["plain"].append((*aggregated(out), cpu))
    # The machine is shared, so wall-clock req/s is noisy: show the best run of each (the least
    # disturbed) and, steadier, requests per CPU second of the Locust process (what a CPU-bound
    # load generator can sustain).
    best = {k: max(r[0] for r in v) for k, v in runs.items()}
    per_cpu = {k: sum(r[1] for r in v) / sum(r[2] for r in v) for k, v in runs.items()}
    labels = {"ours": "scenario A user", "no_hdr": "... without histograms",
              "plain": "plain FastHttpUser"}  # fmt: skip
    for key, label in labels.items():
        walls = ", ".join(f"{r[0]:.0f}" for r in runs[key])
        print(f"{label + ':':27s} {best[key]:8.0f} req/s best of [{walls}]; "
              f"{per_cpu[key]:6.0f} req per CPU-second")  # fmt: skip
    for name, a, b, goal in (("bookkeeping", "ours", "plain", 0.95),
                             ("exact histograms", "ours", "no_hdr", 0.97)):  # fmt: skip
        print(f"{name} ratio, best req/s:     {best[a] / best[b]:8.3f}  (goal >= {goal})")
        print(f"{name} ratio, req/CPU-second: {per_cpu[a] / per_cpu[b]:8.3f}  (goal >= {goal})")
    # The ratios above move by a few % from run to run on a shared machine; the recorder's own
    # cost per request, timed alone, is the steady figure.
    us = recorder_us_per_request()
    share = us / (1e6 / per_cpu["ours"])
    print(f"recorder per request:          {us:8.3f} us  ({share:.2%} of the CPU time a request "
          f"costs the scenario A user; goal <= 3 %)")  # fmt: skip


RECORDER_TIMING = """
import random, time
from agentload.locust.histograms import LatencyRecorder
recorder, rng = LatencyRecorder(), random.Random(1)
values = [rng.lognormvariate(3, 1) for _ in range(200_000)]
names = ["/v1/status", "/v1/agents/codegen", "/v1/jobs/{id}"]
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for i, ms in enumerate(values):
        recorder._on_request("GET", names[i % 3], ms, None)
    best = min(best, (time.perf_counter() - start) / len(values))
    recorder.flush()
print(best * 1e6)
"""


def recorder_us_per_request() -> float:
    """Microseconds the exact-histogram recorder spends per request (Locust's ``request``
    listener: the entry's histogram and the wall-clock second it finished in), in a subprocess
    (importing Locust patches the process with gevent)."""
    done = subprocess.run(
        [str(BIN / "python"), "-c", RECORDER_TIMING],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


def true_p99_ms(base_ms: float) -> float:
    """P99 over arrivals spread evenly in time: base + the wait left in the stall, if any."""
    steps = 200_000
    waits = sorted(max(0.0, STALL_S - STALL_PERIOD_S * i / steps) for i in range(steps))
    return base_ms + waits[int(0.99 * steps)] * 1000


def bench_open_model(work: Path) -> None:
    config = work / "no_think.toml"
    config.write_text(NO_THINK)
    env = {"STALL_S": str(STALL_S), "STALL_PERIOD_S": str(STALL_PERIOD_S),
           "STALL_ORIGIN": str(time.time())}  # fmt: skip
    with tiny_server(env) as url:
        closed = work / "closed"
        locust(AGENTS, ["-u", "10", "-r", "10", "-t", f"{RUN_S}s", "--host", url,
                        "--scenario-config", str(config), "--agentload-out", str(closed),
                        "StatusUser"], closed)  # fmt: skip
        opened = work / "open"
        shape = {"rate_per_s": OPEN_RATE, "duration_s": RUN_S, "arrival": "constant",
                 "users": int(OPEN_RATE * STALL_S * 2), "max_lag_s": 5}  # fmt: skip
        locust(f"{AGENTS},{SHAPE}", ["--host", url, "--scenario-config", str(config),
                                     "--agentload-out", str(opened), "OpenModelUser"],
               opened, env={"AGENTLOAD_SHAPE": json.dumps(shape)})  # fmt: skip
    closed_final = json.loads((closed / "final.json").read_text())["entries"]["GET /v1/status"]
    open_final = json.loads((opened / "final.json").read_text())
    open_entry = open_final["entries"]["GET /v1/status"]
    print(f"periodic stall: {STALL_S:g} s every {STALL_PERIOD_S:g} s, {RUN_S} s per run")
    print(f"closed-loop P99:        {closed_final['p99_ms']:8.0f} ms  "
          f"(10 users, no think time, {closed_final['requests']} requests)")  # fmt: skip
    counts = open_final["open_model"]
    print(f"open-model P99:         {open_entry['p99_ms']:8.0f} ms  "
          f"({OPEN_RATE}/s constant arrivals, {open_entry['requests']} requests, "
          f"late {counts['late']}, dropped {counts['dropped']})")  # fmt: skip
    print(
        f"true P99:               {true_p99_ms(open_entry['p50_ms']):8.0f} ms  "
        "(open model's P50 + the stall left at a uniformly random instant)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-scenarios-") as tmp:
        work = Path(tmp)
        bench_ratio(work)
        bench_open_model(work)


if __name__ == "__main__":
    main()
