"""Latencies per wall-clock second of completion, added up across processes (pure, no Locust).

Every load-generating process files each finished request under the second it completed in
(``int(time.time())`` when Locust's ``request`` event fires): per second, per entry, the sparse
bucket counts of :class:`agentload.metrics.latency.Recording`. A worker sends the seconds it
recorded
since its last report with that report, together with ``through``, the time it took them: every
request it finished before ``through`` has then been sent. The master (or a local runner, for its
own requests) adds them up in :class:`SecondBuckets`, which also remembers, per source, the
``through`` of its latest report. So a window of whole seconds ``[start, end)`` holds exactly the
requests that finished in it once every live source has reported past ``end``
(``waiting_for(end, sources)`` is empty), whenever the reports happened to arrive.

Clocks: the windows are wall-clock seconds, so the workers' clocks must agree with the master's
(one machine, or NTP); a worker whose clock is ahead files its requests in later seconds.

Wire form, the value a worker puts in its report (``encode``/``decode``)::

    {"through": 1700000000.25, "layout": [1, 3600000000, 3],
     "seconds": {"1700000000": {"GET /x": {"ok": [[index, n], ...], "failed": [...]}}},
     "window_only": {...}}

``layout`` is the histogram settings the bucket indices belong to (agentload's: µs, 1 µs to
1 hour, 3 significant digits); ``window_only`` holds seconds recorded before a statistics reset
on the worker: they count in windows (which are wall-clock) but not in what the reset cleared.

API: ``whole_seconds(start, end) -> (first, end)``, ``merge_seconds(into, seconds)``,
``per_entry(seconds) -> {entry: Recording}``, ``encode(...)``, ``decode(data)``,
:class:`SecondBuckets` (``add``, ``window``, ``requests``, ``waiting_for``, ``retain``,
``reset``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from agentload.metrics.latency import (
    HIGHEST_US,
    LOWEST_US,
    SIGNIFICANT_DIGITS,
    EntryLatency,
    Recording,
)

LAYOUT = [LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS]
RETAIN_S = 120
_COUNTS_LEN = 23_552  # HdrHistogram's counts array length for LAYOUT (checked by the tests)

PerSecond = dict[int, dict[str, Recording]]


def whole_seconds(start: float, end: float) -> tuple[int, int]:
    """The whole wall-clock seconds ``[first, end)`` inside ``[start, end)``: ``(ceil(start),
    floor(end))``, at least one second (a span shorter than that gets the second it starts in,
    and may then reach past its end by less than a second)."""
    first, last = math.ceil(start), math.floor(end)
    if last <= first:
        first = math.floor(start)
        last = first + 1
    return first, last


def merge_seconds(into: PerSecond, seconds: Mapping[int, Mapping[str, Recording]]) -> None:
    """Add ``seconds`` into ``into`` (exact; ``seconds`` is left as it was)."""
    for second, entries in seconds.items():
        target = into.setdefault(second, {})
        for name, recording in entries.items():
            mine = target.get(name)
            if mine is None:
                mine = target[name] = Recording()
            mine.add(recording)


def per_entry(seconds: Iterable[Mapping[str, Recording]]) -> dict[str, Recording]:
    """The seconds' recordings added up per entry."""
    out: dict[str, Recording] = {}
    for entries in seconds:
        for name, recording in entries.items():
            mine = out.get(name)
            if mine is None:
                mine = out[name] = Recording()
            mine.add(recording)
    return out


def _pairs(counts: Mapping[int, int]) -> list[list[int]]:
    return [[index, n] for index, n in counts.items()]


def _encode_seconds(seconds: PerSecond) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for second, entries in seconds.items():
        wire = {}
        for name, recording in entries.items():
            item = {}
            if recording.ok:
                item["ok"] = _pairs(recording.ok)
            if recording.failed:
                item["failed"] = _pairs(recording.failed)
            if item:
                wire[name] = item
        if wire:
            out[str(second)] = wire
    return out


def encode(
    seconds: PerSecond, through: float, window_only: PerSecond | None = None
) -> dict[str, Any]:
    """The wire form of a report (see the module docstring)."""
    out: dict[str, Any] = {
        "through": through,
        "layout": LAYOUT,
        "seconds": _encode_seconds(seconds),
    }
    if window_only:
        out["window_only"] = _encode_seconds(window_only)
    return out


def _counts(pairs: Any, where: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for pair in pairs or ():
        index, n = int(pair[0]), int(pair[1])
        if not 0 <= index < _COUNTS_LEN or n < 0:
            raise ValueError(f"{where}: bucket [{index}, {n}] out of range")
        out[index] = out.get(index, 0) + n
    return out


def _decode_seconds(data: Any) -> PerSecond:
    out: PerSecond = {}
    for key, entries in (data or {}).items():
        second = int(key)
        target: dict[str, Recording] = {}
        for name, item in entries.items():
            recording = Recording()
            recording.ok = _counts(item.get("ok"), f"{key} {name} ok")
            recording.failed = _counts(item.get("failed"), f"{key} {name} failed")
            target[str(name)] = recording
        out[second] = target
    return out


def decode(data: Mapping[str, Any]) -> tuple[PerSecond, float, PerSecond]:
    """``(seconds, through, window_only)`` from ``encode``'s form; ValueError when it is not
    one (wrong layout, malformed counts)."""
    if list(data.get("layout") or ()) != LAYOUT:
        raise ValueError(f"per-second latencies of layout {data.get('layout')!r}, not {LAYOUT}")
    try:
        through = float(data["through"])
        return (
            _decode_seconds(data.get("seconds")),
            through,
            _decode_seconds(data.get("window_only")),
        )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"malformed per-second latencies: {exc!r}") from None


class SecondBuckets:
    """Everyone's latencies per second of completion, and up to when each source has reported.

    Seconds more than ``retain_s`` before the latest ``through`` are forgotten (late data for
    them too), so memory stays bounded; a reader that needs longer windows calls ``retain``.
    """

    def __init__(self, retain_s: int = RETAIN_S) -> None:
        self.retain_s = retain_s
        self.seconds: PerSecond = {}
        self.through: dict[str, float] = {}
        self._newest = -math.inf

    def add(
        self, source: str, seconds: Mapping[int, Mapping[str, Recording]], through: float
    ) -> None:
        """What ``source`` recorded in ``seconds``; it has now sent everything it finished
        before ``through``."""
        floor = self._newest - self.retain_s
        merge_seconds(self.seconds, {s: e for s, e in seconds.items() if s >= floor})
        self.through[source] = max(self.through.get(source, -math.inf), through)
        if through > self._newest:
            self._newest = through
            self._prune()

    def retain(self, seconds: float) -> None:
        """Keep at least ``seconds`` of history (never less than already kept)."""
        self.retain_s = max(self.retain_s, math.ceil(seconds))

    def waiting_for(self, end: int, sources: Iterable[str]) -> list[str]:
        """The ``sources`` that have not yet reported past ``end`` (a window ending at ``end``
        is complete when none is left)."""
        return [s for s in sources if self.through.get(s, -math.inf) < end]

    def window(self, start: int, end: int) -> dict[str, EntryLatency]:
        """The latencies of the requests finished in ``[start, end)``, per entry."""
        chosen = [entries for second, entries in self.seconds.items() if start <= second < end]
        return {name: rec.latency() for name, rec in per_entry(chosen).items()}

    def requests(self, start: int, end: int) -> int:
        return sum(
            rec.requests
            for second, entries in self.seconds.items()
            if start <= second < end
            for rec in entries.values()
        )

    def reset(self) -> None:
        self.seconds, self.through, self._newest = {}, {}, -math.inf

    def _prune(self) -> None:
        floor = self._newest - self.retain_s
        for second in [s for s in self.seconds if s < floor]:
            del self.seconds[second]
