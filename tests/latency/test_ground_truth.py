"""Real Locust runs against a server whose latencies are known exactly (ground truth).

The server (tests/servers/latency_truth.py) sleeps a planned time per request (fixed 200 ms,
uniform 20..200 ms, bimodal 10 ms / 1,000 ms, and 300 ms successes mixed with 100 ms 503s) and
reports, per path, the successes and failures it served: the planned sleeps and the time it
measured from the request parsed to the response about to be written ("served").

What is compared, and why it is honest:

- The measuring: agentload's P50/P95/P99 (from final.json and from the timeline) against the
  exact order statistics of the raw response times Locust reported in each process (kept by the
  locustfile), merged over processes: each lies within 0.1 % above (the histogram's own error,
  far inside the 1 % / 1 ms asked).
- The ground truth: a client's latency is the server's time plus the loopback and both sides'
  HTTP handling and scheduling (about 0.4 ms at the median here, a few ms at P99 when several
  processes share two CPUs): real latency, not an error of measurement. The reference is the
  server's own exact percentiles of its *served* times (nearest rank), and each client
  percentile lies in ``[served, served * 1.01 + 1 ms + TRANSPORT_MS]``. The lower bound is
  strict: every request took the client at least as long as the server measured, so every order
  statistic of the client's is at least the server's, and a histogram that reads low (as
  Locust's rounding can: 1,000.6 ms read 1,000) fails it. The upper bound is 1 % + 1 ms for the
  measuring plus a stated ``TRANSPORT_MS`` for the transport.
- The planned sleeps show the distributions are the designed ones: served percentiles are at
  least the planned ones and at most ``TRANSPORT_MS`` + 2 ms above (sleep overshoot, wake-up).
- Each user opens its connection with an unmeasured ``GET /ok`` (the server cannot see connect
  time), and stops sending after ``TRUTH_LOAD_S``, idling until Locust stops, so no request is
  cut off: the client and the server count exactly the same requests, successes and failures.
- A shared machine sometimes stalls every process for tens of milliseconds (seen: 50 ms), which
  no allowance should absorb. The server's own evidence tells such a run: a sleep that ended
  more than ``STALL_MS`` late. Such a run is repeated (at most ``ATTEMPTS`` runs); everything
  but the end-to-end bounds is still checked in it, and a run that never comes out undisturbed
  fails.

Both a single process and ``--processes 2`` (a master and two workers whose histograms travel in
the worker reports) are run, for about 6 s of load each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agentload.metrics.stats import window_stats
from agentload.results.reading import read_json, read_timeline
from agentload.results.summary import build_summary
from tests.support import ROOT, free_port, latency_truth_server

HERE = Path(__file__).resolve().parent
LOCUSTFILE = HERE / "truth_locustfile.py"
LOAD_S = 6
USERS = "16"  # 4 per path: P99 is not just the slowest request
TRANSPORT_MS = 3.0
STALL_MS = 10.0  # a server thread that wakes this late was held up by the machine, not by us
ATTEMPTS = 3
PATHS = ("/fixed", "/uniform", "/bimodal", "/mixed")
QUANTILES = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, int(q * len(ordered) + 0.5)) - 1]


@pytest.fixture
def truth_server(tmp_path: Path) -> Iterator[str]:
    with latency_truth_server(tmp_path / "truth-server.log") as url:
        yield url


def _run_locust(url: str, out: Path, raw: Path, extra: list[str]) -> str:
    raw.mkdir(parents=True)
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless"]
    cmd += ["-u", USERS, "-r", USERS, "-t", f"{LOAD_S + 4}s", "--host", url]
    cmd += ["--agentload-out", str(out), "--only-summary", "--exit-code-on-error", "0", *extra]
    env = {**os.environ, "TRUTH_LOAD_S": str(LOAD_S), "TRUTH_RAW_DIR": str(raw)}
    done = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    return output


def _raw_times(raw: Path) -> dict[tuple[str, bool], list[float]]:
    """The response times Locust reported, per (entry, failed), over every process."""
    out: dict[tuple[str, bool], list[float]] = {}
    for path in raw.glob("raw-*.json"):
        for entry, ms, failed in json.loads(path.read_text()):
            out.setdefault((entry, bool(failed)), []).append(float(ms))
    return out


def _attempt(url: str, work: Path, processes: int) -> tuple[list[str], float]:
    """One run against a fresh truth: checks what must hold in any run (counts, the recording
    against the raw times, the timeline against final.json, P99 <= max), and returns the
    end-to-end comparisons (``[]`` when they hold) and the worst oversleep of the server."""
    httpx.get(f"{url}/reset", timeout=10).raise_for_status()
    out, raw = work / "out", work / "raw"
    master = ["--master-bind-port", str(port := free_port()), "--master-port", str(port)]
    _run_locust(url, out, raw, ["--processes", "2", *master] if processes == 2 else [])
    if processes == 2:
        assert len(list(raw.glob("raw-*.json"))) == 2  # the workers recorded, not the master
    final, timeline = read_json(out / "final.json"), read_timeline(out / "timeline.jsonl")
    summary = build_summary(phase="smoke", started_at="now", target=url, final=final,
                            timeline=timeline)  # fmt: skip
    assert summary["meta"]["histogram"]["kind"] == "hdr"
    for stats in summary["endpoints"].values():
        assert stats["p99_ms"] <= stats["max_ms"]
    from_timeline, raw_times = window_stats(timeline), _raw_times(raw)
    report, broken, overslept = [], [], 0.0
    for path in PATHS:
        entry = f"GET {path}"
        stats = summary["endpoints"][entry]
        truth = httpx.get(f"{url}/truth", params={"path": path}, timeout=10).json()
        assert stats["requests"] == truth["ok"]["count"] + truth["failed"]["count"]
        assert stats["failures"] == truth["failed"]["count"] == stats["failed"]["requests"]
        for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):  # timeline and final.json agree
            assert from_timeline[entry][key] == pytest.approx(stats[key], abs=1e-6)
        for kind, figures in (("ok", stats), ("failed", stats["failed"])):
            served_truth = truth[kind]
            if not served_truth["count"]:
                continue
            pairs = zip(served_truth["served_ms"], served_truth["planned_ms"], strict=True)
            overslept = max(overslept, *(s - p for s, p in pairs))
            raw_values = raw_times[(entry, kind == "failed")]
            assert len(raw_values) == served_truth["count"]
            for key, q in QUANTILES.items():
                got = figures[key]
                exact = nearest_rank(raw_values, q)
                served = nearest_rank(served_truth["served_ms"], q)
                planned = nearest_rank(served_truth["planned_ms"], q)
                report.append(
                    f"{path} {kind} {key}: client {got:.3f} raw {exact:.3f} "
                    f"served {served:.3f} planned {planned:.3f} "
                    f"(client - served {got - served:+.3f} ms, n={len(raw_values)})"
                )
                assert exact - 0.001 <= got <= exact * 1.001 + 0.001, report[-1]
                assert got <= figures["max_ms"]
                assert served - 0.001 <= got, report[-1]  # never below what the server saw
                if not got <= served * 1.01 + 1.0 + TRANSPORT_MS:
                    broken.append(report[-1])
                if not planned <= served <= planned + 2.0 + TRANSPORT_MS:
                    broken.append(report[-1])
    print("\n".join(report))
    return broken, overslept


@pytest.mark.slow
@pytest.mark.parametrize("processes", [1, 2], ids=["single-process", "master-and-2-workers"])
def test_client_percentiles_match_the_servers_exact_ones(
    truth_server: str, tmp_path: Path, processes: int
) -> None:
    """P50/P95/P99 of every path, successes and failures apart, lie within [served, served *
    1.01 + 1 ms + TRANSPORT_MS] of the server's exact percentiles, and within 0.1 % of the raw
    response times; counts are equal; P99 <= max everywhere."""
    stalls = []
    for attempt in range(ATTEMPTS):
        broken, overslept = _attempt(truth_server, tmp_path / f"attempt{attempt}", processes)
        if overslept <= STALL_MS:
            assert not broken, "\n".join(broken)
            return
        stalls.append(f"{overslept:.1f} ms")
        print(f"attempt {attempt}: the server overslept {overslept:.1f} ms, a stalled machine")
    pytest.fail(f"the machine stalled the server in every attempt (overslept {stalls})")
