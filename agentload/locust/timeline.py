"""``timeline.jsonl`` (once a second) and ``final.json`` (at stop), on the master or local runner.

A line: ``{"t", "users", "entries": {"<type> <name>": {"requests", "failures", "hdr",
"hdr_failed"}}, "outcomes", "open_model"}``: cumulative counts (Locust's), and the exact
latency histograms (:mod:`agentload.metrics.latency`, HdrHistogram's compressed base64 text) of the
successful (``hdr``) and failed (``hdr_failed``) requests since the previous line; a key is left
out when no such request finished. ``final.json`` holds per entry the cumulative counts
(``requests, failures, error_rate, rps``), the successes' latency figures (``p50_ms, p90_ms,
p95_ms, p99_ms, p999_ms, max_ms, avg_ms``), ``failed`` (the failures' own figures) and the
cumulative ``hdr``/``hdr_failed``; ``total`` (every entry, as Locust's Aggregated row),
``histogram`` (which histogram), ``outcomes``, ``success_rate``, ``open_model``, ``replay`` (a
trace replay's send-time errors, :mod:`agentload.locust.replay`; else null),
``duration_s``, ``window`` (:mod:`agentload.locust.window`: first request, last response,
steady start, requests in flight at stop and cut off, the send window) and ``llm`` (the streamed
requests' counts, :mod:`agentload.locust.llm_metrics`). With a send window (warm-up, cool-down:
:mod:`agentload.locust.send_window`), final.json's counts, outcomes and arrivals are those of
the calls sent inside it; the timeline's stay live (every call). Counts are the runner's stats and
latencies come from :data:`agentload.locust.histograms.RECORDER`, which on a master are its
workers' merged reports;
``final.json`` is written again at quitting, after the workers' last reports.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import gevent

from agentload.locust import llm_metrics, open_model, outcomes, replay, send_window
from agentload.locust.histograms import RECORDER, Tap
from agentload.locust.hooks import listen
from agentload.locust.window import WINDOW
from agentload.metrics.latency import META, EntryLatency, merge_entries

INTERVAL_S = 1.0


def entry_key(entry: Any) -> str:
    """``"<request_type> <name>"``, the key of an entry in the timeline and final.json."""
    return f"{entry.method} {entry.name}"


class TimelineRecorder:
    """Writes one timeline line per interval while a test runs, and final.json at its end."""

    def __init__(self, environment: Any, out_dir: Path) -> None:
        self.environment = environment
        self.out_dir = out_dir
        self._tap: Tap | None = None
        self._started = time.monotonic()
        self._stopped: float | None = None
        self._greenlet: Any = None
        self._file: Any = None

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.close()
        self._tap = RECORDER.open_tap()
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
        if self._tap is not None:
            self._tap.close()
            self._tap = None

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
        recent = self._tap.take() if self._tap is not None else {}
        counts = {entry_key(e): e for e in list(self.environment.runner.stats.entries.values())}
        entries: dict[str, Any] = {}
        for key in sorted(set(counts) | set(recent)):
            entry = counts.get(key)
            entries[key] = {
                "requests": entry.num_requests if entry is not None else 0,
                "failures": entry.num_failures if entry is not None else 0,
                **(recent[key].to_json() if key in recent else {}),
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
        counts = send_window.in_window(outcomes.totals(self.environment), outcomes.OUTSIDE_PREFIX)
        rates = {name: outcomes.success_rate(counts, name) for name in counts}
        entries = {entry_key(e): e for e in list(stats.entries.values())}
        latencies = self._tap.total if self._tap is not None else {}
        windowed = send_window.WINDOW.active  # counts of the calls inside: their histograms'
        arrivals = {"open_model": open_model.totals(self.environment)}
        final = {
            "duration_s": self._elapsed(),
            "histogram": META,
            "entries": {
                key: summarize(entry, latencies.get(key), windowed)
                for key, entry in entries.items()
            },
            "total": summarize(stats.total, merge_entries(latencies.values()), windowed),
            "outcomes": counts,
            "success_rate": {**rates, "overall": outcomes.success_rate(counts)},
            "open_model": send_window.in_window(arrivals, open_model.OUTSIDE_PREFIX)["open_model"],
            "replay": replay.totals(arrivals["open_model"]),
            "window": WINDOW.to_json(),
            "llm": llm_metrics.totals(),
            "slo": dict(llm_metrics.SLOS),
        }
        target = self.out_dir / "final.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(final, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, target)


def summarize(entry: Any, latency: EntryLatency | None, windowed: bool = False) -> dict[str, Any]:
    """The cumulative figures of one entry: Locust's counts and rate, the exact latencies (with
    a send window, ``windowed``: the counts of the latencies, those of the calls inside it)."""
    latency = latency if latency is not None else EntryLatency()
    requests, failures = int(entry.num_requests), int(entry.num_failures)
    if windowed:
        requests, failures = latency.requests, latency.failures
    return {
        "requests": requests,
        "failures": failures,
        "error_rate": failures / requests if requests else None,
        "rps": round(float(entry.total_rps), 3),
        **latency.figures(),
        **latency.to_json(),
    }


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
