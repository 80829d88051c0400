"""The one place that knows how the video job API maps onto VideoJobWorkflow.

Kept apart from the routes so a change in the GPU side's job dataclasses
(:mod:`tubeflow.job_contracts`) touches one small file.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio.client import Client

from tubeflow.contracts import QUERY_STATUS, VIDEO_JOB_WORKFLOW
from tubeflow.job_contracts import AddAudioJob, CaptionJob, Img2VidJob, VideoJobInput, VideoJobStatus
from tubeflow.keys import JobKeys
from tubeflow.settings import Settings


def job_workflow_id(job_id: str) -> str:
    return f"videojob-{job_id}"


def output_key(job_id: str) -> str:
    return JobKeys(job_id).output()


def job_input(
    kind: str, job_id: str, keys: dict[str, str], params: dict[str, Any], settings: Settings
) -> VideoJobInput:
    out = output_key(job_id)
    inp = VideoJobInput(job_id=job_id, op=kind, gpu_queue=settings.gpu_queue)
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
    client: Client, settings: Settings, kind: str, job_id: str, keys: dict[str, str], params: dict[str, Any]
) -> str:
    wf_id = job_workflow_id(job_id)
    await client.start_workflow(
        VIDEO_JOB_WORKFLOW, job_input(kind, job_id, keys, params, settings), id=wf_id, task_queue=settings.main_queue
    )
    return wf_id


async def job_status(client: Client, job_id: str) -> dict[str, Any]:
    """The workflow's status query, plus timing a client does not have to compute."""
    handle = client.get_workflow_handle(job_workflow_id(job_id))
    st = await handle.query(QUERY_STATUS, result_type=VideoJobStatus)
    elapsed = None
    if st.started_at:
        started = datetime.fromisoformat(st.started_at)
        end = datetime.fromisoformat(st.finished_at) if st.finished_at else datetime.now(started.tzinfo)
        elapsed = round((end - started).total_seconds(), 3)
    return {
        "job_id": st.job_id,
        "op": st.op,
        "status": st.state,
        "progress": round(st.progress * 100, 1),
        "timing": {"started_at": st.started_at or None, "finished_at": st.finished_at or None, "elapsed_s": elapsed},
        "resume_count": st.resume_count,
        "output_key": st.output_key or None,
        "error": st.error or None,
    }
