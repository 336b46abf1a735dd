"""Research parts without a server: the stdlib corpus, BM25 retrieval, the SQLite job store."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from target_service.api.research.corpus import build_corpus, cache_path, load_corpus
from target_service.api.research.pipeline import plan_queries
from target_service.api.research.retrieval import Bm25Index, tokenize
from target_service.api.research.schemas import JobStatus, ResearchRequest
from target_service.api.research.store import JobRecord, JobState, JobStore


@pytest.fixture(scope="module")
def corpus():
    return build_corpus()


@pytest.fixture(scope="module")
def index(corpus):
    return Bm25Index(corpus)


def test_corpus_holds_stdlib_docstrings(corpus):
    """The corpus has thousands of passages named module.function, with real docstrings."""
    sources = {p.source for p in corpus}
    assert len(corpus) > 1000
    assert {"json.loads", "csv.reader", "heapq.heappush", "subprocess.run"} <= sources
    loads = next(p for p in corpus if p.source == "json.loads")
    assert "JSON" in loads.text and loads.title.startswith("loads(")


def test_corpus_is_cached_per_python_version(tmp_path):
    """The first load writes the cache file; the next load reads the same passages from it."""
    modules = ("json", "heapq")
    path = cache_path(tmp_path, modules)
    assert "py3." in path.name
    first = load_corpus(tmp_path, modules)
    assert path.exists()
    cached = json.loads(path.read_text())["passages"]
    assert [p["source"] for p in cached] == [p.source for p in first]
    assert load_corpus(tmp_path, modules) == first


def test_corrupt_cache_is_rebuilt(tmp_path):
    """A damaged cache file is ignored and replaced."""
    modules = ("heapq",)
    path = cache_path(tmp_path, modules)
    path.write_text("{not json")
    passages = load_corpus(tmp_path, modules)
    assert any(p.source == "heapq.heappush" for p in passages)
    assert json.loads(path.read_text())["passages"]


def test_tokenize_drops_stop_words_and_splits_snake_case():
    """Stop words go; snake_case names keep the whole name and add their parts."""
    assert tokenize("How is the default_factory used?") == [
        "default_factory", "default", "factory",
    ]  # fmt: skip


def test_bm25_ranks_the_relevant_module_first(index):
    """Questions about a module retrieve that module's docstrings, best score first."""
    hits = index.search("parse a CSV file and read rows as dictionaries", k=3)
    assert [h.passage.source.split(".")[0] for h in hits] == ["csv"] * 3
    assert hits[0].score >= hits[1].score >= hits[2].score > 0
    hits = index.search("push an item onto a heap priority queue", k=2)
    assert hits[0].passage.source.startswith("heapq")


def test_bm25_excludes_sources_and_handles_empty_queries(index):
    """Excluded sources are skipped; a query of stop words only finds nothing."""
    first = index.search("run a subprocess with a timeout", k=2)
    again = index.search("run a subprocess with a timeout", k=2, exclude={first[0].passage.source})
    assert first[0].passage.source not in {h.passage.source for h in again}
    assert again[0] == first[1]
    assert index.search("the of and", k=3) == []
    assert len(first[0].snippet) <= 285


def test_plan_queries_make_one_query_per_step():
    """Each step query is the question plus a distinct plan line; short plans are padded."""
    plan = "1. csv reader dialect\n2. csv writer quoting\n2. csv writer quoting"
    assert plan_queries("read csv", plan, 2) == [
        "read csv csv reader dialect", "read csv csv writer quoting",
    ]  # fmt: skip
    assert plan_queries("read csv", "ok", 3) == ["read csv"] * 3


def test_request_limits():
    """Question length and depth are bounded; unknown fields are refused."""
    assert ResearchRequest(question="  what is heapq  ").depth == 2
    for bad in (
        {"question": "hi"},
        {"question": " \n\t "},
        {"question": "x" * 2001},
        {"question": "what is heapq", "depth": 0},
        {"question": "what is heapq", "depth": 6},
        {"question": "what is heapq", "extra": 1},
    ):
        with pytest.raises(ValueError):
            ResearchRequest.model_validate(bad)


def _record(job_id: str, state: JobState = JobState.QUEUED, created: float = 0.0) -> JobRecord:
    now = created or time.time()
    return JobRecord(job_id, "key1", "what is heapq", 2, state, now, now + 60)


def test_store_transitions_are_conditional(tmp_path):
    """A transition applies only from the given states and returns the previous state."""

    async def scenario():
        store = JobStore(tmp_path / "jobs.sqlite")
        await store.open()
        await store.insert(_record("a"))
        assert await store.transition("a", {JobState.RUNNING}, JobState.SUCCEEDED) is None
        moved = await store.transition("a", {JobState.QUEUED}, JobState.RUNNING, attempts=1)
        assert moved is JobState.QUEUED
        result = {"answer": "x", "citations": []}
        assert await store.transition(
            "a", {JobState.RUNNING}, JobState.SUCCEEDED, result=result, finished_at=1.0
        ) is JobState.RUNNING  # fmt: skip
        assert await store.transition("a", {JobState.RUNNING}, JobState.CANCELLED) is None
        assert await store.transition("missing", {JobState.QUEUED}, JobState.RUNNING) is None
        record = await store.get("a")
        await store.close()
        return record

    record = asyncio.run(scenario())
    assert record.state is JobState.SUCCEEDED and record.attempts == 1
    assert record.result == {"answer": "x", "citations": []}
    assert JobStatus.from_record(record).result.answer == "x"


def test_store_keeps_jobs_across_reopen(tmp_path):
    """Written jobs survive closing the store; unfinished ones come back oldest first."""
    path = tmp_path / "jobs.sqlite"

    async def write():
        store = JobStore(path)
        await store.open()
        await store.insert(_record("late", created=200.0))
        await store.insert(_record("early", JobState.RUNNING, created=100.0))
        await store.insert(_record("done", JobState.FAILED, created=50.0))
        await store.close()

    async def read():
        store = JobStore(path)
        await store.open()
        try:
            return await store.unfinished(), await store.counts()
        finally:
            await store.close()

    asyncio.run(write())
    unfinished, counts = asyncio.run(read())
    assert [r.id for r in unfinished] == ["early", "late"]
    assert counts[JobState.QUEUED] == 1 and counts[JobState.RUNNING] == 1
    assert counts[JobState.FAILED] == 1 and counts[JobState.SUCCEEDED] == 0


def test_store_refuses_unknown_fields(tmp_path):
    """Only the mutable columns can be changed by a transition."""

    async def scenario():
        store = JobStore(tmp_path / "jobs.sqlite")
        await store.open()
        try:
            await store.insert(_record("a"))
            await store.transition("a", {JobState.QUEUED}, JobState.RUNNING, key_id="other")
        finally:
            await store.close()

    with pytest.raises(ValueError, match="key_id"):
        asyncio.run(scenario())
