"""Every request's latency in exact histograms, per entry and per second, merged across workers.

On every process a listener on Locust's ``request`` event records the response time (ms) into
the entry's (``"<request_type> <name>"``) histograms, successes and failures apart
(:class:`agentload.metrics.latency.Recording`; a request with an ``exception`` is a failure), filed
under the wall-clock second the request finished in (``int(time.time())``); not a request of a
call sent outside the run's window (warm-up, cool-down: :mod:`agentload.locust.send_window`).
A worker sends what it recorded since its last report on Locust's ``report_to_master`` message,
``data["agentload_latency"]``: the per-second bucket counts and ``through``, the time of the
report (the wire form of :mod:`agentload.metrics.second_buckets`); the master adds it in
``worker_report``. So on the master, as on a local runner, ``RECORDER`` holds the latencies of
the whole test as they arrive, and ``RECORDER.windows`` (a
:class:`~agentload.metrics.second_buckets.SecondBuckets`) everyone's per-second counts and how far
each worker has reported.

Readers on the master or local runner open a tap: ``tap = RECORDER.open_tap()``;
``tap.take()`` returns (and forgets) the latencies that arrived since the previous ``take``
(the timeline's lines) and adds them to ``tap.total`` (everything since the tap opened:
final.json); ``tap.close()`` ends it. Taps reset when Locust's own statistics do: when a test
starts, on the web UI's "reset stats", and after the ramp-up with ``--reset-stats``.

Windows of whole wall-clock seconds (a stress step): ``RECORDER.waiting_for(end)`` names the
live workers (Locust's connected, not missing ones) that have not yet reported past ``end``;
once none is left, ``RECORDER.window(start, end)`` holds exactly the requests that finished in
``[start, end)``, whenever the reports arrived. Windows are wall-clock, so a statistics reset
does not clear them (only a new test does), and seconds older than ``windows.retain_s`` are
forgotten.
"""

from __future__ import annotations

from locust import events
from locust.runners import STATE_MISSING

import logging
import time
from typing import Any

from gevent import getcurrent

from agentload.locust.hooks import listen
from agentload.locust.send_window import OUTSIDE
from agentload.metrics.latency import EntryLatency, Recording
from agentload.metrics.second_buckets import (
    PerSecond,
    SecondBuckets,
    decode,
    encode,
    merge_seconds,
    per_entry,
)

REPORT_KEY = "agentload_latency"
LOCAL = "local"  # this process's own requests, as a source of RECORDER.windows
_MAX_PENDING_S = 30  # a local runner nobody reads files its seconds at least this often
Latencies = dict[str, EntryLatency]
log = logging.getLogger(__name__)
_now = time.time


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
        self.windows = SecondBuckets()
        self._pending: PerSecond = {}  # this process's requests, since last flush or report
        self._until = 0.0  # ``_current`` is the second that ends then (0: look it up again)
        self._current: dict[str, Recording] = {}
        self._window_only: PerSecond = {}  # recorded before a statistics reset, not yet filed
        self._received: dict[str, Recording] = {}  # the workers' reports, since last flush
        self._taps: list[Tap] = []
        self._runner: Any = None
        self._worker = False
        self._reset_after_ramp_up = False
        self._bad_report_logged = False

    def register(self) -> LatencyRecorder:
        """Listen to Locust's events (once per process, at import)."""
        listen("init", self._on_init)
        listen("test_start", self._on_test_start)
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
        """Record one request of ``entry`` that finished now."""
        now = _now()
        current = self._current if now < self._until else self._roll(now)
        recording = current.get(entry)
        if recording is None:
            recording = current[entry] = Recording()
        recording.record(ms, failed)

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
        """File this process's recent seconds in ``windows`` and hand what arrived since the
        last flush to every open tap."""
        now, recent = _now(), self._take_pending()
        self.windows.add(LOCAL, recent, now)
        if self._window_only:
            self.windows.add(LOCAL, self._window_only, now)
            self._window_only = {}
        arrived, self._received = self._received, {}
        if not self._taps:
            return
        arrived = per_entry([arrived, *recent.values()])
        latencies = {name: recording.latency() for name, recording in arrived.items()}
        for tap in self._taps:
            for name, latency in latencies.items():
                tap.entries.setdefault(name, EntryLatency()).add(latency)

    def live_workers(self) -> list[str]:
        """The ids of the workers a master counts on (connected and not missing); [] elsewhere."""
        clients = getattr(self._runner, "clients", None)
        if clients is None or self._worker:
            return []
        return [node.id for node in list(clients.values()) if node.state != STATE_MISSING]

    def waiting_for(self, end: int) -> list[str]:
        """The live workers that have not yet reported past the wall-clock second ``end``."""
        self.flush()
        return self.windows.waiting_for(end, self.live_workers())

    def window(self, start: int, end: int) -> Latencies:
        """The latencies of the requests that finished in the whole seconds ``[start, end)``
        (exact once ``waiting_for(end)`` is empty)."""
        self.flush()
        return self.windows.window(start, end)

    def reset(self) -> None:
        """Locust forgot its statistics: the taps start over (windows keep the seconds)."""
        merge_seconds(self._window_only, self._take_pending())
        self._received = {}
        for tap in self._taps:
            tap.reset()

    def _take_pending(self) -> PerSecond:
        pending, self._pending = self._pending, {}
        self._until = 0.0
        return pending

    def _roll(self, now: float) -> dict[str, Recording]:
        """The entries of the second ``now`` is in, now the current one (once a second per
        process; a clock set back files into the current second until it passes it again)."""
        if len(self._pending) >= _MAX_PENDING_S and not self._worker:
            self.flush()
        second = int(now)
        self._until = second + 1.0
        current = self._pending.get(second)
        if current is None:
            current = self._pending[second] = {}
        self._current = current
        return current

    def _on_init(self, environment: Any, **_kw: Any) -> None:
        self._reset_after_ramp_up = bool(getattr(environment, "reset_stats", False))
        self._runner = getattr(environment, "runner", None)
        options = getattr(environment, "parsed_options", None)
        self._worker = bool(getattr(options, "worker", False))

    def _on_test_start(self, **_kw: Any) -> None:
        self.reset()
        self._window_only = {}
        self.windows.reset()

    def _on_reset(self, **_kw: Any) -> None:
        self.reset()

    def _on_spawning_complete(self, **_kw: Any) -> None:
        if self._reset_after_ramp_up:  # --reset-stats: Locust resets its statistics now
            self.reset()

    def _on_request(
        self, request_type: str, name: str, response_time: float, exception: Any, **_kw: Any
    ) -> None:
        if OUTSIDE and getcurrent() in OUTSIDE:  # a call sent outside the run's window
            return
        entry = f"{request_type} {name}"  # record(), inlined: this runs for every request
        now = _now()
        current = self._current if now < self._until else self._roll(now)
        recording = current.get(entry)
        if recording is None:
            recording = current[entry] = Recording()
        recording.record(response_time or 0.0, exception is not None)

    def _on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        through = _now()  # every request recorded so far finished before this
        window_only, self._window_only = self._window_only, {}
        data[self.key] = encode(self._take_pending(), through, window_only)

    def _on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        sent = data.get(self.key)
        if not sent:
            return
        try:
            seconds, through, window_only = decode(sent)
        except ValueError as exc:
            if not self._bad_report_logged:
                log.warning("worker %s: latencies not read (%s)", client_id, exc)
                self._bad_report_logged = True
            return
        self.windows.add(client_id, seconds, through)
        if window_only:
            self.windows.add(client_id, window_only, through)
        self._received = per_entry([self._received, *seconds.values()])


RECORDER = LatencyRecorder().register()
