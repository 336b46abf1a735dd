"""The rate sweep, GuideLLM-style: the pure part (rates, rows, breakdown, max rate under SLO).

A sweep runs one scenario three ways: **synchronous** (one user, one request at a time: the
unloaded latency and the lowest rate), **throughput** (many concurrent users: the highest rate
the target sustains), then ``steps`` open-model **rates** spaced evenly strictly between the two
(:func:`sweep_rates`). Each run gives a row (:func:`row`): the asked and achieved rate, the
error rate, TTFT/ITL (streamed calls) and E2E percentiles, goodput. A rate **breaks down** when
its error rate is above ``max_error_rate`` or its P95 E2E above ``max_p95_factor`` times the
synchronous one (:func:`breakdown`); the sweep stops there and says so.
A run whose figures are **not measured** (:func:`agentload.metrics.measurement.not_measured`: a
window far shorter than the run, or far fewer calls counted than sent; the row's
``not_measured`` says why) gives no rate: with the synchronous or throughput run not measured no
rates are run, and a rate not measured stops the sweep.
:func:`max_rate_under_slo` is the highest measured rate whose goodput share meets the target:
between the last rate that meets it and the next that does not, the rate where the goodput line
crosses the target (labelled ``interpolated``), as the rates are measured only at their points.
A rate the target no longer keeps up with (**over-saturated**, :mod:`agentload.metrics.saturation`:
the calls in flight and their latency grew through the step) ends early and stops the sweep; its
row's ``over_saturated`` holds the evidence, and it is never the max rate nor a point the goodput
line is drawn through (the max is then the last rate that kept up). With ``factor`` above 1
(``[sweep] max_rate_factor``) the rates go past the throughput run's, up to where the target
stops keeping up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def sweep_rates(
    sync_rps: float, throughput_rps: float, steps: int, factor: float = 1.0
) -> list[float]:
    """``steps`` rates evenly spaced strictly between the synchronous rate and ``factor`` times
    the throughput rate (1: strictly between the two runs)."""
    top = throughput_rps * factor
    if steps < 1 or throughput_rps <= sync_rps:
        return []
    gap = (top - sync_rps) / (steps + 1)
    return [round(sync_rps + gap * i, 3) for i in range(1, steps + 1)]


def row(
    kind: str, target_rate: float | None, summary: Mapping[str, Any], scenario: str, entry: str
) -> dict[str, Any]:
    """One run of the sweep from its summary dict (see the module docstring)."""
    totals = summary.get("totals") or {}
    llm = (summary.get("llm") or {}).get(scenario) or {}
    endpoint = (summary.get("endpoints") or {}).get(entry) or {}
    e2e = llm.get("e2e_ms") or {
        "p50": endpoint.get("p50_ms"),
        "p90": endpoint.get("p90_ms"),
        "p95": endpoint.get("p95_ms"),
        "p99": endpoint.get("p99_ms"),
        "mean": endpoint.get("avg_ms"),
    }
    goodput = (summary.get("goodput") or {}).get(scenario) or {}
    arrivals = summary.get("arrivals")
    return {
        "kind": kind,
        "target_rate": target_rate,
        "achieved_rate": totals.get("rps"),
        "requests": totals.get("requests"),
        "error_rate": totals.get("error_rate"),
        "ttft_ms": llm.get("ttft_ms"),
        "itl_ms": llm.get("itl_ms"),
        "e2e_ms": e2e,
        "goodput": goodput.get("share"),
        "goodput_per_s": goodput.get("per_s"),
        "arrivals": arrivals,
        "users": summary.get("users"),
        "not_measured": summary.get("not_measured"),
        "over_saturated": summary.get("over_saturated"),
    }


def breakdown(
    rate_row: Mapping[str, Any],
    sync_row: Mapping[str, Any],
    max_error_rate: float,
    max_p95_factor: float,
) -> str | None:
    """Why this rate broke down (errors, or P95 E2E far above the synchronous one), or None."""
    errors = rate_row.get("error_rate")
    if isinstance(errors, int | float) and errors > max_error_rate:
        return f"error rate {errors:.1%} > {max_error_rate:.0%} at {rate_row['target_rate']} req/s"
    p95 = (rate_row.get("e2e_ms") or {}).get("p95")
    base = (sync_row.get("e2e_ms") or {}).get("p95")
    if isinstance(p95, int | float) and isinstance(base, int | float) and base > 0:
        if p95 > max_p95_factor * base:
            return (
                f"P95 E2E {p95:.0f} ms > {max_p95_factor:g} x the synchronous {base:.0f} ms at "
                f"{rate_row['target_rate']} req/s"
            )
    return None


def max_rate_under_slo(rows: Sequence[Mapping[str, Any]], target: float) -> dict[str, Any] | None:
    """The highest achieved rate whose goodput share is at least ``target`` (see the module
    docstring), or None when no measured row meets it (or no row has goodput: no SLOs). An
    over-saturated row is no point of the goodput line: its figures are of a queue that grew."""
    points = sorted(
        (float(r["achieved_rate"]), float(r["goodput"]))
        for r in rows
        if isinstance(r.get("achieved_rate"), int | float)
        and isinstance(r.get("goodput"), int | float)
        and not r.get("not_measured")
        and not r.get("over_saturated")
    )
    best: dict[str, Any] | None = None
    for index, (rate, share) in enumerate(points):
        if share < target:
            continue
        best = {"rate": round(rate, 3), "interpolated": False, "goodput": share}
        following = points[index + 1] if index + 1 < len(points) else None
        if following is not None and following[1] < target:
            next_rate, next_share = following
            crossing = rate + (next_rate - rate) * (share - target) / (share - next_share)
            best = {
                "rate": round(crossing, 3),
                "interpolated": True,
                "between": [round(rate, 3), round(next_rate, 3)],
                "goodput": target,
            }
    if best is not None:
        best["goodput_target"] = target
    return best


def sweep_finding(section: Mapping[str, Any]) -> str:
    """The sweep in one sentence, for the console and the report."""
    sync, throughput = section.get("synchronous") or {}, section.get("throughput") or {}
    head = f"synchronous {_run_rate(sync)}, throughput {_run_rate(throughput)}"
    runs = [sync, throughput, *(section.get("rates") or [])]
    target = section.get("goodput_target")
    share = f"goodput >= {target:.0%}" if isinstance(target, int | float) else "its goodput target"
    found = section.get("max_rate_under_slo")
    if isinstance(found, Mapping):
        how = ""
        if found.get("interpolated"):
            low, high = found.get("between") or (None, None)
            how = f" (interpolated between {_rate(low)} and {_rate(high)})"
        tail = f"max rate under SLO {_rate(found.get('rate'))}{how} at {share}"
    elif any(run.get("not_measured") for run in runs):
        tail = f"no max rate: no measured rate met {share}"
    else:
        tail = f"no rate met {share}"
    stopped = section.get("stopped")
    return f"{head}; {tail}" + (f"; stopped early: {stopped}" if stopped else "")


def _run_rate(run: Mapping[str, Any]) -> str:
    """A run's achieved rate, or that it was not measured."""
    return "not measured" if run.get("not_measured") else _rate(run.get("achieved_rate"))


def _rate(value: Any) -> str:
    return f"{value:.2f} req/s" if isinstance(value, int | float) else "n/a"
