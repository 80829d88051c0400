"""The one place that knows how the video job API maps onto VideoJobWorkflow.

Kept apart from the routes so a change in the GPU engineer's job input dataclasses touches one
small file.
"""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from temporalio.client import Client

from tubeflow.contracts import VIDEO_JOB_WORKFLOW
from tubeflow.settings import Settings


def job_workflow_id(job_id: str) -> str:
    return f"videojob-{job_id}"


def _jobs_module() -> Any:
    try:
        import gpu_activities.jobs as jobs
    except ImportError as e:
        raise HTTPException(503, "video jobs are not available: gpu_activities.jobs is not installed") from e
    return jobs


async def start_job(
    client: Client, settings: Settings, kind: str, job_id: str, keys: dict[str, str], params: dict[str, Any]
) -> str:
    jobs = _jobs_module()
    job_input = jobs.build_job_input(kind, job_id, keys, params, settings)  # provisional name
    wf_id = job_workflow_id(job_id)
    await client.start_workflow(VIDEO_JOB_WORKFLOW, job_input, id=wf_id, task_queue=settings.main_queue)
    return wf_id


async def job_status(client: Client, job_id: str) -> Any:
    handle = client.get_workflow_handle(job_workflow_id(job_id))
    return await handle.query("status")
