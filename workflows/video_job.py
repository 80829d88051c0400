"""VideoJobWorkflow: one standalone video operation (caption, img2vid, addaudio) on the GPU queue.

The workflow retries the activity itself (one attempt per activity execution) so that the
``status`` query can say how many times the job was resumed and whether it is retrying now; a
non-retryable failure (a corrupt input) ends the job at once with the activity's message.
Deterministic code only: times come from workflow.now().
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from tubeflow.contracts import QUERY_STATUS, VIDEO_JOB_WORKFLOW
    from tubeflow.job_contracts import VIDEO_OPS, VideoJobInput, VideoJobResult, VideoJobStatus

ACTIVITY_FOR = {"caption": "video_caption", "img2vid": "video_img2vid", "addaudio": "video_addaudio"}


@workflow.defn(name=VIDEO_JOB_WORKFLOW)
class VideoJobWorkflow:
    def __init__(self) -> None:
        self._status = VideoJobStatus(job_id="", op="")

    @workflow.run
    async def run(self, inp: VideoJobInput) -> VideoJobResult:
        s = self._status
        s.job_id, s.op = inp.job_id, inp.op
        if inp.op not in VIDEO_OPS:
            s.state, s.error = "failed", f"unknown operation {inp.op!r}; use one of {', '.join(VIDEO_OPS)}"
            raise ApplicationError(s.error, type="PermanentError", non_retryable=True)
        arg = getattr(inp, inp.op)
        if arg is None:
            s.state, s.error = "failed", f"operation {inp.op!r} needs its '{inp.op}' parameters"
            raise ApplicationError(s.error, type="PermanentError", non_retryable=True)
        s.state, s.started_at = "running", workflow.now().isoformat()
        attempt = 0
        while True:
            try:
                result: VideoJobResult = await workflow.execute_activity(
                    ACTIVITY_FOR[inp.op],
                    arg,
                    task_queue=inp.gpu_queue,
                    start_to_close_timeout=timedelta(hours=1),
                    heartbeat_timeout=timedelta(seconds=60),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                    result_type=VideoJobResult,
                )
                break
            except ActivityError as e:
                cause = e.cause
                permanent = isinstance(cause, ApplicationError) and cause.non_retryable
                attempt += 1
                s.error = str(cause or e)
                if permanent or attempt >= inp.max_attempts:
                    s.state, s.finished_at = "failed", workflow.now().isoformat()
                    raise ApplicationError(s.error, type="VideoJobFailed", non_retryable=True) from e
                s.state, s.resume_count = "retrying", attempt
                await workflow.sleep(timedelta(seconds=min(2**attempt, 30)))
                s.state = "running"
        s.state, s.progress, s.error = "completed", 1.0, ""
        s.output_key, s.finished_at = result.output_key, workflow.now().isoformat()
        return result

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> VideoJobStatus:
        return self._status
