"""Request and response bodies of the research endpoints (limits declared on the fields)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from target_service.api.research.store import JobRecord, JobState

MAX_DEPTH = 5
MAX_QUESTION_CHARS = 2000

# Not stripped: a value the schema accepts must be accepted (schemathesis checks it).
Question = Annotated[
    str, StringConstraints(min_length=3, max_length=MAX_QUESTION_CHARS, pattern=r"\S")
]


class ResearchRequest(BaseModel):
    """A research question; `depth` is the number of retrieval steps."""

    model_config = ConfigDict(extra="forbid")

    question: Question = Field(examples=["How do I parse a CSV file with a header row?"])
    depth: int = Field(default=2, ge=1, le=MAX_DEPTH)


class Citation(BaseModel):
    """One standard-library docstring the answer rests on."""

    source: str = Field(examples=["csv.reader"])
    title: str
    snippet: str
    score: float


class ResearchResult(BaseModel):
    """The answer of a finished job."""

    answer: str
    citations: list[Citation]


class JobAccepted(BaseModel):
    """The 202 answer to a submission."""

    job_id: str
    status: Literal["queued"] = "queued"
    poll_url: str


class JobStatus(BaseModel):
    """A job as its owner sees it."""

    job_id: str
    status: JobState
    question: str
    depth: int
    result: ResearchResult | None = None
    error: str | None = None
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    deadline_at: datetime

    @classmethod
    def from_record(cls, record: JobRecord) -> JobStatus:
        result: dict[str, Any] | None = record.result
        return cls(
            job_id=record.id,
            status=record.state,
            question=record.question,
            depth=record.depth,
            result=ResearchResult.model_validate(result) if result is not None else None,
            error=record.error,
            attempts=record.attempts,
            created_at=_utc(record.created_at),
            started_at=_utc(record.started_at) if record.started_at is not None else None,
            finished_at=_utc(record.finished_at) if record.finished_at is not None else None,
            deadline_at=_utc(record.deadline),
        )


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
