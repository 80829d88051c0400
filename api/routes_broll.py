"""The b-roll checkpoint's own actions: save edits (the preview is rendered again) and upload a picture.

Deciding stays with approve/reject (``routes_productions``); these keep the checkpoint open.  An
upload is probed before it is stored (a corrupt or non-picture file is a 415 that says so) and
named by its key in the next edits, where the workflow's activity probes it again.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request

from api.answers import errors_doc
from api.answers_productions import BrollUpload, ReviewAnswer
from api.auth import EditorKey
from api.context import Ctx
from api.fetch import FetchTooLarge
from api.routes_productions import REVIEW_ERRORS, _known, closed_production
from api.schemas import ProductionId, ReviseIn
from api.views import broll_item
from service import client as tf
from tubeflow.contracts import Checkpoint, ProductionStatus, ReviewDecision

router = APIRouter(prefix="/api", tags=["productions"])


@router.post("/productions/{production_id}/revise", response_model=ReviewAnswer, responses=REVIEW_ERRORS)
async def revise(production_id: ProductionId, body: ReviseIn, ctx: Ctx, who: EditorKey) -> dict[str, Any]:
    """Apply b-roll edits and render the preview again; answers once applied (state ``running``
    while the preview renders, then the checkpoint is open again).  409 with why when refused."""
    decision = ReviewDecision(stage=Checkpoint(body.stage), approved=False, reviewer=who.name, edits=body.edits)

    def not_open(known: ProductionStatus) -> str:
        return f"the b-roll checkpoint is not open: the production is {known.state} (stage {str(known.stage)!r})"

    async with closed_production(ctx, production_id, not_open):
        status = await tf.revise(ctx.client(), production_id, decision)
    return {
        "id": production_id,
        "stage": status.stage,
        "state": status.state,
        "progress": status.progress,
        "checkpoint": status.checkpoint,
    }


@router.post(
    "/broll-uploads/{production_id}",  # outside the JSON body limit (api.middleware.BodyLimit)
    status_code=201,
    response_model=BrollUpload,
    responses=errors_doc(404, 413, 415),
)
async def upload_broll(
    production_id: ProductionId,
    request: Request,
    ctx: Ctx,
    _: EditorKey,
    filename: str = Query("", max_length=200, description="the file's name (its extension is kept)"),
) -> dict[str, Any]:
    """The request body is the file (an image or a clip), probed before it is stored."""
    from activities.broll_edits import store_upload

    await _known(ctx, production_id)
    limit = ctx.fetch_policy.max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise FetchTooLarge(f"upload of {declared} bytes is over the limit of {limit} bytes")
    size = 0
    with tempfile.TemporaryDirectory(prefix="tubeflow-broll-upload-") as tmp:
        path = Path(tmp) / "body"
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise FetchTooLarge(f"upload is over the limit of {limit} bytes")
                out.write(chunk)
        item = await asyncio.to_thread(store_upload, ctx.storage, production_id, filename, path)
    return {"item": broll_item(item)}
