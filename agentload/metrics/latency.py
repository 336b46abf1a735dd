"""Exact latency histograms: HdrHistogram in microseconds (pure, importable without Locust).

Values are recorded in µs from 1 µs to 1 hour (a value outside is clamped into that range) with
3 significant digits: every value lands in a bucket no wider than 1/1024 of it, so any figure
read back is within 0.1 % of the true one. Histograms travel as HdrHistogram's compressed
base64 text (the V2 ``HISTF...`` form that HdrHistogram's Java, C and Go ports read too) and
merge exactly, by adding counts.

- A percentile is HdrHistogram's: the value at nearest rank ``max(1, round(q·n))``, read as the
  highest value of its bucket, so it is never below the true order statistic and above it by at
  most 0.1 %. It is clamped to the histogram's max (the highest value of the top bucket), so a
  percentile is never above the max.
- The mean weighs each bucket by its middle value.
- :class:`EntryLatency` keeps one entry's successes and failures apart: its percentiles are over
  its successful requests, failed requests have their own (``failed``). :class:`Recording` is
  what a load generator records into per request (a bucket index and a dict increment, about
  0.2 µs), read out as an ``EntryLatency``; recordings add up exactly (``Recording.add``).

API: ``new()``, ``record(hist, ms)``, ``encode(hist) -> str``, ``decode(text)``,
``merge(hists)``, ``from_rounded({ms: count})`` (Locust's rounded histograms, of old timelines),
``count(hist)``, ``percentiles_ms(hist, qs)``, ``values_at_ranks_ms(hist, ranks)``,
``figures(hist)``, :class:`EntryLatency`, :class:`Recording`, ``bucket_index(us)``,
``META`` (what summary.json's ``meta.histogram`` says).
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from hdrh.histogram import HdrHistogram

SIGNIFICANT_DIGITS = 3
LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour
_HIGHEST_MS = HIGHEST_US / 1000.0
META: dict[str, Any] = {
    "kind": "hdr",
    "significant_digits": SIGNIFICANT_DIGITS,
    "unit": "us",
    "lowest_us": LOWEST_US,
    "highest_us": HIGHEST_US,
}
LEGACY_META: dict[str, Any] = {"kind": "locust-rounded", "unit": "ms"}
QUANTILES: dict[str, float] = {
    "p50_ms": 0.50,
    "p90_ms": 0.90,
    "p95_ms": 0.95,
    "p99_ms": 0.99,
    "p999_ms": 0.999,
}
FAILED_KEYS = ("requests", "p50_ms", "p95_ms", "p99_ms", "max_ms", "avg_ms")

# hdrh ships no type hints: an ``hdrh.histogram.HdrHistogram`` made by ``new()`` or ``decode()``.
Histogram: TypeAlias = Any


def new() -> Histogram:
    """An empty histogram with agentload's range and precision."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def to_us(ms: float) -> int:
    """Milliseconds to whole microseconds, clamped into ``[LOWEST_US, HIGHEST_US]`` (NaN and
    negative values read as the lowest, infinity as the highest)."""
    if not ms >= 0.0:  # NaN or negative
        return LOWEST_US
    if ms >= _HIGHEST_MS:
        return HIGHEST_US
    return max(int(ms * 1000.0 + 0.5), LOWEST_US)


def record(hist: Histogram, ms: float, n: int = 1) -> None:
    """Record ``n`` latencies of ``ms`` milliseconds."""
    hist.record_value(to_us(ms), n)


def count(hist: Histogram | None) -> int:
    return int(hist.get_total_count()) if hist is not None else 0


def encode(hist: Histogram) -> str:
    """HdrHistogram's compressed base64 encoding (an empty histogram encodes too)."""
    return str(hist.encode().decode("ascii"))


def decode(text: str) -> Histogram:
    """A histogram from ``encode``'s text; ValueError when it is not one of agentload's."""
    try:
        hist = HdrHistogram.decode(text)
    except Exception as exc:  # base64, zlib and hdrh's own errors: all mean "not a histogram"
        raise ValueError(f"not an HdrHistogram encoding: {text[:24]!r}... ({exc!r})") from None
    settings = (hist.lowest_trackable_value, hist.highest_trackable_value, hist.significant_figures)
    if settings != (LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS):
        raise ValueError(
            f"histogram settings {settings}: expected {(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)}"
        )
    return hist


def merge(hists: Iterable[Histogram | None]) -> Histogram:
    """A new histogram holding the sum of ``hists`` (None and empty ones are skipped)."""
    out = new()
    for hist in hists:
        if hist is not None and hist.get_total_count():
            out.add(hist)
    return out


def from_rounded(hist: Mapping[int, int] | Mapping[str, int]) -> Histogram:
    """Locust's rounded histogram ``{ms: count}`` (JSON string keys too) as an HdrHistogram."""
    out = new()
    for key, n in hist.items():
        if int(n) > 0:
            record(out, float(key), int(n))
    return out


def _counts(hist: Histogram) -> list[int]:
    """The counts up to the top recorded bucket (a C-level copy of the ctypes array)."""
    if not hist.get_total_count():
        return []
    return list(hist.counts[: hist.get_counts_array_index(hist.max_value) + 1])


def max_us(hist: Histogram) -> int | None:
    return int(hist.get_max_value()) if hist.get_total_count() else None


def percentiles_ms(hist: Histogram, quantiles: Sequence[float]) -> list[float | None]:
    """The ``quantiles`` (0..1) in ms, HdrHistogram's nearest rank, clamped to the max."""
    total = count(hist)
    ranks = [max(1, int(min(max(q, 0.0), 1.0) * total + 0.5)) for q in quantiles]
    return values_at_ranks_ms(hist, ranks)


def values_at_ranks_ms(
    hist: Histogram, ranks: Sequence[int], *, lowest: bool = False
) -> list[float | None]:
    """The values (ms) of the requests at ``ranks`` (1 = the fastest), each read as the highest
    value of its bucket (the lowest with ``lowest``: a lower bound's side) and clamped to the
    max; None for all when the histogram is empty."""
    counts = _counts(hist)
    if not counts:
        return [None for _ in ranks]
    cumulative = list(itertools.accumulate(counts))
    top = int(hist.get_max_value())
    out: list[float | None] = []
    for rank in ranks:
        index = min(bisect_left(cumulative, max(1, rank)), len(cumulative) - 1)
        value = hist.get_value_from_index(index)
        if not lowest:
            value = hist.get_highest_equivalent_value(value)
        out.append(min(int(value), top) / 1000.0)
    return out


def mean_ms(hist: Histogram) -> float | None:
    """The mean in ms, each bucket counted at its middle value."""
    total = weighted = 0
    for index, n in enumerate(_counts(hist)):
        if n:
            low = hist.get_value_from_index(index)
            middle = (low + hist.get_highest_equivalent_value(low) + 1) / 2
            total += n
            weighted += n * middle
    return weighted / total / 1000.0 if total else None


def figures(hist: Histogram | None) -> dict[str, Any]:
    """``{"requests", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms", "avg_ms"}``
    of one histogram (latencies None when it is empty)."""
    hist = hist if hist is not None else new()
    values = percentiles_ms(hist, list(QUANTILES.values()))
    top = max_us(hist)
    return {
        "requests": count(hist),
        **dict(zip(QUANTILES, values, strict=True)),
        "max_ms": top / 1000.0 if top is not None else None,
        "avg_ms": mean_ms(hist),
    }


class EntryLatency:
    """One entry's latencies: successful requests in ``ok``, failed ones in ``failed``.

    ``split`` is False for an old timeline line whose one rounded histogram mixed both (its
    figures are then over all requests and ``failed`` is unknown).
    """

    __slots__ = ("failed", "ok", "split")

    def __init__(self, split: bool = True) -> None:
        self.ok: Histogram | None = None
        self.failed: Histogram | None = None
        self.split = split

    def record(self, ms: float, failed: bool = False) -> None:
        if failed:
            if self.failed is None:
                self.failed = new()
            record(self.failed, ms)
        else:
            if self.ok is None:
                self.ok = new()
            record(self.ok, ms)

    @property
    def requests(self) -> int:
        return count(self.ok) + count(self.failed)

    @property
    def failures(self) -> int:
        return count(self.failed)

    def add(self, other: EntryLatency) -> None:
        """Add ``other``'s counts to this one's (exact)."""
        self.split = self.split and other.split
        if count(other.ok):
            if self.ok is None:
                self.ok = new()
            self.ok.add(other.ok)
        if count(other.failed):
            if self.failed is None:
                self.failed = new()
            self.failed.add(other.failed)

    def to_json(self) -> dict[str, str]:
        """``{"hdr": successes, "hdr_failed": failures}``, each key only when not empty."""
        out = {}
        if count(self.ok):
            out["hdr"] = encode(self.ok)
        if count(self.failed):
            out["hdr_failed"] = encode(self.failed)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EntryLatency:
        """From ``to_json``'s keys, or from an old line's rounded ``hist`` (not split)."""
        if "hdr" in data or "hdr_failed" in data:
            entry = cls()
            entry.ok = decode(data["hdr"]) if data.get("hdr") else None
            entry.failed = decode(data["hdr_failed"]) if data.get("hdr_failed") else None
            return entry
        entry = cls(split=False)
        hist = data.get("hist")
        if hist:
            entry.ok = from_rounded(hist)
        return entry

    def figures(self) -> dict[str, Any]:
        """Latency figures of the successes, and ``failed``: the failures' own figures (None
        when this entry does not keep them apart)."""
        out = figures(self.ok)
        del out["requests"]
        if self.split:
            failed = figures(self.failed)
            out["failed"] = {key: failed[key] for key in FAILED_KEYS}
        else:
            out["failed"] = None
        return out


_LAYOUT = new()
assert _LAYOUT.unit_magnitude == 0  # LOWEST_US == 1: the index arithmetic below relies on it
_HALF_BITS = int(_LAYOUT.sub_bucket_half_count_magnitude)
_HALF_COUNT = int(_LAYOUT.sub_bucket_half_count)


def bucket_index(us: int) -> int:
    """HdrHistogram's counts index of ``us`` (what ``record_value`` computes, without the
    method calls): the power-of-two bucket, then the sub-bucket within it."""
    shift = us.bit_length() - _HALF_BITS - 1
    if shift < 0:
        shift = 0
    return ((shift + 1) << _HALF_BITS) + (us >> shift) - _HALF_COUNT


class Recording:
    """Latencies as requests finish, at the least cost per request: sparse bucket counts
    (``{index: n}``) of successes and failures, read out as an :class:`EntryLatency`."""

    __slots__ = ("failed", "ok")

    def __init__(self) -> None:
        self.ok: dict[int, int] = {}
        self.failed: dict[int, int] = {}

    def record(self, ms: float, failed: bool = False) -> None:
        if 0.0 <= ms < _HIGHEST_MS:  # to_us(ms), inlined: the hot path
            us = int(ms * 1000.0 + 0.5) or LOWEST_US
        else:
            us = HIGHEST_US if ms >= _HIGHEST_MS else LOWEST_US  # NaN, negative: the lowest
        shift = us.bit_length() - _HALF_BITS - 1  # bucket_index(us), inlined: the hot path
        if shift < 0:
            shift = 0
        index = ((shift + 1) << _HALF_BITS) + (us >> shift) - _HALF_COUNT
        counts = self.failed if failed else self.ok
        counts[index] = counts.get(index, 0) + 1

    @property
    def requests(self) -> int:
        return sum(self.ok.values()) + sum(self.failed.values())

    def add(self, other: Recording) -> None:
        """Add ``other``'s counts to this one's (exact: same bucket layout everywhere)."""
        for mine, theirs in ((self.ok, other.ok), (self.failed, other.failed)):
            for index, n in theirs.items():
                mine[index] = mine.get(index, 0) + n

    def latency(self) -> EntryLatency:
        """The recorded counts as exact histograms (each bucket recorded at its lowest value,
        which HdrHistogram files under the same index)."""
        out = EntryLatency()
        out.ok = _from_counts(self.ok)
        out.failed = _from_counts(self.failed)
        return out


def _from_counts(counts: Mapping[int, int]) -> Histogram | None:
    if not counts:
        return None
    hist = new()
    for index, n in counts.items():
        hist.record_value(hist.get_value_from_index(index), n)
    return hist


def merge_entries(entries: Iterable[EntryLatency]) -> EntryLatency:
    """The sum of several entries' latencies (e.g. all HTTP entries of a window)."""
    out = EntryLatency()
    for entry in entries:
        out.add(entry)
    return out
