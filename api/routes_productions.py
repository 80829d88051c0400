"""Channels, productions and reviews: the REST API reviewers and client programs use.

Lists come from the database (written at every stage change) so they never fan out to Temporal;
one production's detail comes from the workflow's status query, which is live, and falls back to
the database's last snapshot when the workflow is gone (retention expired, another namespace).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Query

from api import dbview
from api.answers import errors_doc
from api.answers_productions import (
    Cancelling,
    ChannelOut,
    ProductionPage,
    ProductionStarted,
    ProductionView,
    RetryAnswer,
    ReviewAnswer,
)
from api.answers_quality import QualityReportsOut
from api.auth import AdminKey, EditorKey, ViewerKey
from api.context import ApiContext, Ctx
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
from api.views import production_view, quality_view
from service import client as tf
from tubeflow.contracts import Checkpoint, ProductionStatus, ReviewDecision, redo_target_named
from tubeflow.db import repo

router = APIRouter(prefix="/api", tags=["productions"])
REVIEW_ERRORS = errors_doc(404, 409, 503)


@router.get("/channels", response_model=list[ChannelOut])
async def list_channels(ctx: Ctx, _: ViewerKey) -> list[dict[str, Any]]:
    return await dbview.channels(ctx.db)


@router.post("/channels", status_code=201, response_model=ChannelOut, responses=errors_doc(400, 409))
async def create_channel(body: ChannelIn, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    return await dbview.create_channel(ctx.db, ctx.settings, body.name, body.niche)


@router.post(
    "/productions", status_code=201, response_model=ProductionStarted, responses=errors_doc(400, 404, 409, 503)
)
async def start_production(body: ProductionIn, ctx: Ctx, _: EditorKey) -> dict[str, Any]:
    pid = await tf.start_production(ctx.client(), ctx.db, ctx.settings, body.channel, body.topic, force=body.force)
    return {"id": pid}


@router.get("/productions", response_model=ProductionPage)
async def list_productions(
    ctx: Ctx,
    _: ViewerKey,
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
    status, source = await load_status(ctx, production_id)
    view = await production_view(ctx.settings, ctx.storage, status, source)
    view["review_history"] = await dbview.reviews(ctx.db, production_id)
    return view


async def load_status(ctx: ApiContext, production_id: str) -> tuple[ProductionStatus, str]:
    """(status, "workflow" or "database"): as :func:`load_view`, without the page's material."""
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
    return status, source


@router.get("/productions/{production_id}", response_model=ProductionView, responses=errors_doc(404))
async def get_production(production_id: ProductionId, ctx: Ctx, _: ViewerKey) -> dict[str, Any]:
    return await load_view(ctx, production_id)


@router.get("/productions/{production_id}/quality", response_model=QualityReportsOut, responses=errors_doc(404))
async def get_quality(production_id: ProductionId, ctx: Ctx, _: ViewerKey) -> dict[str, Any]:
    """The measured quality reports: the long-form's latest render and each Short's."""
    status, _source = await load_status(ctx, production_id)
    return quality_view(status)


@asynccontextmanager
async def closed_production(
    ctx: ApiContext, production_id: str, conflict: Callable[[ProductionStatus], str]
) -> AsyncIterator[None]:
    """Temporal says NOT_FOUND both for ids it never saw and for workflows that already closed: the
    database tells them apart, 404 for an unknown production, 409 ``conflict(its last snapshot)``
    for one that ended (retention may have removed its workflow since)."""
    try:
        yield
    except tf.UnknownProduction as e:
        known = await dbview.status_from_db(ctx.db, production_id)
        if known is None:
            raise HTTPException(404, f"unknown production {production_id!r}") from e
        raise HTTPException(409, conflict(known)) from e


async def _review(ctx: ApiContext, production_id: str, decision: ReviewDecision) -> dict[str, Any]:
    def not_open(known: ProductionStatus) -> str:
        stage, cp = str(known.stage), str(decision.stage)
        return f"checkpoint {cp!r} is not open: the production is {known.state} (stage {stage!r})"

    async with closed_production(ctx, production_id, not_open):
        status = await tf.review(ctx.client(), production_id, decision)
    return {
        "id": production_id,
        "stage": status.stage,
        "state": status.state,
        "progress": status.progress,
        "checkpoint": status.checkpoint,
    }


@router.post("/productions/{production_id}/approve", response_model=ReviewAnswer, responses=REVIEW_ERRORS)
async def approve(
    production_id: ProductionId,
    body: ApproveIn,
    ctx: Ctx,
    who: EditorKey,
) -> dict[str, Any]:
    decision = ReviewDecision(stage=Checkpoint(body.stage), approved=True, reviewer=who.name, edits=body.edits or None)
    return await _review(ctx, production_id, decision)


@router.post("/productions/{production_id}/reject", response_model=ReviewAnswer, responses=REVIEW_ERRORS)
async def reject(
    production_id: ProductionId,
    body: RejectIn,
    ctx: Ctx,
    who: EditorKey,
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


def _ended(known: ProductionStatus) -> str:
    return f"production {known.production_id!r} has already ended ({known.state})"


async def _known(ctx: ApiContext, production_id: str) -> None:
    try:
        await repo.get_production(ctx.db, production_id)
    except repo.NotFoundError as e:
        raise HTTPException(404, f"unknown production {production_id!r}") from e


@router.post("/productions/{production_id}/cancel", status_code=202, response_model=Cancelling, responses=REVIEW_ERRORS)
async def cancel(
    production_id: ProductionId,
    ctx: Ctx,
    who: EditorKey,
    body: CancelIn | None = None,
) -> dict[str, Any]:
    await _known(ctx, production_id)
    reason = (body.reason if body else "") or "cancelled by a reviewer"
    async with closed_production(ctx, production_id, _ended):
        await tf.cancel(ctx.client(), production_id, f"{reason} ({who.name})")
    return {"id": production_id, "cancelling": True}


@router.post("/productions/{production_id}/retry", response_model=RetryAnswer, responses=REVIEW_ERRORS)
async def retry(
    production_id: ProductionId,
    ctx: Ctx,
    who: EditorKey,
    body: RetryIn | None = None,
) -> dict[str, Any]:
    """Continue a production in ``needs_attention`` from its failed stage, or wake one blocked on the
    YouTube quota for one try now (blocked again if still spent); 409 otherwise."""
    await _known(ctx, production_id)
    if body is not None and body.platform:
        known = await repo.get_production(ctx.db, production_id)
        async with closed_production(ctx, production_id, lambda known: f"{_ended(known)}; nothing to retry"):
            await tf.retry_platform(ctx.client(), production_id, body.platform)
        return {"id": production_id, "stage": known.stage, "state": known.state, "progress": known.progress}
    async with closed_production(ctx, production_id, lambda known: f"{_ended(known)}; nothing to retry"):
        status = await tf.retry(ctx.client(), production_id, who.name, body.note if body else "")
    return {"id": production_id, "stage": status.stage, "state": status.state, "progress": status.progress}
