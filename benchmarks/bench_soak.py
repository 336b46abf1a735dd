"""Soak benchmark (not a test): memory of the target and of Locust over a long smoke run.

Runs ``agentload run smoke --duration <minutes>`` against the embedded target (no Prometheus),
samples the RSS of the target's agent API and engine processes and of Locust every few seconds
(psutil, by the PIDs the runner logs), and prints each process's RSS after the warm-up and at the
end of the load, with the growth in % (goal: under 5 %). Also prints the run's throughput and
error rate, so a leak can be told from a change of load.

Run: ``.venv/bin/python benchmarks/bench_soak.py`` (10 minutes; ``--minutes 2`` for a quick check;
``--out DIR`` keeps the run folder). Loads only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
AGENTLOAD = ROOT / ".venv" / "bin" / "agentload"
GOAL_PCT = 5.0
PROCESSES = ("target api", "target engine", "locust")
_PIDS = re.compile(r"agentload DEBUG pids ([\w -]+): ([\d ]+)")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="load duration (default 10)")
    parser.add_argument(
        "--warmup-s",
        type=float,
        default=None,
        help="seconds of load before the first reading (default: 20%% of the run, at most 60)",
    )
    parser.add_argument("--interval-s", type=float, default=5.0, help="sampling period (5)")
    parser.add_argument("--users", type=int, default=None, help="override the smoke users (10)")
    parser.add_argument("--out", type=Path, default=None, help="keep the run folder here")
    args = parser.parse_args()
    if args.minutes <= 0 or args.interval_s <= 0 or (args.users is not None and args.users < 1):
        parser.error("--minutes and --interval-s must be > 0, --users >= 1")
    if args.warmup_s is None:
        args.warmup_s = min(60.0, 0.2 * args.minutes * 60)
    if not 0 <= args.warmup_s < args.minutes * 60:
        parser.error(f"--warmup-s {args.warmup_s:g} must be >= 0 and shorter than the run")
    return args


def logged_pids(run_dir: Path) -> dict[str, list[int]]:
    """The child PIDs the runner wrote to runner.log (`pids <name>: <pid> ...`)."""
    path = run_dir / "runner.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    found: dict[str, list[int]] = {}
    for match in _PIDS.finditer(text):
        found.setdefault(match[1], []).extend(int(pid) for pid in match[2].split())
    return found


def rss(pids: list[int]) -> int | None:
    """Summed RSS of the PIDs that still run (None if none does)."""
    total, seen = 0, False
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
            seen = True
        except psutil.Error:
            continue
    return total if seen else None


def sample_load(
    runner: subprocess.Popen[str], run_dir: Path, load_s: float, warmup_s: float, interval_s: float
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """RSS per process after the warm-up, at the last reading of the load, and the peak.

    Readings stop a second before the load's planned end: Locust's end-of-run work (CSV and
    HTML reports) is not part of the soak.
    """
    deadline = time.monotonic() + 120
    while not all(name in logged_pids(run_dir) for name in PROCESSES):
        if runner.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"bench_soak: the run did not start; see {run_dir}/runner.log")
        time.sleep(0.5)
    pids = logged_pids(run_dir)
    started = time.monotonic()
    print(f"load started; pids: { {n: pids[n] for n in PROCESSES} }", flush=True)
    warm: dict[str, int] = {}
    last: dict[str, int] = {}
    peak: dict[str, int] = {}
    next_report = started + 60
    while runner.poll() is None and time.monotonic() - started < load_s - 1:
        reading = {name: rss(pids[name]) for name in PROCESSES}
        if any(value is None for value in reading.values()):
            break  # the load has ended: keep the last full reading as the end
        current = {name: int(value or 0) for name, value in reading.items()}
        last = current
        for name, value in current.items():
            peak[name] = max(peak.get(name, 0), value)
        if not warm and time.monotonic() - started >= warmup_s:
            warm = dict(current)
            print(f"after warm-up ({warmup_s:.0f}s): {_mb(warm)}", flush=True)
        if time.monotonic() >= next_report:
            print(f"{time.monotonic() - started:5.0f}s: {_mb(current)}", flush=True)
            next_report += 60
        time.sleep(max(0.0, min(interval_s, started + load_s - 1 - time.monotonic())))
    return warm, last, peak


def _mb(values: dict[str, int]) -> str:
    return ", ".join(f"{name} {value / 2**20:.1f} MB" for name, value in values.items())


def stop(runner: subprocess.Popen[str]) -> None:
    """End the runner by PID (SIGINT: it ends its own children), SIGKILL as a last resort."""
    if runner.poll() is None:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=90)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait(timeout=10)


def report(warm: dict[str, int], last: dict[str, int], peak: dict[str, int]) -> bool:
    """Print the table; True when every process grew less than the goal."""
    print(f"\n{'process':<14} {'warm MB':>9} {'end MB':>9} {'peak MB':>9} {'growth':>8}")
    met = True
    for name in PROCESSES:
        growth = 100 * (last[name] - warm[name]) / warm[name]
        met = met and growth < GOAL_PCT
        print(
            f"{name:<14} {warm[name] / 2**20:9.1f} {last[name] / 2**20:9.1f} "
            f"{peak[name] / 2**20:9.1f} {growth:7.2f}%"
        )
    return met


def run_totals(run_dir: Path) -> dict[str, Any]:
    try:
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return {}
    totals: dict[str, Any] = summary.get("totals") or {}
    return totals


def soak(args: argparse.Namespace, run_dir: Path) -> int:
    """One soak run into `run_dir`; prints the readings and the verdict on the goal."""
    seconds = int(args.minutes * 60)
    warmup_s = float(args.warmup_s)
    command = [str(AGENTLOAD), "run", "smoke", "--duration", f"{seconds}s", "--no-prometheus"]
    command += ["--out", str(run_dir)] + (["--users", str(args.users)] if args.users else [])
    print(f"soak: {' '.join(command[1:])}", flush=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "soak-console.log").open("w") as console:
        runner = subprocess.Popen(
            command, cwd=ROOT, stdout=console, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "CI": "true"},
        )  # fmt: skip
    try:
        warm, last, peak = sample_load(runner, run_dir, seconds, warmup_s, args.interval_s)
        runner.wait(timeout=180)
    finally:
        stop(runner)
    if not warm or not last:
        print(f"bench_soak: the load ended before the warm-up reading; see {run_dir}")
        return 1
    met = report(warm, last, peak)
    totals = run_totals(run_dir)
    print(
        f"\nload {seconds}s: {totals.get('requests', 0)} requests, "
        f"{totals.get('rps') or 0:.1f} rps, error rate {100 * (totals.get('error_rate') or 0):.2f}%"
        f"; runner exit {runner.returncode}"
    )
    verdict = "met" if met else "NOT met"
    print(f"goal: RSS growth < {GOAL_PCT:g}% after warm-up for every process: {verdict}")
    return 0


def main() -> int:
    args = parse_args()
    if args.out is not None:
        code = soak(args, args.out)
        print(f"results in {args.out}")
        return code
    with tempfile.TemporaryDirectory(prefix="agentload-soak-") as tmp:
        return soak(args, Path(tmp) / "run")


if __name__ == "__main__":
    sys.exit(main())
