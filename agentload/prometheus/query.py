"""The server-side view of a run, read from Prometheus' HTTP API with httpx.

Counts over the run's window are exact differences of the cumulative series (the value at the end
minus the value at the start, or the whole value for series born during the run), so short runs are
not skewed by `increase()`'s extrapolation. Quantiles are `histogram_quantile` over those
differences, each with the bucket it interpolated in (``p95_lo_ms``, ``p95_hi_ms``): an estimate
known only to that bucket (see :mod:`agentload.prometheus.compare`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from agentload.metrics.intervals import bucket_quantile_interval
from agentload.metrics.precision import pair
from agentload.prometheus.client import PromClient, Sample
from agentload.prometheus.compare import bound_keys, compare, custom_metric, quantile_bucket
from agentload.prometheus.errors import PrometheusError
from agentload.prometheus.server import JOB_AGENT_API, JOB_ENGINE, JOB_LOCUST

#: Routes of the target's own plumbing, left out of its request totals.
INTERNAL_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})

HTTP_HISTOGRAM = "agent_http_request_duration_seconds"
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def _dur(seconds: float) -> str:
    return f"{max(int(seconds * 1000), 1)}ms"


def window_delta(selector: str, by: str, seconds: float) -> str:
    """PromQL for the growth of the counters `selector` over the last `seconds`, summed `by`."""
    now, before = (
        f"sum by ({by}) ({selector})",
        f"sum by ({by}) ({selector} offset {_dur(seconds)})",
    )
    return f"clamp_min(({now} - {before}) or {now}, 0)"


def _by(samples: list[Sample], *labels: str) -> dict[tuple[str, ...], float]:
    return {tuple(s.get(label, "") for label in labels): v for s, v in samples}


def _bucket_bounds(buckets: list[tuple[float, float]]) -> dict[str, Any]:
    """``{p50_lo_ms, p50_hi_ms, p95_lo_ms, ...}``: each quantile's bucket, from (le, count); and
    its 95 % interval ``p50_ci_ms`` (order statistics: the edges of the buckets holding the
    bounding ranks, :func:`agentload.metrics.intervals.bucket_quantile_interval`)."""
    out: dict[str, Any] = {}
    for name, q in QUANTILES.items():
        out.update(bound_keys(name, quantile_bucket(buckets, q)))
        lo, hi = bucket_quantile_interval(buckets, q)
        ms = (lo * 1000.0 if lo is not None else None, hi * 1000.0 if hi is not None else None)
        out[f"{name}_ci_ms"] = pair(ms)
    return out


def wait_for_scrape(
    client: PromClient, after: float, jobs: tuple[str, ...], timeout: float = 10.0
) -> float:
    """Wait until every job in `jobs` was scraped after `after`; the time to evaluate at.

    That is the latest of those scrapes, so that each job's post-`after` sample is in view.
    """
    expr = f'timestamp(up{{job=~"{"|".join(jobs)}"}})'
    deadline = time.monotonic() + timeout
    while True:
        now = time.time()
        stamps = [value for _, value in client.instant(expr, now)]
        if not stamps:  # other job names (an existing server): the latest data there is
            return max(after, now)
        if min(stamps) >= after or time.monotonic() > deadline:
            return max([after, *stamps]) + 0.001
        time.sleep(0.2)


def _route_view(client: PromClient, at: float, w: float, duration: float) -> dict[str, Any]:
    errors = _by(
        client.instant(window_delta(f'{HTTP_HISTOGRAM}_count{{status=~"5.."}}', "route", w), at),
        "route",
    )
    delta = window_delta(f"{HTTP_HISTOGRAM}_bucket", "route, le", w)
    buckets = client.instant(delta, at)
    quantiles = {
        name: _by(client.instant(f"histogram_quantile({q}, {delta})", at), "route")
        for name, q in QUANTILES.items()
    }
    routes: dict[str, dict[str, Any]] = {}
    bounds: dict[str, list[float]] = {}
    counts: dict[str, list[tuple[float, float]]] = {}
    for labels, value in buckets:
        route, le = labels.get("route", ""), labels.get("le", "")
        counts.setdefault(route, []).append((float(le), value))
        if le == "+Inf":
            requests = int(round(value))
            if requests == 0:
                continue
            failed = int(round(errors.get((route,), 0.0)))
            routes[route] = {
                "requests": requests,
                "errors_5xx": failed,
                "error_rate": round(failed / requests, 6),
                "rps": round(requests / duration, 3),
                **{
                    f"{name}_ms": round(by_route[(route,)] * 1000.0, 3)
                    for name, by_route in quantiles.items()
                    if (route,) in by_route
                },
            }
        else:
            bounds.setdefault(route, []).append(float(le))
    for route, figures in routes.items():
        figures.update(_bucket_bounds(counts[route]))
    return {
        "routes": dict(sorted(routes.items())),
        "bounds": {r: sorted(b) for r, b in bounds.items()},
    }


def _outcomes(client: PromClient, at: float, w: float) -> dict[str, Any]:
    samples = client.instant(window_delta("agent_task_outcomes_total", "agent, outcome", w), at)
    per_agent: dict[str, dict[str, int]] = {}
    for labels, value in samples:
        per_agent.setdefault(labels.get("agent", ""), {})[labels.get("outcome", "")] = round(value)
    rates = {
        agent: round(counts.get("success", 0) / total, 6)
        for agent, counts in per_agent.items()
        if (total := sum(counts.values())) > 0
    }
    success = sum(c.get("success", 0) for c in per_agent.values())
    total = sum(sum(c.values()) for c in per_agent.values())
    return {
        "agent_success_rate": round(success / total, 6) if total else None,
        "agents": {
            a: {"outcomes": per_agent[a], "success_rate": rates.get(a)} for a in sorted(per_agent)
        },
    }


def _resources(
    client: PromClient, at: float, w: float, duration: float, jobs: str
) -> dict[str, Any]:
    sel = f'{{job=~"{jobs}"}}'
    cpu = _by(client.instant(window_delta(f"process_cpu_seconds_total{sel}", "job", w), at), "job")
    rss_max = _by(
        client.instant(
            f"max by (job) (max_over_time(process_resident_memory_bytes{sel}[{_dur(w)}]))", at
        ),
        "job",
    )
    rss_now = _by(client.instant(f"sum by (job) (process_resident_memory_bytes{sel})", at), "job")
    total = client.instant(
        f"max_over_time(sum(process_resident_memory_bytes{sel})[{_dur(w)}:1s])", at
    )
    processes = {
        job: {
            "cpu_pct": round(cpu.get((job,), 0.0) / duration * 100.0, 2),
            "rss_bytes_max": int(rss_max.get((job,), 0.0)),
            "rss_bytes_last": int(rss_now.get((job,), 0.0)),
        }
        for (job,) in sorted(set(cpu) | set(rss_max))
    }
    return {
        "cpu_pct": round(sum(p["cpu_pct"] for p in processes.values()), 2) if processes else None,
        "rss_bytes": int(total[0][1]) if total else None,
        "processes": processes,
    }


def _engine(client: PromClient, at: float, w: float) -> dict[str, Any]:
    r = _dur(w)
    figures: dict[str, Any] = {}
    for name in ("queue_depth", "slots_busy"):
        for agg in ("avg", "max"):
            found = client.instant(f"{agg}_over_time(sum(engine_{name})[{r}:1s])", at)
            figures[f"{name}_{agg}"] = round(found[0][1], 3) if found else None
    slots = client.instant("max(engine_slots_total)", at)
    figures["slots_total"] = int(slots[0][1]) if slots else None
    outcomes = client.instant(window_delta("engine_requests_total", "outcome", w), at)
    figures["requests"] = {labels.get("outcome", ""): round(v) for labels, v in outcomes}
    ttft_delta = window_delta("engine_ttft_seconds_bucket", "le", w)
    ttft = client.instant(f"histogram_quantile(0.95, {ttft_delta})", at)
    figures["ttft_p95_ms"] = round(ttft[0][1] * 1000.0, 3) if ttft else None
    ttft_buckets = [(float(s["le"]), v) for s, v in client.instant(ttft_delta, at)]
    figures.update(bound_keys("ttft_p95", quantile_bucket(ttft_buckets, 0.95)))
    return figures


def _custom(
    client: PromClient, at: float, w: float, entries: Iterable[str]
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    figures: dict[str, Any] = {}
    bounds: dict[str, list[float]] = {}
    pairs = [(entry, custom_metric(entry)) for entry in entries]
    for entry, metric in [(e, m) for e, m in pairs if m is not None]:
        buckets = client.instant(window_delta(f"{metric}_bucket", "le", w), at)
        count = next((v for labels, v in buckets if labels.get("le") == "+Inf"), 0.0)
        if count <= 0:
            continue
        bounds[entry] = sorted(float(s["le"]) for s, _ in buckets if s.get("le") != "+Inf")
        figures[entry] = {"metric": metric, "count": round(count)}
        for name, q in QUANTILES.items():
            found = client.instant(
                f"histogram_quantile({q}, {window_delta(f'{metric}_bucket', 'le', w)})", at
            )
            if found:
                figures[entry][f"{name}_ms"] = round(found[0][1] * 1000.0, 3)
        figures[entry].update(_bucket_bounds([(float(s["le"]), v) for s, v in buckets]))
    return figures, bounds


def _alerts(client: PromClient, at: float, w: float) -> list[dict[str, str]]:
    found = client.instant(f'max_over_time(ALERTS{{alertstate="firing"}}[{_dur(w)}])', at)
    return sorted(
        (
            {k: v for k, v in labels.items() if k not in ("__name__", "alertstate")}
            for labels, _ in found
        ),
        key=lambda a: (a.get("alertname", ""), sorted(a.items())),
    )


def server_side(
    url: str,
    start: float,
    end: float,
    client_endpoints: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    target_jobs: tuple[str, str] = (JOB_AGENT_API, JOB_ENGINE),
    scrape_jobs: tuple[str, ...] = (JOB_AGENT_API, JOB_ENGINE, JOB_LOCUST),
    settle_timeout: float = 10.0,
) -> dict[str, Any]:
    """The server-side view of the load between `start` and `end` (unix seconds).

    `client_endpoints` is Locust's per-entry figures (final.json's `entries`), compared per route.
    Waits (at most `settle_timeout`) for a scrape after `end` so the last requests are counted.
    """
    if end <= start:
        raise PrometheusError(f"window end {end} must be after start {start}")
    client = PromClient(url)
    try:
        at = wait_for_scrape(client, end, scrape_jobs, settle_timeout)
        w, duration = at - start, end - start
        view = _route_view(client, at, w, duration)
        custom, custom_bounds = _custom(client, at, w, client_endpoints or {})
        routes: dict[str, Any] = view["routes"]
        v1 = [r for name, r in routes.items() if name not in INTERNAL_ROUTES]
        return {
            "source": client.url,
            "window": {"start": start, "end": end, "seconds": round(duration, 3)},
            "routes": routes,
            "requests": sum(r["requests"] for r in v1),
            "rps": round(sum(r["requests"] for r in v1) / duration, 3),
            **_outcomes(client, at, w),
            **_resources(client, at, w, duration, "|".join(target_jobs)),
            "engine": _engine(client, at, w),
            "custom": custom,
            "alerts_fired": _alerts(client, at, w),
            "comparison": compare(
                client_endpoints or {},
                {**routes, **custom},
                {**view["bounds"], **custom_bounds},
            ),
        }
    finally:
        client.close()


def missing_server_side(reason: str) -> dict[str, Any]:
    """What `summary["server_side"]` holds when there is no Prometheus for the run."""
    return {"source": None, "missing": reason}
