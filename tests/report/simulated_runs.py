"""Simulated run folders, stored the way real runs store them (for the comparison's goal tests).

``simulated_run(rng, requests, slowdown)`` draws ``requests`` latencies from a lognormal shape
around 300 ms (the shape of an agent call: P50 300 ms, P95 ≈ 680 ms), served by a closed loop of
``USERS`` users back to back, and records them as agentload does: exact HdrHistograms per entry
in final.json (cumulative) and per timeline line (one a second, cumulative counts), summary.json's
endpoint figures from the final histogram (``agentload.metrics.stats.entry_stats``), and totals.
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from agentload.metrics.latency import META, EntryLatency
from agentload.metrics.stats import entry_stats
from agentload.report.rundata import RunData

ENTRY = "POST /v1/agents/run"
USERS = 4
MEDIAN_MS = 300.0
SIGMA = 0.5


def draw(rng: random.Random, slowdown: float = 1.0) -> float:
    """One latency in ms: lognormal (median 300 ms, sigma 0.5) times ``slowdown``."""
    return slowdown * rng.lognormvariate(math.log(MEDIAN_MS), SIGMA)


def simulated_run(rng: random.Random, requests: int = 100, slowdown: float = 1.0) -> RunData:
    """A run of ``requests`` requests to one entry, every latency ``slowdown`` times longer."""
    clocks = [0.0] * USERS
    done: list[tuple[float, float]] = []  # (finish time s, latency ms)
    for i in range(requests):
        user = i % USERS
        latency = draw(rng, slowdown)
        clocks[user] += latency / 1000.0
        done.append((clocks[user], latency))
    done.sort()
    seconds = max(clocks)
    timeline: list[dict[str, Any]] = []
    whole, line, finished, index = EntryLatency(), EntryLatency(), 0, 0
    for second in range(1, math.ceil(seconds) + 1):
        line = EntryLatency()
        while index < len(done) and done[index][0] <= second:
            line.record(done[index][1])
            whole.record(done[index][1])
            index += 1
            finished += 1
        stats = {"requests": finished, "failures": 0, **line.to_json()}
        timeline.append({"t": float(second), "users": USERS, "entries": {ENTRY: stats}})
    final_entry = {"requests": requests, "failures": 0, **whole.to_json()}
    endpoint = entry_stats(requests, 0, whole, seconds)
    summary = {
        "phase": "smoke",
        "duration_s": seconds,
        "endpoints": {ENTRY: endpoint},
        "totals": {
            "requests": requests,
            "failures": 0,
            "rps": endpoint["rps"],
            "error_rate": 0.0,
        },
        "meta": {"histogram": dict(META)},
    }
    final = {
        "duration_s": seconds,
        "entries": {ENTRY: final_entry},
        "histogram": dict(META),
    }
    return RunData(Path(f"sim-{slowdown:g}x"), summary, timeline=timeline, final=final)
