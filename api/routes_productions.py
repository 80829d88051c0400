"""Channels, productions and reviews: the REST API reviewers and client programs use.

Lists come from the database (written at every stage change) so they never fan out to Temporal;
one production's detail comes from the workflow's status query, which is live, and falls back to
the database's last snapshot when the workflow is gone (retention expired, another namespace).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from api import dbview
from api.auth import Principal, authenticate, require
from api.context import ApiContext, get_ctx
from api.schemas import (
    MAX_OFFSET,
    ApproveIn,
    CancelIn,
    ChannelIn,
    NameFilter,
    ProductionId,
    ProductionIn,
    RejectIn,
    RetryIn,
)
from api.views import production_view
from service import client as tf
from tubeflow.contracts import Checkpoint, ReviewDecision, redo_target_named
from tubeflow.db import repo
from tubeflow.errors import PermanentError

router = APIRouter(prefix="/api", tags=["productions"])


def _problem(e: PermanentError) -> HTTPException:
    """The HTTP answer for a permanent error; its message already says what to do."""
    if isinstance(e, tf.UnknownProduction | repo.NotFoundError):
        return HTTPException(404, str(e))
    if isinstance(e, tf.CheckpointNotOpen | tf.NothingToRetry | tf.TopicAlreadyCovered | repo.AlreadyExistsError):
        return HTTPException(409, str(e))
    return HTTPException(400, str(e))


@router.get("/channels")
async def list_channels(
    ctx: ApiContext = Depends(get_ctx), _: Principal = Depends(authenticate)
) -> list[dict[str, Any]]:
    return await dbview.channels(ctx.db)


@router.post("/channels", status_code=201)
async def create_channel(
    body: ChannelIn, ctx: ApiContext = Depends(get_ctx), _: Principal = Depends(require("admin"))
) -> dict[str, Any]:
    try:
        return await dbview.create_channel(ctx.db, ctx.settings, body.name, body.niche)
    except PermanentError as e:
        raise _problem(e) from e


@router.post("/productions", status_code=201)
async def start_production(
    body: ProductionIn, ctx: ApiContext = Depends(get_ctx), _: Principal = Depends(require("editor"))
) -> dict[str, Any]:
    try:
        pid = await tf.start_production(ctx.client(), ctx.db, ctx.settings, body.channel, body.topic, force=body.force)
    except PermanentError as e:
        raise _problem(e) from e
    return {"id": pid}


@router.get("/productions")
async def list_productions(
    ctx: ApiContext = Depends(get_ctx),
    _: Principal = Depends(authenticate),
    channel: NameFilter = None,
    state: NameFilter = None,
    stage: NameFilter = None,
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> dict[str, Any]:
    items = await dbview.productions(ctx.db, channel=channel, state=state, stage=stage, limit=limit, offset=offset)
    return {"items": items, "limit": limit, "offset": offset}


async def load_view(ctx: ApiContext, production_id: str) -> dict[str, Any]:
    """The live status from the workflow, else the database's last snapshot; 404 when neither knows it."""
    status, source = None, "workflow"
    if ctx.temporal is not None:
        try:
            status = await tf.get_status(ctx.temporal, production_id)
        except Exception:  # gone, not started yet, or Temporal down: the snapshot still answers
            status = None
    if status is None or not status.production_id:
        status, source = await dbview.status_from_db(ctx.db, production_id), "database"
    if status is None:
        raise HTTPException(404, f"unknown production {production_id!r}")
    view = await production_view(ctx.settings, ctx.storage, status, source)
    view["review_history"] = await dbview.reviews(ctx.db, production_id)
    return view


@router.get("/productions/{production_id}")
async def get_production(
    production_id: ProductionId, ctx: ApiContext = Depends(get_ctx), _: Principal = Depends(authenticate)
) -> dict[str, Any]:
    return await load_view(ctx, production_id)


async def _review(ctx: ApiContext, production_id: str, decision: ReviewDecision) -> dict[str, Any]:
    try:
        status = await tf.review(ctx.client(), production_id, decision)
    except tf.UnknownProduction as e:
        # Temporal says NOT_FOUND both for ids it never saw and for workflows that already closed.
        known = await dbview.status_from_db(ctx.db, production_id)
        if known is None:
            raise HTTPException(404, f"unknown production {production_id!r}") from e
        cp = str(decision.stage)
        raise HTTPException(
            409, f"checkpoint {cp!r} is not open: the production is {known.state} (stage {str(known.stage)!r})"
        ) from e
    except PermanentError as e:
        raise _problem(e) from e
    return {
        "id": production_id,
        "stage": status.stage,
        "state": status.state,
        "progress": status.progress,
        "checkpoint": status.checkpoint,
    }


@router.post("/productions/{production_id}/approve")
async def approve(
    production_id: ProductionId,
    body: ApproveIn,
    ctx: ApiContext = Depends(get_ctx),
    who: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    decision = ReviewDecision(stage=Checkpoint(body.stage), approved=True, reviewer=who.name, edits=body.edits or None)
    return await _review(ctx, production_id, decision)


@router.post("/productions/{production_id}/reject")
async def reject(
    production_id: ProductionId,
    body: RejectIn,
    ctx: ApiContext = Depends(get_ctx),
    who: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    decision = ReviewDecision(
        stage=Checkpoint(body.stage),
        approved=False,
        reviewer=who.name,
        feedback=body.feedback,
        edits={"pronounce": dict(body.pronounce)} if body.pronounce else None,
        redo_from=redo_target_named(body.to or ""),
    )
    return await _review(ctx, production_id, decision)


async def _known(ctx: ApiContext, production_id: str) -> None:
    try:
        await repo.get_production(ctx.db, production_id)
    except repo.NotFoundError as e:
        raise HTTPException(404, f"unknown production {production_id!r}") from e


@router.post("/productions/{production_id}/cancel", status_code=202)
async def cancel(
    production_id: ProductionId,
    body: CancelIn | None = None,
    ctx: ApiContext = Depends(get_ctx),
    who: Principal = Depends(require("editor")),
) -> JSONResponse:
    await _known(ctx, production_id)
    reason = (body.reason if body else "") or "cancelled by a reviewer"
    try:
        await tf.cancel(ctx.client(), production_id, f"{reason} ({who.name})")
    except tf.UnknownProduction as e:
        known = await dbview.status_from_db(ctx.db, production_id)
        state = known.state if known else "ended"
        raise HTTPException(409, f"production {production_id!r} has already ended ({state})") from e
    except PermanentError as e:
        raise _problem(e) from e
    return JSONResponse({"id": production_id, "cancelling": True}, status_code=202)


@router.post("/productions/{production_id}/retry")
async def retry(
    production_id: ProductionId,
    body: RetryIn | None = None,
    ctx: ApiContext = Depends(get_ctx),
    who: Principal = Depends(require("editor")),
) -> dict[str, Any]:
    """Continue a production in ``needs_attention`` from its failed stage, or wake one blocked on the
    YouTube quota for one try now (blocked again if still spent); 409 otherwise."""
    await _known(ctx, production_id)
    try:
        status = await tf.retry(ctx.client(), production_id, who.name, body.note if body else "")
    except tf.UnknownProduction as e:
        known = await dbview.status_from_db(ctx.db, production_id)
        state = known.state if known else "ended"
        raise HTTPException(409, f"production {production_id!r} has already ended ({state}); nothing to retry") from e
    except PermanentError as e:
        raise _problem(e) from e
    return {"id": production_id, "stage": status.stage, "state": status.state, "progress": status.progress}
