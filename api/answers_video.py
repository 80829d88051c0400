"""Answers of the video job API: the 202 of ``POST /video/*``, a job's status, lists and uploads."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.answers import Answer


class JobUrls(Answer):
    status_url: str = Field(description="GET it for the job's status (absolute, from TUBEFLOW_PUBLIC_BASE_URL)")
    events_url: str = Field(description="the job's events as Server-Sent Events")
    websocket_url: str = Field(description="the same events over a WebSocket")


class QueueOut(Answer):
    backlog: int = Field(description="GPU tasks waiting in the queue ahead of this job")
    workers: int = Field(description="GPU workers polling the queue")


class JobAccepted(JobUrls):
    """A job was queued: follow it at its URLs."""

    job_id: str
    status: Literal["queued"]
    estimated_wait_s: float = Field(description="seconds until a GPU worker is expected to start it")
    estimated_run_s: float = Field(description="seconds the work itself is expected to take")
    queue: QueueOut
    workflow_id: str


class BatchJob(JobAccepted):
    index: int
    op: str
    accepted: Literal[True]


class BatchRefused(Answer):
    index: int
    op: str
    accepted: Literal[False]
    status_code: int = Field(description="the status this operation would have got on its own")
    error: str


class BatchAccepted(Answer):
    accepted: int
    refused: int
    jobs: list[BatchJob | BatchRefused] = Field(description="one per operation, in order")


class CallbackSecret(Answer):
    secret: str
    header: str
    scheme: str


class JobRow(Answer):
    job_id: str
    status: Literal["active", "completed", "failed"]
    created_at: str
    finished_at: str | None
    status_url: str


class JobList(Answer):
    jobs: list[JobRow]
    next_page_token: str | None = Field(description="pass it as ?page_token= for the next page; null on the last")


class ProgressDetail(Answer):
    percent: float
    out_time_s: float | None = Field(description="seconds of output FFmpeg has written")
    frames: int | None
    speed: float | None = Field(description="FFmpeg's speed: output seconds per second")


class JobTiming(Answer):
    created_at: str | None
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    queued_s: float | None
    elapsed_s: float | None


class JobCheckpoint(Answer):
    saved: list[dict[str, Any]] = Field(description="the checkpoints the job's attempts saved")
    resume_count: int
    workers: list[str]
    last_resume: dict[str, Any] | None


class JobCost(Answer):
    gpu_seconds: float
    usd: float


class JobStatus(JobUrls):
    """A job's status (README, "Video job status")."""

    job_id: str
    op: str
    status: str = Field(description="queued | running | retrying | completed | failed")
    progress: float = Field(description="percent, 0..100")
    progress_detail: ProgressDetail
    timing: JobTiming
    checkpoint: JobCheckpoint
    resume_count: int
    output_key: str | None
    error: str | None
    cost: JobCost | None
    callback: str | None = Field(description="pending | delivered | failed: <why>; null when none was asked")
    last_event_id: int
    output_url: str | None


class UploadTicket(Answer):
    key: str
    upload_url: str
    method: str
    headers: dict[str, str] = Field(description="headers the PUT must carry")
    use_as: str = Field(description="name the upload as this in a job's URL field")


class UploadDone(Answer):
    key: str
    size: int
    content_type: str
    use_as: str
