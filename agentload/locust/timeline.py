"""``timeline.jsonl`` (once a second) and ``final.json`` (at stop), on the master or local runner.

A line: ``{"t", "users", "entries": {"<type> <name>": {"requests", "failures", "hist"}},
"outcomes", "open_model"}`` with cumulative counts and ``hist`` the rounded response-time
histogram (ms -> count) of the requests since the previous line. ``final.json`` holds the
cumulative per-entry stats (``requests, failures, p50_ms, p95_ms, p99_ms, max_ms, avg_ms, rps``),
``total`` (Locust's Aggregated row), ``outcomes``, ``success_rate``, ``open_model`` and
``duration_s``. Both are built from the runner's stats, which on a master are its workers' merged
stats; ``final.json`` is written again at quitting, after the workers' last reports.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import gevent

from agentload.locust import open_model, outcomes
from agentload.locust.hooks import listen

INTERVAL_S = 1.0
PERCENTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}


def entry_key(entry: Any) -> str:
    """``"<request_type> <name>"``, the key of an entry in the timeline and final.json."""
    return f"{entry.method} {entry.name}"


class TimelineRecorder:
    """Writes one timeline line per interval while a test runs, and final.json at its end."""

    def __init__(self, environment: Any, out_dir: Path) -> None:
        self.environment = environment
        self.out_dir = out_dir
        self._last: dict[str, dict[int, int]] = {}
        self._started = time.monotonic()
        self._stopped: float | None = None
        self._greenlet: Any = None
        self._file: Any = None

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.close()
        self._last = {}
        self._started = time.monotonic()
        self._stopped = None
        self._file = (self.out_dir / "timeline.jsonl").open("w", encoding="utf-8")
        self._greenlet = gevent.spawn(self._loop)

    def stop(self) -> None:
        """Write a last line and final.json (called at test stop and again at quitting)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None
        if self._file is None:
            return
        if self._stopped is None:
            self._stopped = time.monotonic()
        self.write_line()
        self.write_final()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _loop(self) -> None:
        while True:
            gevent.sleep(INTERVAL_S)
            self.write_line()

    def _elapsed(self) -> float:
        end = self._stopped if self._stopped is not None else time.monotonic()
        return round(end - self._started, 3)

    def write_line(self) -> None:
        if self._file is None:
            return
        entries: dict[str, Any] = {}
        for entry in list(self.environment.runner.stats.entries.values()):
            key = entry_key(entry)
            current = dict(entry.response_times)
            before = self._last.get(key, {})
            delta = {str(ms): n - before.get(ms, 0) for ms, n in current.items()}
            self._last[key] = current
            entries[key] = {
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "hist": {ms: n for ms, n in delta.items() if n > 0},
            }
        line = {
            "t": self._elapsed(),
            "users": self.environment.runner.user_count,
            "entries": entries,
            "outcomes": outcomes.totals(self.environment),
            "open_model": open_model.totals(self.environment),
        }
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()

    def write_final(self) -> None:
        stats = self.environment.runner.stats
        counts = outcomes.totals(self.environment)
        rates = {name: outcomes.success_rate(counts, name) for name in counts}
        final = {
            "duration_s": self._elapsed(),
            "entries": {entry_key(e): summarize(e) for e in list(stats.entries.values())},
            "total": summarize(stats.total),
            "outcomes": counts,
            "success_rate": {**rates, "overall": outcomes.success_rate(counts)},
            "open_model": open_model.totals(self.environment),
        }
        target = self.out_dir / "final.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(final, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)


def summarize(entry: Any) -> dict[str, Any]:
    """The cumulative figures of one Locust stats entry."""
    done = entry.num_requests > 0
    figures: dict[str, Any] = {"requests": entry.num_requests, "failures": entry.num_failures}
    for key, share in PERCENTILES.items():
        figures[key] = float(entry.get_response_time_percentile(share)) if done else None
    figures["max_ms"] = float(entry.max_response_time) if done else None
    figures["avg_ms"] = round(float(entry.avg_response_time), 3) if done else None
    figures["rps"] = round(float(entry.total_rps), 3)
    return figures


_recorder: TimelineRecorder | None = None


def install(environment: Any, out_dir: Path) -> TimelineRecorder:
    """Record this environment's tests into ``out_dir`` (called once, at init)."""
    global _recorder
    _recorder = TimelineRecorder(environment, out_dir)
    return _recorder


def _on_test_start(**_kw: Any) -> None:
    if _recorder is not None:
        _recorder.start()


def _on_test_stop(**_kw: Any) -> None:
    if _recorder is not None:
        _recorder.stop()


def _on_quitting(**_kw: Any) -> None:
    if _recorder is not None:
        _recorder.stop()
        _recorder.close()


listen("test_start", _on_test_start)
listen("test_stop", _on_test_stop)
listen("quitting", _on_quitting)
