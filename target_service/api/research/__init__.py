"""Scenario C: deep-research jobs (corpus, BM25 retrieval, SQLite job store, pipeline, service)."""

from target_service.api.research.service import JobQueueFull, ResearchService, ResearchSettings

__all__ = ["JobQueueFull", "ResearchService", "ResearchSettings"]
