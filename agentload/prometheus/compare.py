"""Client-side figures beside server-side ones, judged in histogram buckets (pure functions).

A quantile read from a histogram is only known to lie inside one bucket. Two figures "agree within
one bucket" when the buckets holding them are the same or neighbours, in the coarser of the two
histograms measuring them: the server's (`agent_*`) and the client's (`loadtest_*`). The distance
in each is reported.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from typing import Any

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


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


def split_entry(entry: str) -> tuple[str, str] | None:
    """`"POST /v1/chat/completions"` → ("POST", "/v1/chat/completions"); None for custom
    entries."""
    method, _, name = entry.partition(" ")
    if method.upper() not in HTTP_METHODS or not name.startswith("/"):
        return None
    return method.upper(), name


def compare(
    client: Mapping[str, Mapping[str, Any]],
    server: Mapping[str, Mapping[str, Any]],
    bounds: Mapping[str, Sequence[float]],
    client_bounds: Mapping[str, Sequence[float]] | None = None,
    quantiles: Sequence[str] = ("p95", "p99"),
) -> list[dict[str, Any]]:
    """One row per client entry and quantile that the server also measured.

    `client`: Locust entry → {"p95_ms", ...}; `server`: route or custom entry → {"p95_ms", ...};
    `bounds`: the server's keys → its histogram's finite bucket bounds in seconds;
    `client_bounds`: Locust entry → the client histogram's bounds (seconds), where known.
    """
    rows: list[dict[str, Any]] = []
    for entry, figures in sorted(client.items()):
        split = split_entry(entry)
        key = split[1] if split else entry
        if key not in server or key not in bounds:
            continue
        edges = [b * 1000.0 for b in bounds[key]]
        client_edges = [b * 1000.0 for b in (client_bounds or {}).get(entry, [])]
        for q in quantiles:
            c, s = figures.get(f"{q}_ms"), server[key].get(f"{q}_ms")
            if not isinstance(c, int | float) or not isinstance(s, int | float):
                continue
            lower, upper = bucket_range(edges, float(s))
            distance = bucket_distance(edges, float(c), float(s))
            client_distance = (
                bucket_distance(client_edges, float(c), float(s)) if client_edges else None
            )
            coarser = distance if client_distance is None else min(distance, client_distance)
            rows.append(
                {
                    "entry": entry,
                    "route": key,
                    "quantile": q,
                    "client_ms": round(float(c), 3),
                    "server_ms": round(float(s), 3),
                    "delta_ms": round(float(c) - float(s), 3),
                    "server_bucket_ms": [lower, upper if math.isfinite(upper) else None],
                    "bucket_distance": distance,
                    "client_bucket_distance": client_distance,
                    "within_one_bucket": coarser <= 1,
                }
            )
    return rows
