"""The research job store: one SQLite table, written through before a job is acknowledged.

The standard library's `sqlite3` runs in worker threads (`asyncio.to_thread`) behind one lock on
one connection, in WAL mode with autocommit, so every write is durable once the call returns
(a killed process loses nothing that was acknowledged). State changes are conditional updates
(`UPDATE ... WHERE state IN (...)`), which makes racing transitions (cancel vs. finish) safe.

    store = JobStore(path); await store.open()
    await store.insert(record); await store.get(job_id)
    await store.transition(job_id, {JobState.QUEUED}, JobState.RUNNING, started_at=t)
        -> the previous state, or None if the job was in none of the given states
    await store.unfinished(); await store.counts(); await store.close()
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any


class JobState(StrEnum):
    """The life of a research job: queued -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
UNFINISHED = frozenset({JobState.QUEUED, JobState.RUNNING})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS research_jobs (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    question TEXT NOT NULL,
    depth INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    deadline REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS research_jobs_state ON research_jobs (state);
"""
_COLUMNS = (
    "id, key_id, question, depth, state, created_at, deadline, started_at, finished_at, "
    "attempts, result, error"
)
_UPDATABLE = frozenset({"started_at", "finished_at", "attempts", "result", "error"})


@dataclass(frozen=True)
class JobRecord:
    """One row of the job table; `key_id` is the hashed API key id, never the key."""

    id: str
    key_id: str
    question: str
    depth: int
    state: JobState
    created_at: float
    deadline: float
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    result: dict[str, Any] | None = None
    error: str | None = None


class JobStore:
    """Async access to the SQLite job table."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        await asyncio.to_thread(self._open)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def insert(self, record: JobRecord) -> None:
        await asyncio.to_thread(self._insert, record)

    async def get(self, job_id: str) -> JobRecord | None:
        return await asyncio.to_thread(self._get, job_id)

    async def transition(
        self, job_id: str, from_states: Collection[JobState], to: JobState, **fields: Any
    ) -> JobState | None:
        """Move a job to `to` if it is in one of `from_states`; its previous state, or None."""
        return await asyncio.to_thread(self._transition, job_id, from_states, to, fields)

    async def unfinished(self) -> list[JobRecord]:
        """Queued and running jobs, oldest first."""
        return await asyncio.to_thread(self._unfinished)

    async def counts(self) -> dict[JobState, int]:
        return await asyncio.to_thread(self._counts)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(_SCHEMA)
        self._conn = conn

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("job store is not open")
        return self._conn

    def _insert(self, r: JobRecord) -> None:
        row = (
            r.id, r.key_id, r.question, r.depth, r.state.value, r.created_at, r.deadline,
            r.started_at, r.finished_at, r.attempts, _dump(r.result), r.error,
        )  # fmt: skip
        with self._lock:
            self._db().execute(f"INSERT INTO research_jobs ({_COLUMNS}) VALUES ({_marks(12)})", row)

    def _get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            row = (
                self._db()
                .execute(f"SELECT {_COLUMNS} FROM research_jobs WHERE id = ?", (job_id,))
                .fetchone()
            )
        return _record(row) if row else None

    def _transition(
        self, job_id: str, from_states: Collection[JobState], to: JobState, fields: dict[str, Any]
    ) -> JobState | None:
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update job fields {sorted(unknown)}")
        values = {k: _dump(v) if k == "result" else v for k, v in fields.items()}
        sets = ", ".join(["state = ?", *(f"{k} = ?" for k in values)])
        states = [s.value for s in from_states]
        sql = f"UPDATE research_jobs SET {sets} WHERE id = ? AND state IN ({_marks(len(states))})"
        with self._lock:  # one connection, one lock: nothing runs between the read and the write
            db = self._db()
            row = db.execute("SELECT state FROM research_jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row[0] not in states:
                return None
            db.execute(sql, (to.value, *values.values(), job_id, *states))
        return JobState(row[0])

    def _unfinished(self) -> list[JobRecord]:
        sql = f"SELECT {_COLUMNS} FROM research_jobs WHERE state IN (?, ?) ORDER BY created_at, id"
        with self._lock:
            rows = self._db().execute(sql, (JobState.QUEUED.value, JobState.RUNNING.value))
            return [_record(row) for row in rows.fetchall()]

    def _counts(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        with self._lock:
            rows = self._db().execute("SELECT state, COUNT(*) FROM research_jobs GROUP BY state")
            for state, n in rows.fetchall():
                counts[JobState(state)] = int(n)
        return counts


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"))


def _record(row: tuple[Any, ...]) -> JobRecord:
    (job_id, key_id, question, depth, state, created, deadline, started, finished, attempts,
     result, error) = row  # fmt: skip
    return JobRecord(
        id=job_id, key_id=key_id, question=question, depth=int(depth), state=JobState(state),
        created_at=created, deadline=deadline, started_at=started, finished_at=finished,
        attempts=int(attempts), result=json.loads(result) if result else None, error=error,
    )  # fmt: skip
