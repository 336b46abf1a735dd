"""Every request's latency in exact histograms, per entry, merged across workers.

On every process a listener on Locust's ``request`` event records the response time (ms) into
the entry's (``"<request_type> <name>"``) histograms, successes and failures apart
(:class:`agentload.latency.EntryLatency`; a request with an ``exception`` is a failure).
A worker sends what it recorded since its last report on Locust's ``report_to_master`` message,
``data["agentload_latency"] = {entry: {"hdr", "hdr_failed"}}`` (HdrHistogram's compressed
base64 text); the master decodes and adds it in ``worker_report``. So on the master, as on a
local runner, ``RECORDER`` holds the latencies of the whole test as they arrive.

Readers on the master or local runner open a tap: ``tap = RECORDER.open_tap()``;
``tap.take()`` returns (and forgets) the latencies that arrived since the previous ``take``
(the timeline's lines, a stress step); ``tap.close()`` ends it. Everything resets when a test
starts, as Locust's own statistics do.
"""

from __future__ import annotations

from typing import Any

from agentload.latency import EntryLatency
from agentload.locust.hooks import listen

REPORT_KEY = "agentload_latency"
Latencies = dict[str, EntryLatency]


class Tap:
    """The latencies that arrived since the tap was opened or last taken."""

    def __init__(self, recorder: LatencyRecorder) -> None:
        self._recorder = recorder
        self.entries: Latencies = {}

    def take(self) -> Latencies:
        """What arrived since the last ``take`` (or the opening), per entry."""
        self._recorder.flush()
        out, self.entries = self.entries, {}
        return out

    def close(self) -> None:
        self._recorder.close_tap(self)


class LatencyRecorder:
    """Per-entry latency histograms of this process; on the master, its workers' too."""

    def __init__(self, key: str = REPORT_KEY) -> None:
        self.key = key
        self._recent: Latencies = {}
        self._taps: list[Tap] = []

    def register(self) -> LatencyRecorder:
        """Listen to Locust's events (once per process, at import)."""
        listen("test_start", self._on_test_start)
        listen("request", self._on_request)
        listen("report_to_master", self._on_report_to_master)
        listen("worker_report", self._on_worker_report)
        return self

    def record(self, entry: str, ms: float, failed: bool = False) -> None:
        latency = self._recent.get(entry)
        if latency is None:
            latency = self._recent[entry] = EntryLatency()
        latency.record(ms, failed)

    def add(self, entries: Latencies) -> None:
        for name, latency in entries.items():
            self._recent.setdefault(name, EntryLatency()).add(latency)

    def open_tap(self) -> Tap:
        """A tap that collects from now on (what arrived before is not in it)."""
        self.flush()
        tap = Tap(self)
        self._taps.append(tap)
        return tap

    def close_tap(self, tap: Tap) -> None:
        if tap in self._taps:
            self._taps.remove(tap)

    def flush(self) -> None:
        """Hand what arrived since the last flush to every open tap."""
        recent, self._recent = self._recent, {}
        for tap in self._taps:
            for name, latency in recent.items():
                tap.entries.setdefault(name, EntryLatency()).add(latency)

    def reset(self) -> None:
        self._recent = {}
        for tap in self._taps:
            tap.entries = {}

    def _on_test_start(self, **_kw: Any) -> None:
        self.reset()

    def _on_request(
        self, request_type: str, name: str, response_time: float, exception: Any, **_kw: Any
    ) -> None:
        self.record(f"{request_type} {name}", float(response_time or 0.0), exception is not None)

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        recent, self._recent = self._recent, {}
        data[self.key] = {name: latency.to_json() for name, latency in recent.items()}

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        sent = data.get(self.key) or {}
        self.add({name: EntryLatency.from_json(enc) for name, enc in sent.items()})


RECORDER = LatencyRecorder().register()
