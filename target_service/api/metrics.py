"""Prometheus metrics of the agent API, all on one registry passed in (a fresh one per app).

Names and labels are a contract (dashboards, alerts and the suite query them):

    agent_http_request_duration_seconds{route,method,status}   route is the template
    agent_http_requests_in_flight
    agent_task_outcomes_total{agent,outcome}                   agent: status|codegen|research
    agent_research_job_duration_seconds                        submit -> terminal state
    agent_research_jobs{state}
    agent_engine_request_duration_seconds{outcome}
    agent_engine_ttft_seconds
    agent_engine_tokens_total{kind}                            kind: prompt|completion
    agent_cache_requests_total{result}                         result: hit|miss
    agent_circuit_breaker_state                                0 closed, 1 open, 2 half-open
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector

from target_service.buckets import JOB_BUCKETS, LATENCY_BUCKETS

AGENTS = ("status", "codegen", "research")
OUTCOMES = ("success", "invalid", "error", "timeout", "rejected")
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")

HTTP_BUCKETS = LATENCY_BUCKETS  # 1 ms to 120 s, at most 10 % apart (target_service.buckets)
ENGINE_BUCKETS = LATENCY_BUCKETS

__all__ = ["AGENTS", "OUTCOMES", "JOB_STATES", "AgentMetrics", "HTTP_BUCKETS"]


class AgentMetrics:
    """Every metric of the agent API, registered on `registry` (plus process collectors)."""

    def __init__(self, registry: CollectorRegistry, *, process_collectors: bool = True) -> None:
        self.registry = registry
        if process_collectors:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
            GCCollector(registry=registry)
        self.http_duration = Histogram(
            "agent_http_request_duration_seconds",
            "HTTP request duration by route template, method and status.",
            ("route", "method", "status"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "agent_http_requests_in_flight", "HTTP requests being served.", registry=registry
        )
        self.task_outcomes = Counter(
            "agent_task_outcomes_total",
            "Agent tasks by agent and outcome.",
            ("agent", "outcome"),
            registry=registry,
        )
        self.research_job_duration = Histogram(
            "agent_research_job_duration_seconds",
            "Research job duration from submission to a terminal state.",
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.research_jobs = Gauge(
            "agent_research_jobs", "Research jobs by state.", ("state",), registry=registry
        )
        self.engine_duration = Histogram(
            "agent_engine_request_duration_seconds",
            "Engine calls as seen by the agent API (retries included), by outcome.",
            ("outcome",),
            buckets=ENGINE_BUCKETS,
            registry=registry,
        )
        self.engine_ttft = Histogram(
            "agent_engine_ttft_seconds",
            "Time to the engine's first token.",
            buckets=ENGINE_BUCKETS,
            registry=registry,
        )
        self.engine_tokens = Counter(
            "agent_engine_tokens_total", "Tokens through the engine.", ("kind",), registry=registry
        )
        self.cache_requests = Counter(
            "agent_cache_requests_total",
            "Prompt cache look-ups by result.",
            ("result",),
            registry=registry,
        )
        self.breaker_state = Gauge(
            "agent_circuit_breaker_state",
            "Engine circuit breaker: 0 closed, 1 open, 2 half-open.",
            registry=registry,
        )
        self._prime()
        self.status_success = self.task_outcomes.labels(agent="status", outcome="success")

    def _prime(self) -> None:
        """Create every known label set at zero so dashboards see series before traffic."""
        for agent in AGENTS:
            for outcome in OUTCOMES:
                self.task_outcomes.labels(agent=agent, outcome=outcome)
        for state in JOB_STATES:
            self.research_jobs.labels(state=state)
        for kind in ("prompt", "completion"):
            self.engine_tokens.labels(kind=kind)
        for result in ("hit", "miss"):
            self.cache_requests.labels(result=result)
        self.breaker_state.set(0)
