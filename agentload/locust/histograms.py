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
(the timeline's lines, a stress step) and adds them to ``tap.total`` (everything since the tap
opened: final.json); ``tap.close()`` ends it. Everything resets when Locust's own statistics do:
when a test starts, on the web UI's "reset stats", and after the ramp-up with ``--reset-stats``.
"""

from __future__ import annotations

from locust import events

from typing import Any

from agentload.latency import EntryLatency, Recording
from agentload.locust.hooks import listen

REPORT_KEY = "agentload_latency"
Latencies = dict[str, EntryLatency]


class Tap:
    """The latencies that arrived since the tap was opened or last taken."""

    def __init__(self, recorder: LatencyRecorder) -> None:
        self._recorder = recorder
        self.entries: Latencies = {}
        self.total: Latencies = {}

    def take(self) -> Latencies:
        """What arrived since the last ``take`` (or the opening), per entry."""
        self._recorder.flush()
        out, self.entries = self.entries, {}
        for name, latency in out.items():
            self.total.setdefault(name, EntryLatency()).add(latency)
        return out

    def reset(self) -> None:
        self.entries, self.total = {}, {}

    def close(self) -> None:
        self._recorder.close_tap(self)


class LatencyRecorder:
    """Per-entry latency histograms of this process; on the master, its workers' too."""

    def __init__(self, key: str = REPORT_KEY) -> None:
        self.key = key
        self._recorded: dict[str, Recording] = {}  # this process's requests, since last flush
        self._received: Latencies = {}  # the workers' reports, since last flush
        self._taps: list[Tap] = []
        self._reset_after_ramp_up = False

    def register(self) -> LatencyRecorder:
        """Listen to Locust's events (once per process, at import)."""
        listen("init", self._on_init)
        listen("test_start", self._on_reset)
        listen("reset_stats", self._on_reset)
        listen("spawning_complete", self._on_spawning_complete)
        listen("request", self._on_request)
        listen("report_to_master", self._on_report_to_master)
        listen("worker_report", self._on_worker_report)
        return self

    def stop_listening(self) -> None:
        """Stop recording requests (benchmarks measure what recording costs this way)."""
        hook: Any = events.request
        hook.remove_listener(self._on_request)

    def record(self, entry: str, ms: float, failed: bool = False) -> None:
        recording = self._recorded.get(entry)
        if recording is None:
            recording = self._recorded[entry] = Recording()
        recording.record(ms, failed)

    def add(self, entries: Latencies) -> None:
        for name, latency in entries.items():
            self._received.setdefault(name, EntryLatency()).add(latency)

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
        recent = self._take_recorded()
        for name, latency in self._received.items():
            recent.setdefault(name, EntryLatency()).add(latency)
        self._received = {}
        for tap in self._taps:
            for name, latency in recent.items():
                tap.entries.setdefault(name, EntryLatency()).add(latency)

    def reset(self) -> None:
        self._recorded, self._received = {}, {}
        for tap in self._taps:
            tap.reset()

    def _take_recorded(self) -> Latencies:
        recorded, self._recorded = self._recorded, {}
        return {name: recording.latency() for name, recording in recorded.items()}

    def _on_init(self, environment: Any, **_kw: Any) -> None:
        self._reset_after_ramp_up = bool(getattr(environment, "reset_stats", False))

    def _on_reset(self, **_kw: Any) -> None:
        self.reset()

    def _on_spawning_complete(self, **_kw: Any) -> None:
        if self._reset_after_ramp_up:  # --reset-stats: Locust resets its statistics now
            self.reset()

    def _on_request(
        self, request_type: str, name: str, response_time: float, exception: Any, **_kw: Any
    ) -> None:
        entry = f"{request_type} {name}"
        recording = self._recorded.get(entry)  # record(), inlined: this runs for every request
        if recording is None:
            recording = self._recorded[entry] = Recording()
        recording.record(response_time or 0.0, exception is not None)

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        recent = self._take_recorded()
        data[self.key] = {name: latency.to_json() for name, latency in recent.items()}

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        sent = data.get(self.key) or {}
        self.add({name: EntryLatency.from_json(enc) for name, enc in sent.items()})


RECORDER = LatencyRecorder().register()
