"""Client-side figures beside server-side ones, judged by the server's bucket (pure functions).

A quantile read from a Prometheus histogram is only known to lie in one bucket (lo, hi]: the figure
`histogram_quantile` gives inside it is a linear interpolation, an estimate. The client's quantiles
are exact (HDR histograms), and a request's client time is its server time plus the network and the
client itself, so the client can never be faster than the server for the same requests. Hence, per
entry and quantile, where the client's exact value lies against the server's bucket:

- inside (lo, hi], server ≤ client: ``agrees``;
- inside (lo, hi], server > client: ``interpolation_artefact``; the server's figure is too high by
  the interpolation, not a disagreement, but not an agreement either;
- at or below lo: ``client_below_bucket``, a real discrepancy (the client faster than the server:
  another request mix, a wrong route, a clock); but ``ranks_apart`` when the client's quantile is
  an earlier request than the one the server's bucket holds, counted from the slowest (the
  client's nearest rank ``round(q * n)`` against Prometheus' ``ceil(q * n)``: with few requests
  they are different requests);
- above hi: ``client_above_bucket``, time spent outside the server (network, queueing before the
  server's clock starts, the client's own overhead), reported with its size.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})

AGREES = "agrees"
ARTEFACT = "interpolation_artefact"
CLIENT_BELOW = "client_below_bucket"
CLIENT_ABOVE = "client_above_bucket"
RANKS_APART = "ranks_apart"


class Ranks(NamedTuple):
    """Which request (1 = fastest) each side's quantile is: the client's of its `client_n`
    successes, the server's bucket's of its `server_n` requests."""

    client: int
    client_n: int
    server: int
    server_n: int


def ranks(q: float, client_n: int, server_n: int) -> Ranks:
    """The client's nearest rank (HdrHistogram's ``round(q * n)``) and the request whose bucket
    ``histogram_quantile`` interpolates in (the first to reach ``q * n``)."""
    return Ranks(
        max(1, int(q * client_n + 0.5)), client_n, max(1, math.ceil(q * server_n - 1e-9)), server_n
    )


def custom_metric(entry: str) -> str | None:
    """The server histogram a custom Locust entry is compared with, by the embedded target's
    naming rule: ``TTC <scenario>`` ↔ ``agent_<scenario>_job_duration_seconds``; else None."""
    kind, _, scenario = entry.partition(" ")
    if kind != "TTC" or not scenario.replace("_", "").isalnum():
        return None
    return f"agent_{scenario}_job_duration_seconds"


def bucket_index(bounds: Sequence[float], value: float) -> int:
    """Index of the bucket holding `value`: bucket i is (bounds[i-1], bounds[i]]; `len` = +Inf."""
    return bisect.bisect_left(bounds, value)


def bucket_range(bounds: Sequence[float], value: float) -> tuple[float, float]:
    """The (lower, upper] bounds of the bucket holding `value` (upper may be +Inf)."""
    i = bucket_index(bounds, value)
    lower = bounds[i - 1] if i > 0 else 0.0
    upper = bounds[i] if i < len(bounds) else math.inf
    return lower, upper


def bucket_distance(bounds: Sequence[float], a: float, b: float) -> int:
    """How many buckets apart `a` and `b` are (0: the same bucket)."""
    return abs(bucket_index(bounds, a) - bucket_index(bounds, b))


def quantile_bucket(buckets: Iterable[tuple[float, float]], q: float) -> tuple[float, float] | None:
    """The bucket (lo, hi] that ``histogram_quantile(q, ...)`` interpolates in, from cumulative
    ``(le, count)`` pairs (``le`` may be +Inf); None without observations.

    As Prometheus does: counts made monotonic, rank ``q * total``, the first bucket whose count
    reaches the rank. In the +Inf bucket hi is +Inf (where Prometheus answers lo).
    """
    pairs = sorted(buckets)
    if not pairs or not math.isinf(pairs[-1][0]) or pairs[-1][1] <= 0:
        return None
    counts, most = [], 0.0
    for _, count in pairs:
        most = max(most, count)
        counts.append(most)
    i = bisect.bisect_left(counts, min(max(q, 0.0), 1.0) * counts[-1], hi=len(counts) - 1)
    return (pairs[i - 1][0] if i > 0 else 0.0), pairs[i][0]


def bound_keys(name: str, bounds: tuple[float, float] | None) -> dict[str, float | None]:
    """``{NAME_lo_ms, NAME_hi_ms}`` of a quantile's bucket in ms (hi None for +Inf); {} if none."""
    if bounds is None:
        return {}
    lo, hi = bounds
    return {
        f"{name}_lo_ms": round(lo * 1000.0, 3),
        f"{name}_hi_ms": round(hi * 1000.0, 3) if math.isfinite(hi) else None,
    }


def _ms(lo: float, hi: float) -> str:
    upper = "+Inf" if math.isinf(hi) else f"{hi:g}"
    return f"({lo:g}, {upper}] ms"


def _gap(ms: float) -> str:
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.3g}"  # 2,000 / 16.5 / 0.821


def judge(
    client_ms: float, server_ms: float, lo_ms: float, hi_ms: float, at: Ranks | None = None
) -> tuple[str, str]:
    """Verdict and sentence for a client's exact quantile against the server's estimate in its
    bucket (lo_ms, hi_ms] (hi_ms may be +Inf), `at` the requests each side's quantile is (where
    known); see the module docstring."""
    bucket = _ms(lo_ms, hi_ms)
    if client_ms <= lo_ms and at is not None and at.server_n - at.server < at.client_n - at.client:
        return RANKS_APART, (
            f"client below the server's bucket {bucket}, but it is request {at.client} of "
            f"{at.client_n} and the server's bucket holds request {at.server} of {at.server_n}: "
            "the quantile definitions pick different requests, not a discrepancy"
        )
    if client_ms <= lo_ms:
        return CLIENT_BELOW, (
            f"client below the server's bucket {bucket}: faster than the server, a real "
            "discrepancy (another request mix, a wrong route or a clock)"
        )
    if client_ms > hi_ms:
        return CLIENT_ABOVE, (
            f"client {_gap(client_ms - hi_ms)} ms above the server's bucket {bucket}: time outside "
            "the server (network, queueing, the client)"
        )
    if server_ms > client_ms:
        return ARTEFACT, f"server above client: interpolation artefact, both in bucket {bucket}"
    return AGREES, f"client inside the server's bucket {bucket}"


def split_entry(entry: str) -> tuple[str, str] | None:
    """`"POST /v1/chat/completions"` → ("POST", "/v1/chat/completions"); None for custom
    entries."""
    method, _, name = entry.partition(" ")
    if method.upper() not in HTTP_METHODS or not name.startswith("/"):
        return None
    return method.upper(), name


def _bucket_of(
    figures: Mapping[str, Any], q: str, edges: Sequence[float], server_ms: float
) -> tuple[float, float]:
    lo, hi = figures.get(f"{q}_lo_ms"), figures.get(f"{q}_hi_ms")
    if isinstance(lo, int | float) and (hi is None or isinstance(hi, int | float)):
        return float(lo), math.inf if hi is None else float(hi)
    return bucket_range(edges, server_ms)  # no bounds given: the bucket the estimate lies in


def _ranks(q: str, client: Mapping[str, Any], server: Mapping[str, Any]) -> Ranks | None:
    """The ranks of quantile `q` ("p95") from the client's successes and the server's count."""
    sent, failed = client.get("requests"), client.get("failures") or 0
    seen = server.get("requests", server.get("count"))
    if not (isinstance(sent, int) and isinstance(failed, int) and isinstance(seen, int)):
        return None
    ok = sent - failed
    return ranks(float(f"0.{q[1:]}"), ok, seen) if ok > 0 and seen > 0 else None  # "p95" -> 0.95


def compare(
    client: Mapping[str, Mapping[str, Any]],
    server: Mapping[str, Mapping[str, Any]],
    bounds: Mapping[str, Sequence[float]],
    quantiles: Sequence[str] = ("p95", "p99"),
) -> list[dict[str, Any]]:
    """One row per client entry and quantile that the server also measured.

    `client`: Locust entry → {"p95_ms", "requests", "failures", ...} (exact); `server`: route or
    custom entry → {"p95_ms", "p95_lo_ms", "p95_hi_ms", "requests" or "count", ...}; `bounds`: the
    server's keys → its histogram's finite bucket bounds in seconds (for the distance in buckets,
    and the bucket where lo/hi are absent).
    """
    rows: list[dict[str, Any]] = []
    for entry, figures in sorted(client.items()):
        split = split_entry(entry)
        key = split[1] if split else entry
        if key not in server or key not in bounds:
            continue
        edges = [b * 1000.0 for b in bounds[key]]
        for q in quantiles:
            c, s = figures.get(f"{q}_ms"), server[key].get(f"{q}_ms")
            if not isinstance(c, int | float) or not isinstance(s, int | float):
                continue
            lo, hi = _bucket_of(server[key], q, edges, float(s))
            at = _ranks(q, figures, server[key])
            verdict, note = judge(float(c), float(s), lo, hi, at)
            rows.append(
                {
                    "entry": entry,
                    "route": key,
                    "quantile": q,
                    "client_ms": round(float(c), 3),
                    "server_ms": round(float(s), 3),
                    "delta_ms": round(float(c) - float(s), 3),
                    "lo_ms": lo,
                    "hi_ms": hi if math.isfinite(hi) else None,
                    "bucket_distance": bucket_distance(edges, float(c), float(s)),
                    "ranks": at._asdict() if at else None,
                    "agrees": verdict == AGREES,
                    "verdict": verdict,
                    "note": note,
                }
            )
    return rows
