"""Concurrency benchmark (not a test): many long streams held at once by one Locust process.

Agent calls hold a stream for seconds to minutes, so production load is thousands of streams in
flight. Per level (default 500, 1,000 and 2,000 streams) one Locust process (no workers, pinned to
one core) runs the ``rate`` phase's open model as ``agentload run rate`` builds it
(:func:`agentload.run.locust_plan.build_commands`: ``OpenModelUser``, the open-model shape,
``--agentload-out``, ``--agentload-requests``) with the ``openai-chat`` preset, every call
streamed, against ``benchmarks/stream_server.py`` (asyncio, pinned to the other core): each
stream's first token 100 ms after its request is received, then a token every 50 ms, 200 tokens
(about 10 s). Arrivals are evenly spaced at ``level / stream length`` per second to a pool of
``1.1 x level + 10`` users, so once the first calls end (one stream length) ``level`` streams
are in flight; the calls measured are those whose intended start falls in the ``--hold`` seconds
after every user has made its first call (which opens its connection), all of them made while
``level`` streams are held. The locustfile is the stock one with a tap that keeps each stream's
metrics as agentload records them (``benchmarks/stream_tap_locustfile.py``).

The server's truth (``time.time()`` on the same machine): when each request was received and
when each token's write returned. The server reports each stream's number as its usage's
``prompt_tokens``, so agentload's own ``requests.jsonl.gz`` line of the call (``input_tokens``)
and the tap name the stream. Per measured call:

- send delay = the call's actual start (Locust's request start) - its intended start;
- TTFT error = the client's TTFT from its actual send (agentload's TTFT, which the open model
  times from the intended start, minus the send delay) - the server's (request received to first
  token written). It is the way in (request received - sent: the client's write, loopback, the
  server's read) plus the way out (first token read by the client - written by the server), both
  shown as p99; agentload's reported TTFT is off by the send delay on top;
- ITL error = each inter-token gap the client recorded - the same gap between the server's
  writes (a late read lengthens one gap and shortens the next): p50/p99 of its absolute value.

Also per level, while the measured calls are in flight: the Locust process's CPU (user+sys
seconds per wall second: 1.00 = its core is full), its run-queue wait (seconds per second it was
runnable while another process held its core: the machine's contention, not its own work;
Linux schedstat) and its largest RSS; the server's CPU and wait, and the connections it accepted
in the whole run (about the pool when the users keep theirs alive). First, the machine's floor: the
round trip of bare sockets between the two cores, one every 20 ms (a TTFT error is a request's
way in plus its first token's way out, so it cannot be much below it). Goal: at 2,000 streams on
one core, TTFT error p99 <= 2 ms; the last line says whether it holds and the highest level that
does. ``--py-spy DIR`` records the Locust process while the streams are held (py-spy, raw
collapsed stacks) and prints the functions on top of its stacks.

Run: ``.venv/bin/python benchmarks/bench_concurrency.py [--levels 500,1000,2000] [--hold 10]``
(about 45 s a level; loads only 127.0.0.1; raises the open-files soft limit if it must).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agentload.apis.load import description_path  # noqa: E402
from agentload.results.requests_file import FILE_NAME, merge_parts, read_lines  # noqa: E402
from agentload.run.locust_plan import STOP_TIMEOUT_S, LocustPlan, build_commands  # noqa: E402
from benchmarks.machine_probe import loopback_floor, py_spy, runqueue_wait_s, top_frames  # noqa: E402
from benchmarks.stream_server import TAP_ENV, read_records  # noqa: E402
from tests.support import free_port, stop_process, wait_ready  # noqa: E402

BIN = ROOT / ".venv" / "bin"
SERVER = ROOT / "benchmarks" / "stream_server.py"
TAP = ROOT / "benchmarks" / "stream_tap_locustfile.py"
LEVELS, HOLD_S, TOKENS, TTFT_MS, INTERVAL_MS = (500, 1000, 2000), 10.0, 200, 100.0, 50.0
GOAL_MS, POOL_HEADROOM, SAMPLE_S = 2.0, 1.1, 0.5
CONTENDED = 0.02  # run-queue wait (s per s) above which the figures are the machine's too
ENTRY = "POST /v1/chat/completions"
CONFIG = """seed = 1
stream_share = {{chat = 1.0}}
vars = {{max_tokens = {tokens}}}
[think_time]
min_s = 0
max_s = 0
[open_model]
scenario = "chat"
arrival = "constant"
"""


@dataclass(frozen=True)
class Level:
    """One level's plan: streams held, arrivals per second, the run's length and windows."""

    streams: int
    stream_s: float
    hold_s: float

    @property
    def rate(self) -> float:
        return self.streams / self.stream_s

    @property
    def measured_from(self) -> float:
        """When the measured arrivals begin (s after the first): ``streams`` in flight, and
        every user of the pool past its first call (which opens its connection)."""
        return max(self.stream_s, self.pool / self.rate) + 0.5

    @property
    def duration_s(self) -> float:
        """The ramp, the measured arrivals, then one stream length for the last of them."""
        return self.measured_from + self.hold_s + self.stream_s + 1.0

    @property
    def pool(self) -> int:
        return math.ceil(self.streams * POOL_HEADROOM) + 10


class Sample(NamedTuple):
    """One look at the two processes: CPU and run-queue wait in seconds so far, RSS in bytes."""

    wall: float
    cpu: float
    wait: float
    rss: int
    server_cpu: float
    server_wait: float


@dataclass
class Figures:
    """What one level measured (ms unless named otherwise; None: nothing to measure)."""

    streams: int
    calls: int = 0
    failed: int = 0
    connections: int = 0  # opened in the whole run (the pool's users keep theirs alive)
    ttft_err: tuple[float, float] | None = None  # p50, p99
    way_in_p99: float | None = None
    way_out_p99: float | None = None
    reported_p99: float | None = None
    itl_err: tuple[float, float] | None = None  # p50, p99 of |error|
    gaps: int = 0
    send_delay: tuple[float, float, float] | None = None  # p50, p99, max
    cpu: float | None = None  # Locust's user+sys seconds per wall second
    wait: float | None = None  # Locust's seconds runnable but not running, per wall second
    rss_mb: float | None = None
    server_cpu: float | None = None
    server_wait: float | None = None
    profile: list[tuple[float, str]] | None = None


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of sorted ``values``."""
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def raise_fd_limit(needed: int) -> None:
    """Raise this process's (and so its children's) open-files soft limit to ``needed``."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        new = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < needed:
            print(f"open files limited to {new} (hard limit); {needed} wanted")


def pinned(core: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that pins the child to ``core`` (None: no pinning)."""
    if core is None:
        return None
    return lambda: os.sched_setaffinity(0, {core})


@contextmanager
def stream_server(core: int | None, log: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``benchmarks/stream_server.py`` on a free loopback port, ended by PID."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, str(SERVER), "--port", str(port), "--ttft-ms", str(TTFT_MS),
             "--interval-ms", str(INTERVAL_MS)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, text=True, preexec_fn=pinned(core),
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/v1/models", process)
        yield process, url
    finally:
        stop_process(process)


def locust_command(
    level: Level, url: str, folder: Path, config: Path
) -> tuple[list[str], dict[str, str]]:
    """The Locust command line and environment of the ``rate`` phase, as the runner builds it."""
    table = {"scenario": "chat", "rate_per_s": level.rate, "arrival": "constant",
             "duration_s": level.duration_s, "users": level.pool, "max_lag_s": 5.0,
             "max_users": 2 * level.pool, "processes": 1}  # fmt: skip
    plan = LocustPlan(
        host=url, out_dir=folder, user_classes=("OpenModelUser",), scenario_config=config,
        shape="open_model", shape_table=table, api=description_path("openai-chat"),
        phase="rate", locustfile=TAP,
    )  # fmt: skip
    commands = build_commands(plan)
    return commands.main, commands.env


def run_level(
    level: Level, work: Path, cores: tuple[int | None, int | None], spy: Path | None
) -> Figures:
    """Run one level; its figures."""
    folder = work / f"streams-{level.streams}"
    folder.mkdir(parents=True)
    config = folder / "streamed.toml"
    config.write_text(CONFIG.format(tokens=TOKENS))
    tap, truth = folder / "client.bin", folder / "server.bin"
    samples: list[Sample] = []
    profile: list[tuple[float, str]] | None = None
    stacks = spy / f"streams-{level.streams}.txt" if spy is not None else None
    with stream_server(cores[1], folder / "server.log") as (server, url):
        command, env = locust_command(level, url, folder, config)
        env = {**os.environ, **env, TAP_ENV: str(tap), "PYTHONUNBUFFERED": "1"}
        with (folder / "locust.log").open("w") as log:
            locust = subprocess.Popen(
                command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, text=True,
                preexec_fn=pinned(cores[0]),
            )  # fmt: skip
        recorder: subprocess.Popen[str] | None = None
        try:
            watched, served = psutil.Process(locust.pid), psutil.Process(server.pid)
            deadline = time.monotonic() + level.duration_s + STOP_TIMEOUT_S + 60
            while locust.poll() is None and time.monotonic() < deadline:
                try:
                    mine, theirs = watched.cpu_times(), served.cpu_times()
                    rss = watched.memory_info().rss
                except psutil.Error:
                    break
                samples.append(Sample(time.time(), mine.user + mine.system,
                                      runqueue_wait_s(locust.pid), rss,
                                      theirs.user + theirs.system,
                                      runqueue_wait_s(server.pid)))  # fmt: skip
                held = started(url) >= level.measured_from * level.rate if stacks else False
                if stacks is not None and recorder is None and held:
                    recorder = py_spy(locust.pid, level.hold_s + level.stream_s - 1, stacks)
                time.sleep(SAMPLE_S)
            if locust.poll() is None:
                raise SystemExit(f"Locust still running after its deadline: {folder}/locust.log")
            if recorder is not None and stacks is not None:
                recorder.wait(timeout=level.hold_s + level.stream_s + 30)
                profile = top_frames(stacks)
        finally:
            stop_process(locust)
            if recorder is not None:
                stop_process(recorder)
        if locust.returncode not in (0, 1):
            raise SystemExit(f"Locust failed ({locust.returncode}): see {folder}/locust.log")
        httpx.post(f"{url}/bench/dump", content=str(truth), timeout=60).raise_for_status()
        connections = started(url, "connections")
    merge_parts(folder)
    figures = measure(level, folder, tap, truth, samples)
    figures.profile, figures.connections = profile, connections
    return figures


def started(url: str, what: str = "streams") -> int:
    """How many streams the server has started, or connections it has accepted (0 if it does
    not answer)."""
    try:
        return int(httpx.get(f"{url}/bench/started", timeout=2).json()[what])
    except (httpx.HTTPError, ValueError, KeyError):
        return 0


def measure(
    level: Level,
    folder: Path,
    tap: Path,
    truth: Path,
    samples: list[Sample],
) -> Figures:
    """The level's figures from agentload's requests.jsonl.gz, the tap and the server's truth."""
    figures = Figures(level.streams)
    rows = [r for r in read_lines(folder / FILE_NAME)
            if r["entry"] == ENTRY and r["part"] == "call" and r["intended_start"]]  # fmt: skip
    if not rows:
        return figures
    origin = min(float(r["intended_start"]) for r in rows)
    low = origin + level.measured_from
    window = [r for r in rows if low <= r["intended_start"] < low + level.hold_s]
    server = {n: (received, sent) for n, received, sent in read_records(truth)}
    client = {n: gaps for n, _ttft, gaps in read_records(tap)} if tap.exists() else {}
    delays: list[float] = []
    errors: list[float] = []
    ins: list[float] = []
    outs: list[float] = []
    reported: list[float] = []
    itl: list[float] = []
    for row in window:
        figures.calls += 1
        if row["start"] is None:  # dropped: never sent
            figures.failed += 1
            continue
        delay = (row["start"] - row["intended_start"]) * 1000
        delays.append(delay)
        stream = server.get(row["input_tokens"])
        if row["outcome"] != "success" or row["ttft_ms"] is None or stream is None:
            figures.failed += 1
            continue
        received, sent = stream
        true_ttft = (sent[0] - received) * 1000
        errors.append(row["ttft_ms"] - delay - true_ttft)
        reported.append(row["ttft_ms"] - true_ttft)
        ins.append((received - row["start"]) * 1000)
        outs.append((row["intended_start"] + row["ttft_ms"] / 1000 - sent[0]) * 1000)
        gaps = client.get(row["input_tokens"])
        if gaps is not None and len(gaps) == len(sent) - 1:
            itl.extend(
                abs(g - (b - a) * 1000) for g, a, b in zip(gaps, sent, sent[1:], strict=False)
            )
    for values in (delays, errors, ins, outs, reported, itl):
        values.sort()
    if errors:
        figures.ttft_err = (pct(errors, 0.5), pct(errors, 0.99))
        figures.way_in_p99, figures.way_out_p99 = pct(ins, 0.99), pct(outs, 0.99)
        figures.reported_p99 = pct(reported, 0.99)
    if itl:
        figures.itl_err, figures.gaps = (pct(itl, 0.5), pct(itl, 0.99)), len(itl)
    if delays:
        figures.send_delay = (pct(delays, 0.5), pct(delays, 0.99), delays[-1])
    held = [s for s in samples if low <= s.wall <= low + level.hold_s + level.stream_s]
    if len(held) >= 2:
        first, last = held[0], held[-1]
        wall = last.wall - first.wall
        figures.cpu = (last.cpu - first.cpu) / wall
        figures.wait = (last.wait - first.wait) / wall
        figures.server_cpu = (last.server_cpu - first.server_cpu) / wall
        figures.server_wait = (last.server_wait - first.server_wait) / wall
        figures.rss_mb = max(s.rss for s in held) / 2**20
    return figures


def _f(value: float | None, spec: str = "7.2f") -> str:
    return format(value, spec) if value is not None else format("-", ">" + spec.split(".")[0])


def report_line(f: Figures) -> str:
    ttft = f.ttft_err or (None, None)
    itl = f.itl_err or (None, None)
    delay = f.send_delay or (None, None, None)
    return (
        f"{f.streams:>7} {f.calls:>6} {f.failed:>5} {_f(ttft[0])} {_f(ttft[1])} "
        f"{_f(f.way_in_p99)} {_f(f.way_out_p99)} {_f(f.reported_p99)}  {_f(itl[0])} "
        f"{_f(itl[1])}  {_f(delay[0])} {_f(delay[1])} {_f(delay[2])}  {_f(f.cpu, '5.2f')} "
        f"{_f(f.wait, '5.2f')} {_f(f.rss_mb, '6.0f')}  {_f(f.server_cpu, '5.2f')} "
        f"{_f(f.server_wait, '5.2f')} {f.connections:>6}"
    )


_GROUPS = (("", 20), ("TTFT error (ms)", 40), ("ITL |error| (ms)", 17),
           ("send delay (ms)", 25), ("Locust", 20), ("server", 20))  # fmt: skip
HEADER = "".join(label.center(width) for label, width in _GROUPS).rstrip() + (
    "\nstreams  calls  fail     p50     p99  in p99 out p99 rep.p99      p50     p99      p50"
    "     p99     max    CPU  wait RSS MB    CPU  wait  conns"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="streams held, comma-separated"
    )
    parser.add_argument("--hold", type=float, default=HOLD_S, help="seconds of arrivals measured")
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="py-spy the Locust process while streams are held",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep each level's files in DIR")
    args = parser.parse_args()
    try:
        levels = [int(x) for x in args.levels.split(",") if x.strip()]
    except ValueError:
        levels = []
    if not levels or min(levels) < 1:
        parser.error(f"--levels {args.levels}: expected whole numbers >= 1, e.g. 500,1000,2000")
    if args.keep is not None and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep}: expected an empty or new folder")
    stream_s = (TTFT_MS + (TOKENS - 1) * INTERVAL_MS) / 1000
    raise_fd_limit(2 * max(levels) + 1024)
    cores = sorted(os.sched_getaffinity(0))
    pins: tuple[int | None, int | None] = (cores[0], cores[1]) if len(cores) >= 2 else (None, None)
    if pins[1] is not None:
        os.sched_setaffinity(0, {pins[1]})  # this process mostly sleeps: beside the server
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    where = f"Locust on core {pins[0]}, server on core {pins[1]}" if pins[0] is not None else ""
    print(f"{len(cores)} cores, load average {load} at the start; {where}")
    print(f"streams of {TOKENS} tokens, first after {TTFT_MS:g} ms, then every {INTERVAL_MS:g} ms "
          f"({stream_s:.2f} s); {args.hold:g} s of arrivals measured per level")  # fmt: skip
    floor = loopback_floor(pins)
    print(f"loopback floor (bare sockets between the cores, 20 ms apart): round trip p50 "
          f"{floor[0]:.2f} ms, p99 {floor[1]:.2f} ms")  # fmt: skip
    print(HEADER, flush=True)
    results: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        work = args.keep or Path(tmp)
        for streams in levels:
            figures = run_level(Level(streams, stream_s, args.hold), work, pins, args.py_spy)
            results.append(figures)
            print(report_line(figures), flush=True)
    for figures in results:
        for share, frame in figures.profile or []:
            print(f"  py-spy {figures.streams} streams: {share:6.1%} {frame}")
    if args.py_spy is not None:
        print(f"  (on top of the stacks, share of the samples; raw stacks in {args.py_spy})")
    for figures in results:
        if figures.wait is not None and figures.wait > CONTENDED:
            print(f"note: at {figures.streams} streams Locust waited {figures.wait:.2f} s per "
                  "second for its core, which other processes held: its errors are partly "
                  "the machine's")  # fmt: skip
    holding = [f.streams for f in results if f.ttft_err is not None and f.ttft_err[1] <= GOAL_MS]
    top = max(results, key=lambda f: f.streams)
    verdict = "met" if top.ttft_err is not None and top.ttft_err[1] <= GOAL_MS else "not met"
    print(
        f"goal: TTFT error p99 <= {GOAL_MS:g} ms at {top.streams} streams on one core: {verdict}; "
        f"highest level that holds it: {max(holding) if holding else 'none'}"
    )


if __name__ == "__main__":
    main()
