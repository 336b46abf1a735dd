"""Latency histogram buckets of the target: log-spaced, at most 10 % apart.

A quantile read from a Prometheus histogram is only known to lie in one bucket (lo, hi]; the
interpolated figure inside it can be off by up to the bucket's width. With bounds at most 10 %
apart (25 per decade) that is ±10 % at worst, anywhere the target's latencies fall.
"""

from __future__ import annotations

#: One decade's bounds, each at most 10 % above the one before (10**(k/25), 3 digits, 1.59 for
#: 1.58 so that 1.74 / 1.59 stays under 1.1).
MANTISSAS = (
    1.0, 1.1, 1.2, 1.32, 1.45, 1.59, 1.74, 1.91, 2.09, 2.29, 2.51, 2.75, 3.02,
    3.31, 3.63, 3.98, 4.37, 4.79, 5.25, 5.75, 6.31, 6.92, 7.59, 8.32, 9.12,
)  # fmt: skip


def log_buckets(lo: float, hi: float) -> tuple[float, ...]:
    """Every bound ``m * 10**e`` (m in MANTISSAS) from `lo` to `hi` inclusive, ascending."""
    if not 0 < lo < hi:
        raise ValueError(f"log_buckets({lo!r}, {hi!r}): expected 0 < lo < hi")
    first, last = (int(f"{v:e}".split("e")[1]) for v in (lo, hi))  # decimal exponents
    bounds = (float(f"{m}e{e}") for e in range(first, last + 1) for m in MANTISSAS)
    return tuple(b for b in bounds if lo * (1 - 1e-9) <= b <= hi * (1 + 1e-9))


#: HTTP requests and engine calls: 1 ms (the status route) to 120 s (past the engine's timeout).
LATENCY_BUCKETS = log_buckets(0.001, 120.0)
#: Research jobs, submission to a terminal state: 10 ms to ~10 min (the job timeout is 2 min).
JOB_BUCKETS = log_buckets(0.01, 600.0)
