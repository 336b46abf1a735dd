"""Scenario C: submit a research job, poll it, cancel it.

    POST   /v1/agents/research   {"question", "depth"} -> 202 {"job_id", "status", "poll_url"}
    GET    /v1/jobs/{job_id}     -> JobStatus (Retry-After: expected seconds left, while unfinished)
    DELETE /v1/jobs/{job_id}     -> JobStatus (cancelled; a terminal job is returned unchanged)

A job is visible only to the key that created it: anyone else gets the same 404 as for an
unknown job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status

from target_service.api.deps import ClientKey, Faults
from target_service.api.research.schemas import JobAccepted, JobStatus, ResearchRequest
from target_service.api.research.service import JobQueueFull, ResearchService
from target_service.api.research.store import JobRecord
from target_service.api.schemas import ErrorBody


async def get_research(request: Request) -> ResearchService:
    """The research service the app started (async: no thread-pool hop on every poll)."""
    research: ResearchService = request.app.state.research
    return research


Research = Annotated[ResearchService, Depends(get_research)]
JobId = Annotated[str, Path(min_length=1, max_length=64, description="The id from the 202.")]

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such job for this API key"},
}
_SUBMIT_ERRORS: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorBody, "description": "Too many queued jobs; retry after Retry-After"},
    500: {"model": ErrorBody, "description": "Injected fault (AGENT_FAULT_ERROR_RATE)"},
}

router = APIRouter(tags=["research"])


@router.post(
    "/v1/agents/research",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_SUBMIT_ERRORS,
)
async def submit_research(
    body: ResearchRequest,
    key: ClientKey,
    research: Research,
    response: Response,
    faults: Faults,
) -> JobAccepted:
    """Accept a research job; it is stored before this answers and runs in the background."""
    await faults.apply("research")
    try:
        record = await research.submit(key, body.question, body.depth)
    except JobQueueFull as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from exc
    poll_url = f"/v1/jobs/{record.id}"
    response.headers["Location"] = poll_url
    return JobAccepted(job_id=record.id, poll_url=poll_url)


@router.get("/v1/jobs/{job_id}", responses=_NOT_FOUND)
async def get_job(
    job_id: JobId, key: ClientKey, research: Research, response: Response
) -> JobStatus:
    """The job's state, and its result or error once it has finished."""
    return _status(research, await research.get(key, job_id), response)


@router.delete("/v1/jobs/{job_id}", responses=_NOT_FOUND)
async def cancel_job(
    job_id: JobId, key: ClientKey, research: Research, response: Response
) -> JobStatus:
    """Cancel a queued or running job; a finished job is returned unchanged."""
    return _status(research, await research.cancel(key, job_id), response)


def _status(research: ResearchService, record: JobRecord | None, response: Response) -> JobStatus:
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "job not found")
    if not record.state.terminal:  # a polling hint: the job's expected time left, whole seconds
        response.headers["Retry-After"] = str(research.poll_after(record))
    return JobStatus.from_record(record)
