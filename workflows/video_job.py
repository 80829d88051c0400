"""VideoJobWorkflow: one standalone video operation (caption, img2vid, addaudio) on the GPU queue.

The workflow retries the activity itself (one attempt per activity execution) so that the
``status`` query can say how many times the job was resumed and whether it is retrying now; a
non-retryable failure (a corrupt input) ends the job at once with the activity's message.
It also keeps the job's durable events (queued, started, checkpoint, resumed, complete, error)
for the API's live stream: each attempt's worker sends one ``started`` report naming itself, a
failed attempt's worker and last heartbeat come from the ActivityError.  Progress itself is not
signalled (a signal per second would bloat the history); the API reads it from the heartbeats.
Deterministic code only: times come from workflow.now().
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from workflows.activity_calls import TaskQueues, execute

with workflow.unsafe.imports_passed_through():
    from tubeflow.activity_defs import VIDEO_JOB_CALLBACK, VIDEO_OP_ACTIVITIES
    from tubeflow.contracts import QUERY_STATUS, SIGNAL_PROGRESS, VIDEO_JOB_WORKFLOW, ProgressReport
    from tubeflow.job_contracts import (
        VIDEO_OPS,
        CallbackRequest,
        JobEvent,
        VideoJobInput,
        VideoJobResult,
        VideoJobStatus,
    )

STARTED = "started"  # ProgressReport.stage a video activity sends once per attempt


def _reached(e: ActivityError) -> float:
    """How far the failed attempt had encoded, from its last heartbeat (0 when unknown)."""
    cause = e.cause
    details = cause.last_heartbeat_details if isinstance(cause, TimeoutError) else ()
    for d in details:
        if isinstance(d, dict) and isinstance(d.get("progress"), dict):
            return float(d["progress"].get("fraction", 0.0))
    return 0.0


@workflow.defn(name=VIDEO_JOB_WORKFLOW)
class VideoJobWorkflow:
    def __init__(self) -> None:
        self._status = VideoJobStatus(job_id="", op="")
        self._attempt = 0
        self._announced = 0  # the last attempt whose started/resumed event was recorded
        self._failure: dict[str, Any] = {}

    def _event(self, kind: str, **data: Any) -> None:
        s = self._status
        s.events.append(JobEvent(id=len(s.events) + 1, type=kind, at=workflow.now().isoformat(), data=data))

    def _announce(self, worker: str) -> None:
        """The current attempt's worker started: a ``started`` event, or ``resumed`` after a failure."""
        if self._announced >= self._attempt:
            return
        self._announced = self._attempt
        s = self._status
        if worker:
            s.workers.append(worker)
        s.state, s.running_since = "running", workflow.now().isoformat()
        if not s.started_at:
            s.started_at = s.running_since
        if self._attempt == 1:
            self._event("started", attempt=1, worker=worker)
        else:
            self._event("resumed", attempt=self._attempt, worker=worker, **self._failure)

    @workflow.run
    async def run(self, inp: VideoJobInput) -> VideoJobResult:
        s = self._status
        s.job_id, s.op = inp.job_id, inp.op
        s.created_at = workflow.info().start_time.isoformat()
        if inp.op not in VIDEO_OPS:
            s.state, s.error = "failed", f"unknown operation {inp.op!r}; use one of {', '.join(VIDEO_OPS)}"
            raise ApplicationError(s.error, type="PermanentError", non_retryable=True)
        arg = getattr(inp, inp.op)
        if arg is None:
            s.state, s.error = "failed", f"operation {inp.op!r} needs its '{inp.op}' parameters"
            raise ApplicationError(s.error, type="PermanentError", non_retryable=True)
        s.state, s.queued_at = "queued", workflow.now().isoformat()
        inputs = {k: v for k, v in vars(arg).items() if k.endswith("_key") and k != "output_key"}
        self._event("queued", op=inp.op, gpu_queue=inp.gpu_queue)
        self._event("checkpoint", saved="inputs", keys=inputs)
        while True:
            self._attempt += 1
            try:
                result = await execute(
                    VIDEO_OP_ACTIVITIES[inp.op],
                    arg,
                    TaskQueues(main=workflow.info().task_queue, gpu=inp.gpu_queue),
                    start_to_close=timedelta(seconds=inp.time_limit_s),
                    heartbeat=timedelta(seconds=inp.heartbeat_timeout_s),
                )
                break
            except ActivityError as e:
                cause = e.cause
                permanent = isinstance(cause, ApplicationError) and cause.non_retryable
                s.error = str(cause or e)
                if e.identity and (not s.workers or s.workers[-1] != e.identity):
                    s.workers.append(e.identity)
                # A timed-out attempt carries no identity: its worker is the one that reported starting it.
                failed_worker = e.identity or (s.workers[-1] if self._announced == self._attempt and s.workers else "")
                if permanent or self._attempt >= inp.max_attempts:
                    s.state, s.finished_at = "failed", workflow.now().isoformat()
                    tried = f" after {self._attempt} attempts" if not permanent else ""
                    self._event("error", message=s.error + tried, permanent=permanent, attempts=self._attempt)
                    await self._callback(inp)
                    raise ApplicationError(s.error, type="VideoJobFailed", non_retryable=True) from e
                reached = _reached(e)
                self._failure = {
                    "after_failure": s.error,
                    "failed_worker": failed_worker,
                    "failed_attempt": self._attempt,
                    "reached_before_failure": round(reached * 100, 1),
                    # One FFmpeg pass per operation: the retry starts the pass again from its
                    # first frame; the inputs are reused from storage, nothing is fetched again.
                    "from": "start of the encode (inputs reused from storage)",
                }
                s.state, s.resume_count, s.running_since = "retrying", self._attempt, ""
                await workflow.sleep(timedelta(seconds=min(2**self._attempt, 30)))
                s.state = "queued"
        self._announce(result.worker)  # the started report may have been lost; the result names the worker
        if result.started_at and not s.started_at:
            s.started_at = result.started_at
        s.state, s.progress, s.error = "completed", 1.0, ""
        s.output_key, s.finished_at = result.output_key, workflow.now().isoformat()
        s.gpu_seconds, s.cost_usd, s.duration_s = result.gpu_seconds, result.cost_usd, result.duration_s
        self._event("checkpoint", saved="output", key=result.output_key)
        self._event(
            "complete",
            output_key=result.output_key,
            duration_s=result.duration_s,
            gpu_seconds=result.gpu_seconds,
            cost_usd=result.cost_usd,
            resume_count=s.resume_count,
            workers=list(s.workers),
        )
        await self._callback(inp)
        return result

    async def _callback(self, inp: VideoJobInput) -> None:
        """POST the final event to the client's callback_url (retried with backoff; never fails the job)."""
        if not inp.callback_url:
            return
        s, last = self._status, self._status.events[-1]
        body = {"job_id": s.job_id, "op": s.op, "status": s.state, "event": last.type, "id": last.id, "at": last.at}
        body |= {"output_key": s.output_key, "error": s.error, **last.data}
        req = CallbackRequest(
            url=inp.callback_url,
            api_key_id=inp.api_key_id,
            event=last.type,
            body=json.dumps(body, sort_keys=True, separators=(",", ":")),
            delivery_id=f"{s.job_id}-{last.id}",
        )
        s.callback = "pending"
        try:
            await execute(VIDEO_JOB_CALLBACK, req, TaskQueues(main=workflow.info().task_queue, gpu=""))
            s.callback = "delivered"
        except ActivityError as e:
            s.callback = f"failed: {e.cause or e}"

    @workflow.signal(name=SIGNAL_PROGRESS)
    def report_progress(self, report: ProgressReport) -> None:
        if report.stage == STARTED:
            self._announce(report.worker)

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> VideoJobStatus:
        return self._status
