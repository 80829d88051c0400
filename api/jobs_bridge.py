"""The one place that knows how the video job API maps onto VideoJobWorkflow.

Kept apart from the routes so a change in the GPU side's job dataclasses
(:mod:`tubeflow.job_contracts`) touches one small file.  A job's state lives in its workflow
(the ``status`` query: times, events, checkpoint, workers) and, while an attempt runs, in the
GPU activity's heartbeat details (FFmpeg's own progress, at most a second old: the GPU worker's
heartbeat throttle is 1 s); a key's jobs are found through the ``TubeflowApiKey`` search
attribute, so no table mirrors Temporal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from api.auth import Principal
from tubeflow.contracts import QUERY_STATUS, SA_API_KEY, VIDEO_JOB_WORKFLOW
from tubeflow.job_contracts import AddAudioJob, CaptionJob, Img2VidJob, VideoJobInput, VideoJobStatus
from tubeflow.keys import JobKeys
from tubeflow.settings import Settings

API_KEY_SA = SearchAttributeKey.for_keyword(SA_API_KEY)
ID_PREFIX = "videojob-"


def owner_of(who: Principal) -> str:
    """The ``TubeflowApiKey`` value of a caller's jobs."""
    return str(who.api_key_id or who.key_id)


def job_workflow_id(job_id: str) -> str:
    return f"{ID_PREFIX}{job_id}"


def output_key(job_id: str) -> str:
    return JobKeys(job_id).output()


def job_input(
    kind: str,
    job_id: str,
    keys: dict[str, str],
    params: dict[str, Any],
    settings: Settings,
    api_key_id: str = "",
    callback_url: str = "",
) -> VideoJobInput:
    out = output_key(job_id)
    inp = VideoJobInput(
        job_id=job_id,
        op=kind,
        gpu_queue=settings.gpu_queue,
        time_limit_s=settings.video_job_time_limit_s,
        heartbeat_timeout_s=settings.video_job_heartbeat_s,
        api_key_id=api_key_id,
        callback_url=callback_url,
    )
    if kind == "caption":
        inp.caption = CaptionJob(video_key=keys["video"], subs_key=keys["srt"], output_key=out)
    elif kind == "img2vid":
        inp.img2vid = Img2VidJob(
            image_key=keys["image"], output_key=out, duration_s=float(params["duration"]), zoom=float(params["zoom"])
        )
    elif kind == "addaudio":
        inp.addaudio = AddAudioJob(video_key=keys["video"], audio_key=keys["audio"], output_key=out)
    else:
        raise ValueError(f"unknown video operation {kind!r}")
    return inp


async def start_job(
    client: Client,
    settings: Settings,
    kind: str,
    job_id: str,
    keys: dict[str, str],
    params: dict[str, Any],
    api_key_id: str = "",
    callback_url: str = "",
) -> str:
    wf_id = job_workflow_id(job_id)
    await client.start_workflow(
        VIDEO_JOB_WORKFLOW,
        job_input(kind, job_id, keys, params, settings, api_key_id, callback_url),
        id=wf_id,
        task_queue=settings.main_queue,
        search_attributes=TypedSearchAttributes([SearchAttributePair(API_KEY_SA, api_key_id or "-")]),
    )
    return wf_id


async def live_progress(client: Client, job_id: str) -> dict[str, Any] | None:
    """The running attempt's latest FFmpeg progress from its heartbeat details (None when none runs)."""
    req = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=job_workflow_id(job_id))
    )
    d = await client.workflow_service.describe_workflow_execution(req)
    for a in d.pending_activities:
        if a.state != PendingActivityState.PENDING_ACTIVITY_STATE_STARTED or not a.heartbeat_details.payloads:
            continue
        details = await client.data_converter.decode(a.heartbeat_details.payloads)
        for item in details:
            if isinstance(item, dict) and isinstance(item.get("progress"), dict):
                return {**item["progress"], "worker": a.last_worker_identity or item["progress"].get("worker", "")}
    return None


def _elapsed(start: str, end: str) -> float | None:
    if not start:
        return None
    t0 = datetime.fromisoformat(start)
    t1 = datetime.fromisoformat(end) if end else datetime.now(t0.tzinfo)
    return round((t1 - t0).total_seconds(), 3)


def status_view(st: VideoJobStatus, live: dict[str, Any] | None) -> dict[str, Any]:
    """What GET /jobs/{id} answers (README, "Video job status"), without the URLs."""
    progress = {"percent": round(st.progress * 100, 1), "out_time_s": None, "frames": None, "speed": None}
    if st.state == "completed":
        progress.update(out_time_s=st.duration_s)
    elif live is not None and st.state in ("running", "queued"):
        progress = {
            "percent": round(float(live.get("fraction", 0.0)) * 100, 1),
            "out_time_s": live.get("out_time_s"),
            "frames": live.get("frames"),
            "speed": live.get("speed"),
        }
    events = st.events
    resumes = [e for e in events if e.type == "resumed"]
    return {
        "job_id": st.job_id,
        "op": st.op,
        "status": st.state,
        "progress": progress["percent"],
        "progress_detail": progress,
        "timing": {
            "created_at": st.created_at or None,
            "queued_at": st.queued_at or None,
            "started_at": st.started_at or None,
            "finished_at": st.finished_at or None,
            "queued_s": _elapsed(st.created_at, st.started_at) if st.started_at else None,
            "elapsed_s": _elapsed(st.started_at, st.finished_at),
        },
        "checkpoint": {
            "saved": [e.data for e in events if e.type == "checkpoint"],
            "resume_count": st.resume_count,
            "workers": list(st.workers),
            "last_resume": resumes[-1].data if resumes else None,
        },
        "resume_count": st.resume_count,
        "output_key": st.output_key or None,
        "error": st.error or None if st.state in ("failed", "retrying") else None,
        "cost": {"gpu_seconds": st.gpu_seconds, "usd": st.cost_usd} if st.state == "completed" else None,
        "callback": st.callback or None,
        "last_event_id": events[-1].id if events else 0,
    }


async def query_status(client: Client, job_id: str) -> VideoJobStatus:
    handle = client.get_workflow_handle(job_workflow_id(job_id))
    status: VideoJobStatus = await handle.query(QUERY_STATUS, result_type=VideoJobStatus)
    return status


async def job_status(client: Client, job_id: str) -> tuple[dict[str, Any], VideoJobStatus]:
    """The workflow's status query plus the live FFmpeg progress of a running attempt."""
    st = await query_status(client, job_id)
    live = await live_progress(client, job_id) if st.state in ("running", "queued") else None
    return status_view(st, live), st


async def job_owner(client: Client, job_id: str) -> str:
    """The key id a job was submitted with ("-" for jobs from before keys were recorded)."""
    desc = await client.get_workflow_handle(job_workflow_id(job_id)).describe()
    return desc.typed_search_attributes.get(API_KEY_SA) or "-"


_STATUS_QUERY = {
    "active": 'ExecutionStatus = "Running"',
    "completed": 'ExecutionStatus = "Completed"',
    "failed": 'ExecutionStatus IN ("Failed", "TimedOut", "Terminated", "Canceled")',
}
LIST_STATUSES = tuple(_STATUS_QUERY)


def _list_query(api_key_id: str, status: str, since: datetime | None) -> str:
    q = f'WorkflowType = "{VIDEO_JOB_WORKFLOW}" AND {SA_API_KEY} = "{api_key_id}"'
    if status:
        q += f" AND {_STATUS_QUERY[status]}"
    if since is not None:
        # "since" means changed since: started, or closed, after it (a job that finished while
        # the client was away shows up even if it was submitted before).
        stamp = since.isoformat()
        q += f' AND (StartTime >= "{stamp}" OR CloseTime >= "{stamp}")'
    return q


async def list_jobs(
    client: Client, api_key_id: str, status: str, since: datetime | None, page_size: int, page_token: bytes
) -> tuple[list[dict[str, Any]], bytes]:
    """One page of a key's jobs, newest first, from Temporal's visibility store."""
    rows: list[dict[str, Any]] = []
    it = client.list_workflows(
        _list_query(api_key_id, status, since), page_size=page_size, next_page_token=page_token or None
    )
    await it.fetch_next_page()
    for wf in it.current_page or []:
        closed = wf.status != WorkflowExecutionStatus.RUNNING
        rows.append(
            {
                "job_id": wf.id.removeprefix(ID_PREFIX),
                "status": _visible_status(wf.status),
                "created_at": wf.start_time.isoformat(),
                "finished_at": wf.close_time.isoformat() if closed and wf.close_time else None,
                "status_url": f"/jobs/{wf.id.removeprefix(ID_PREFIX)}",
            }
        )
    return rows, it.next_page_token or b""


def _visible_status(s: WorkflowExecutionStatus | None) -> str:
    if s == WorkflowExecutionStatus.RUNNING:
        return "active"
    if s == WorkflowExecutionStatus.COMPLETED:
        return "completed"
    return "failed"


async def running_job_ids(client: Client, api_key_id: str, limit: int) -> set[str]:
    """Up to ``limit`` ids of a key's video jobs still queued or running (the per-key limit)."""
    q = f'WorkflowType = "{VIDEO_JOB_WORKFLOW}" AND {SA_API_KEY} = "{api_key_id}" AND ExecutionStatus = "Running"'
    ids: set[str] = set()
    async for wf in client.list_workflows(q, page_size=max(1, limit), limit=max(1, limit)):
        ids.add(wf.id.removeprefix(ID_PREFIX))
    return ids
