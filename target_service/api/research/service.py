"""Research jobs: durable submission, a bounded worker pool, cancellation, deadlines, recovery.

    service = ResearchService(settings, engine, metrics)
    await service.start()     open SQLite, load the corpus, recover unfinished jobs, start workers
    await service.submit(key_id, question, depth) -> JobRecord      written before it returns
    await service.get(key_id, job_id) / await service.cancel(key_id, job_id) -> JobRecord | None
    service.counts() -> {"queued": n, ...}
    await service.stop()      workers stop; running jobs stay `running` and resume on next start

Raises `JobQueueFull` from `submit` when `research_queue_max` jobs are already queued.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from target_service.api.engine_protocol import (
    EngineCaller,
    EngineError,
    EngineSaturated,
    EngineTimeout,
)
from target_service.api.metrics import AgentMetrics
from target_service.api.research.corpus import load_corpus
from target_service.api.research.pipeline import run_research
from target_service.api.research.retrieval import Bm25Index
from target_service.api.research.store import UNFINISHED, JobRecord, JobState, JobStore
from target_service.api.settings import AgentSettings

log = logging.getLogger("target_service.research")

AGENT = "research"
MAX_POLL_HINT_S = 10
_JOB_ID = re.compile(r"[0-9a-f]{32}")


class JobQueueFull(Exception):
    """Too many jobs are queued; the client should retry after `retry_after_s`."""

    def __init__(self, queued: int, retry_after_s: int) -> None:
        super().__init__(f"research queue is full ({queued} jobs queued)")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class ResearchSettings:
    """The research part of `AgentSettings`."""

    db_path: Path
    workers: int = 4
    queue_max: int = 1000
    job_timeout_s: float = 120.0
    passages: int = 3
    max_tokens: int = 96
    corpus_cache: Path | None = None
    max_attempts: int = 3
    retry_after_s: int = 1

    @classmethod
    def from_agent(cls, s: AgentSettings) -> ResearchSettings:
        return cls(
            db_path=s.db_path,
            workers=s.research_workers,
            queue_max=s.research_queue_max,
            job_timeout_s=s.research_job_timeout_s,
            passages=s.research_passages,
            max_tokens=s.research_max_tokens,
            corpus_cache=s.research_corpus_cache,
            retry_after_s=s.overload_retry_after_s,
        )


class ResearchService:
    """Owns the job store, the corpus index and the workers."""

    def __init__(
        self,
        settings: AgentSettings | ResearchSettings,
        engine: EngineCaller,
        metrics: AgentMetrics,
    ) -> None:
        if isinstance(settings, AgentSettings):
            settings = ResearchSettings.from_agent(settings)
        self.settings = settings
        self._engine = engine
        self._metrics = metrics
        self._store = JobStore(settings.db_path)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._counts = dict.fromkeys(JobState, 0)
        self._index: Bm25Index | None = None
        self._call_s = 0.5  # moving average of one pipeline call's share of a job's run time

    async def start(self) -> None:
        await self._store.open()
        passages = await asyncio.to_thread(load_corpus, self.settings.corpus_cache)
        self._index = await asyncio.to_thread(Bm25Index, passages)
        log.info("research corpus: %d passages", len(self._index))
        self._counts = await self._store.counts()
        for state, n in self._counts.items():
            self._metrics.research_jobs.labels(state=state.value).set(n)
        await self._recover()
        self._workers = [
            asyncio.create_task(self._worker(), name=f"research-worker-{i}")
            for i in range(self.settings.workers)
        ]

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()
        await self._store.close()

    def counts(self) -> dict[str, int]:
        """Jobs by state (all jobs in the store)."""
        return {state.value: n for state, n in self._counts.items()}

    def poll_after(self, record: JobRecord) -> int:
        """Whole seconds until an unfinished job is likely done (0: any moment now)."""
        job_s = self._call_s * (record.depth + 1)
        if record.state is JobState.RUNNING and record.started_at is not None:
            remaining = job_s - (time.time() - record.started_at)
        else:
            remaining = job_s * (1 + self._counts[JobState.QUEUED] / self.settings.workers)
        return max(0, min(MAX_POLL_HINT_S, int(remaining)))

    async def submit(self, key_id: str, question: str, depth: int) -> JobRecord:
        """Store a new queued job (durably) and hand it to the workers."""
        queued = self._counts[JobState.QUEUED]
        if queued >= self.settings.queue_max:
            self._outcome("rejected")
            raise JobQueueFull(queued, self.settings.retry_after_s)
        self._moved(None, JobState.QUEUED)  # reserve the queue place before awaiting
        now = time.time()
        record = JobRecord(
            id=uuid.uuid4().hex,
            key_id=key_id,
            question=question,
            depth=depth,
            state=JobState.QUEUED,
            created_at=now,
            deadline=now + self.settings.job_timeout_s,
        )
        # Shielded: once the row is written the job is queued, even if the request goes away.
        await asyncio.shield(self._persist(record))
        return record

    async def _persist(self, record: JobRecord) -> None:
        try:
            await self._store.insert(record)
        except BaseException:
            self._moved(JobState.QUEUED, None)
            raise
        self._queue.put_nowait(record.id)

    async def get(self, key_id: str, job_id: str) -> JobRecord | None:
        """The job if it exists and belongs to `key_id`."""
        if not _JOB_ID.fullmatch(job_id):
            return None  # not an id this service hands out: unknown, without asking SQLite
        record = await self._store.get(job_id)
        return record if record is not None and record.key_id == key_id else None

    async def cancel(self, key_id: str, job_id: str) -> JobRecord | None:
        """Cancel an unfinished job of `key_id`; terminal jobs are returned unchanged."""
        record = await self.get(key_id, job_id)
        if record is None or record.state.terminal:
            return record
        now = time.time()
        previous = await self._store.transition(
            job_id, UNFINISHED, JobState.CANCELLED, finished_at=now, error="cancelled by the client"
        )
        if previous is not None:
            self._finished(record, previous, JobState.CANCELLED, now, outcome=None)
            if previous is JobState.RUNNING:
                self._cancelled.add(job_id)
                if job_id in self._running:
                    self._running[job_id].cancel()
        return await self._store.get(job_id)

    async def _recover(self) -> None:
        """Re-queue unfinished jobs from a previous run, or fail those past their deadline."""
        now = time.time()
        for record in await self._store.unfinished():
            if now >= record.deadline:
                reason = "timeout: the job's deadline passed while the service was down"
                await self._fail(record, UNFINISHED, reason, "timeout")
            elif record.state is JobState.RUNNING and record.attempts >= self.settings.max_attempts:
                reason = f"error: gave up after {record.attempts} attempts interrupted by restarts"
                await self._fail(record, UNFINISHED, reason, "error")
            else:
                if record.state is JobState.RUNNING:
                    await self._store.transition(record.id, {JobState.RUNNING}, JobState.QUEUED)
                    self._moved(JobState.RUNNING, JobState.QUEUED)
                self._queue.put_nowait(record.id)
        log.info("research jobs recovered: %s", self.counts())

    async def _worker(self) -> None:
        while True:
            job_id = await self._queue.get()
            try:
                await self._run(job_id)
            except Exception:
                log.exception("research worker failed on job %s", job_id)
            finally:
                self._queue.task_done()

    async def _run(self, job_id: str) -> None:
        record = await self._store.get(job_id)
        if record is None or record.state is not JobState.QUEUED:
            return  # cancelled while queued
        now = time.time()
        if now >= record.deadline:
            reason = "timeout: the job's deadline passed while it was queued"
            await self._fail(record, {JobState.QUEUED}, reason, "timeout")
            return
        attempts = record.attempts + 1
        moved = await self._store.transition(
            job_id, {JobState.QUEUED}, JobState.RUNNING, started_at=now, attempts=attempts
        )
        if moved is None:
            return
        self._moved(JobState.QUEUED, JobState.RUNNING)
        if job_id in self._cancelled:  # cancelled between the two writes above
            self._cancelled.discard(job_id)
            return
        task = asyncio.create_task(self._execute(record, now))
        self._running[job_id] = task
        try:
            await task
        except asyncio.CancelledError:
            if job_id not in self._cancelled:
                raise  # shutting down: the job stays `running` and resumes on restart
        finally:
            self._running.pop(job_id, None)
            self._cancelled.discard(job_id)

    async def _execute(self, record: JobRecord, started: float) -> None:
        assert self._index is not None
        remaining = record.deadline - time.time()
        try:
            async with asyncio.timeout(remaining):
                result = await run_research(
                    record.question,
                    record.depth,
                    self._engine,
                    self._index,
                    passages=self.settings.passages,
                    max_tokens=self.settings.max_tokens,
                )
        except Exception as exc:  # every failure ends the job with a reason
            reason, outcome = self._failure(exc, record.id)
            await self._fail(record, {JobState.RUNNING}, reason, outcome)
        else:
            now = time.time()
            previous = await self._store.transition(
                record.id,
                {JobState.RUNNING},
                JobState.SUCCEEDED,
                finished_at=now,
                result=result.model_dump(),
            )
            if previous is not None:
                share = (now - started) / (record.depth + 1)
                self._call_s = 0.8 * self._call_s + 0.2 * share
                outcome = "success" if result.citations else "invalid"
                self._finished(record, previous, JobState.SUCCEEDED, now, outcome)

    def _failure(self, exc: Exception, job_id: str) -> tuple[str, str]:
        """The job's error text and the task outcome for a pipeline failure."""
        if isinstance(exc, TimeoutError):
            return f"timeout: job deadline of {self.settings.job_timeout_s:g}s exceeded", "timeout"
        if isinstance(exc, EngineSaturated):
            return f"engine saturated: {exc.reason}", "rejected"
        if isinstance(exc, EngineTimeout):
            return f"engine timeout: {exc.reason}", "timeout"
        if isinstance(exc, EngineError):
            return f"engine error: {exc.reason}", "error"
        log.exception("research job %s failed", job_id, exc_info=exc)
        return f"internal error: {type(exc).__name__}", "error"

    async def _fail(
        self,
        record: JobRecord,
        from_states: frozenset[JobState] | set[JobState],
        reason: str,
        outcome: str,
    ) -> None:
        now = time.time()
        previous = await self._store.transition(
            record.id, from_states, JobState.FAILED, finished_at=now, error=reason
        )
        if previous is not None:
            self._finished(record, previous, JobState.FAILED, now, outcome)

    def _finished(
        self,
        record: JobRecord,
        previous: JobState,
        state: JobState,
        now: float,
        outcome: str | None,
    ) -> None:
        self._moved(previous, state)
        self._metrics.research_job_duration.observe(max(0.0, now - record.created_at))
        if outcome is not None:
            self._outcome(outcome)

    def _moved(self, previous: JobState | None, state: JobState | None) -> None:
        """Count a job leaving `previous` and entering `state` (None: not a stored job)."""
        if previous is not None:
            self._counts[previous] -= 1
            self._metrics.research_jobs.labels(state=previous.value).dec()
        if state is not None:
            self._counts[state] += 1
            self._metrics.research_jobs.labels(state=state.value).inc()

    def _outcome(self, outcome: str) -> None:
        self._metrics.task_outcomes.labels(agent=AGENT, outcome=outcome).inc()
