"""The engine's Prometheus metrics, on a registry that is passed in."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from target_service.buckets import LATENCY_BUCKETS
from target_service.engine.scheduler import SlotPool

OUTCOMES = ("success", "rejected", "unavailable", "bad_request", "cancelled")


class EngineMetrics:
    """Counters and histograms updated per request; gauges read from the pool at scrape time."""

    def __init__(self, registry: CollectorRegistry, pool: SlotPool) -> None:
        self.requests = Counter(
            "engine_requests", "Completion requests by outcome.", ["outcome"], registry=registry
        )
        for outcome in OUTCOMES:
            self.requests.labels(outcome)
        self.ttft = Histogram(
            "engine_ttft_seconds",
            "Arrival to first token, queue wait included.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.duration = Histogram(
            "engine_request_duration_seconds",
            "Arrival to last token of successful completions.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "engine_queue_wait_seconds",
            "Time spent waiting for a slot.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.tokens = Counter(
            "engine_tokens", "Tokens processed, by kind.", ["kind"], registry=registry
        )
        self.prompt_tokens = self.tokens.labels("prompt")
        self.completion_tokens = self.tokens.labels("completion")
        Gauge("engine_queue_depth", "Requests waiting for a slot.", registry=registry).set_function(
            lambda: pool.queue_depth
        )
        Gauge("engine_slots_busy", "Slots generating now.", registry=registry).set_function(
            lambda: pool.busy
        )
        Gauge("engine_slots_total", "Slots in the pool.", registry=registry).set(pool.slots)
        Gauge("engine_queue_max", "Capacity of the wait queue.", registry=registry).set(
            pool.queue_max
        )
        self.outcome = {outcome: self.requests.labels(outcome) for outcome in OUTCOMES}


def default_collectors(registry: CollectorRegistry) -> None:
    """Register the standard process, platform and GC collectors on `registry`."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
