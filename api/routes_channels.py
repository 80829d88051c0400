"""A channel's settings, YouTube account, calendar, topic backlog and cadence over REST, and its pages.

The OAuth callback checks ``state`` against what this process handed out (and PKCE), stores the
refresh token encrypted, and the account is shown by its YouTube channel id and title only:
no route ever returns a credential.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, field_validator

from api.answers import errors_doc
from api.answers_channels import (
    CalendarOut,
    ChannelReport,
    ChannelView,
    PlatformPostOut,
    PublicationOut,
    TopicOut,
    VideoReport,
)
from api.auth import AdminKey, EditorKey, ViewerKey
from api.context import ApiContext, Ctx
from api.errors import safe_text
from api.schemas import Line, ProductionId, Strict
from tubeflow.channel_settings import field_errors
from tubeflow.db import channel_repo, platform_repo, repo
from tubeflow.db.repo import NotFoundError
from tubeflow.errors import ConfigError, PermanentError

router = APIRouter(tags=["channels"])
CADENCE_KEYS = {"cadence", "publish_slots", "lead_time_hours", "timezone"}


class TopicIn(Strict):
    topic: Line = Field(min_length=1, max_length=500)


class ScheduleIn(Strict):
    at: datetime = Field(strict=False)  # an ISO-8601 string in JSON, with its zone; YouTube needs a future time

    @field_validator("at")
    @classmethod
    def _plausible(cls, v: datetime) -> datetime:
        if not 2000 <= v.year <= 2200:
            raise ValueError("a publishing time between the years 2000 and 2200")
        return v


async def channel_view(ctx: ApiContext, name: str) -> dict[str, Any]:
    ch = await repo.get_channel(ctx.db, name)
    cs = await channel_repo.channel_settings(ctx.db, name)
    account = await channel_repo.get_account(ctx.db, name)
    cadence = None
    if cs.cadence and ctx.temporal is not None:
        from service.cadence import describe

        try:
            cadence = await describe(ctx.temporal, name)
        except Exception as e:  # the page still shows everything else
            cadence = {"error": str(e)}
    return {
        "name": ch.name,
        "niche": ch.niche,
        "settings": cs.to_dict(),
        "youtube": account.to_dict() if account else None,
        "platforms": [a.to_dict() for a in await platform_repo.list_accounts(ctx.db, name)],
        "cadence": cadence,
    }


@router.get("/api/channels/{name}", response_model=ChannelView, responses=errors_doc(404))
async def get_channel(name: str, ctx: Ctx, _: ViewerKey) -> dict[str, Any]:
    return await channel_view(ctx, name)


@router.patch("/api/channels/{name}", response_model=ChannelView, responses=errors_doc(400, 404, 422))
async def patch_channel(
    name: str,
    ctx: Ctx,
    _: AdminKey,
    changes: dict[str, Any] = Body(..., examples=[{"publish_slots": ["mon,wed,fri 17:00"], "privacy": "public"}]),
) -> dict[str, Any]:
    """Change settings (typed JSON values, or the CLI's strings).  Every refused value at once is a
    422 whose problems each name the setting in ``loc`` (``["body", "privacy"]``) and say what is
    allowed, so a form marks each field; nothing is saved unless every value is allowed."""
    from service.languages import require_channel_language

    await repo.get_channel(ctx.db, name)  # an unknown channel is a 404, whatever the body
    refused = field_errors(changes)
    if not refused:
        try:
            await require_channel_language(ctx.db, ctx.settings, name, changes)
        except ConfigError as e:  # nothing here speaks, captions or writes that language
            refused = {("language" if "language" in changes else "voice"): str(e)}
    if refused:
        detail = [{"loc": ["body", k], "msg": safe_text(v), "type": "value_error"} for k, v in refused.items()]
        raise HTTPException(422, detail=detail)
    await channel_repo.update_settings(ctx.db, name, changes)
    if CADENCE_KEYS & set(changes) and ctx.temporal is not None:
        from service.cadence import sync_schedule

        await sync_schedule(ctx.temporal, ctx.settings, name, await channel_repo.channel_settings(ctx.db, name))
    return await channel_view(ctx, name)


@router.post("/api/channels/{name}/cadence/{action}", response_model=ChannelView, responses=errors_doc(400, 404, 503))
async def cadence_action(name: str, action: str, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    from service.cadence import set_paused

    if action not in ("pause", "resume"):
        raise HTTPException(404, "use /cadence/pause or /cadence/resume")
    await set_paused(ctx.client(), name, action == "pause")
    return await channel_view(ctx, name)


@router.delete("/api/channels/{name}/account", response_model=ChannelView, responses=errors_doc(404))
async def disconnect_account(name: str, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    """Forget the channel's YouTube account (as ``tubeflow channel disconnect``): its encrypted
    credentials are deleted and its analytics collection stops; later videos publish as for a
    channel never connected.  The grant stays in the Google account until revoked there."""
    await channel_repo.remove_account(ctx.db, name)  # an unknown channel is a NotFoundError (404)
    if ctx.temporal is not None:  # else the next main-worker start removes the schedule
        from tubeflow.schedules import stop_analytics_if_unwanted

        await stop_analytics_if_unwanted(ctx.temporal, ctx.db, name)  # TikTok / Instagram may still be read
    return await channel_view(ctx, name)


@router.get("/api/channels/{name}/analytics", response_model=ChannelReport, responses=errors_doc(404))
async def channel_analytics(name: str, ctx: Ctx, _: ViewerKey) -> dict[str, Any]:
    """What ``tubeflow stats CH --json`` prints: totals per day and per video, each with its cost."""
    from tubeflow.analytics_report import channel_report

    return await channel_report(ctx.db, name)


@router.get("/api/channels/{name}/analytics/{video_id}", response_model=VideoReport, responses=errors_doc(404))
async def video_analytics(name: str, video_id: str, ctx: Ctx, _: ViewerKey) -> dict[str, Any]:
    """One video's days, retention curve and script sections (``tubeflow stats CH --video ID --json``)."""
    from tubeflow.analytics_report import video_report

    return await video_report(ctx.db, ctx.storage, name, video_id)


@router.get("/api/channels/{name}/topics", response_model=list[TopicOut], responses=errors_doc(404))
async def list_topics(name: str, ctx: Ctx, _: ViewerKey) -> list[dict[str, Any]]:
    return [t.to_dict() for t in await channel_repo.list_topics(ctx.db, name)]


@router.post("/api/channels/{name}/topics", status_code=201, response_model=TopicOut, responses=errors_doc(400, 404))
async def add_topic(name: str, body: TopicIn, ctx: Ctx, _: EditorKey) -> dict[str, Any]:
    return (await channel_repo.add_topic(ctx.db, name, body.topic)).to_dict()


@router.get("/api/calendar", response_model=CalendarOut)
async def calendar(
    ctx: Ctx,
    _: ViewerKey,
    channel: str | None = None,
    start: datetime | None = None,
    days: int = Query(7, ge=1, le=366),
) -> dict[str, Any]:
    if start is not None and not 2000 <= start.year <= 2200:
        raise HTTPException(422, "start must be a date between the years 2000 and 2200")
    return await calendar_view(ctx, channel, start, days)


async def calendar_view(ctx: ApiContext, channel: str | None, start: datetime | None, days: int) -> dict[str, Any]:
    """Scheduled and published videos in the window, the Shorts' posts on TikTok and Instagram, plus
    what waits in review or is blocked."""
    begin = (start or datetime.now(UTC)).astimezone(UTC)
    begin = begin.replace(hour=0, minute=0, second=0, microsecond=0)
    end = begin + timedelta(days=days)
    items = [p.to_dict() for p in await channel_repo.list_publications(ctx.db, channel, begin, end)]
    posts = [p.to_dict() for p in await platform_repo.list_posts(ctx.db, channel, begin, end)]
    pending = []
    for state in ("waiting", "blocked", "needs_attention"):
        for p in await repo.list_productions(ctx.db, channel=channel, state=state, limit=200):
            pending.append({"id": p.id, "channel": p.channel, "title": p.title or p.topic, "state": state})
    return {"start": begin.isoformat(), "end": end.isoformat(), "items": items, "platform_posts": posts,
            "pending": pending}  # fmt: skip


@router.post("/api/productions/{production_id}/schedule", response_model=PublicationOut, responses=errors_doc(400, 404))
async def reschedule(
    production_id: ProductionId,
    body: ScheduleIn,
    ctx: Ctx,
    _: EditorKey,
) -> dict[str, Any]:
    from activities.calendar import move_publication

    return (await move_publication(ctx.settings, ctx.db, production_id, body.at)).to_dict()


# ---------------------------------------------------------------- Connect TikTok / Instagram


def _platform_connector(ctx: ApiContext) -> Any:
    from activities.platform_connect import PlatformConnector

    if ctx.platform_connector is None:
        ctx.platform_connector = PlatformConnector(ctx.settings)
    return ctx.platform_connector


@router.get("/channels/{name}/connect/{platform}", include_in_schema=False, response_class=RedirectResponse)
async def platform_connect_start(name: str, platform: str, request: Request, ctx: Ctx, _: AdminKey) -> Response:
    from tubeflow.platforms import platform_problem

    await repo.get_channel(ctx.db, name)
    if (problem := platform_problem(platform)) is not None:
        return HTMLResponse(f"<p>{_escape(problem)}</p>", status_code=404)
    try:
        url = _platform_connector(ctx).start(name, platform, str(request.url_for("platform_oauth_callback")))
    except PermanentError as e:
        return HTMLResponse(f"<p>{_escape(str(e))}</p><p><a href='/channels'>Channels</a></p>", status_code=400)
    return RedirectResponse(url, status_code=303)


@router.get(
    "/oauth/platform/callback",
    name="platform_oauth_callback",
    include_in_schema=False,
    response_class=HTMLResponse,
    response_model=None,
)
async def platform_oauth_callback(
    request: Request, ctx: Ctx, _: AdminKey, state: str = "", code: str = "", error: str = "",
    error_description: str = "",
) -> Response:  # fmt: skip
    if error:
        why = _escape(error_description or error)
        return HTMLResponse(f"<p>The platform did not connect the channel: {why}</p>", status_code=400)
    try:
        account = await _platform_connector(ctx).finish(ctx.db, state, code)
    except PermanentError as e:
        return HTMLResponse(f"<p>{_escape(str(e))}</p><p><a href='/channels'>Channels</a></p>", status_code=400)
    if ctx.temporal is not None:
        from service.client import signal_platform_reconnected
        from tubeflow.schedules import ensure_analytics_schedule

        for p in await repo.list_productions(ctx.db, channel=account.channel, limit=1000):
            if p.stage == "shorts":
                await signal_platform_reconnected(ctx.temporal, p.id, account.platform)
        await ensure_analytics_schedule(ctx.temporal, ctx.settings, account.channel)  # its Shorts' figures
    return RedirectResponse(f"/channels/{quote(account.channel)}", status_code=303)


@router.delete("/api/channels/{name}/platforms/{platform}", response_model=ChannelView, responses=errors_doc(404))
async def platform_disconnect(name: str, platform: str, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    """Forget the channel's TikTok or Instagram account: its sealed token is deleted; later Shorts
    no longer go there (as ``tubeflow channel disconnect CH --platform P``)."""
    gone = await platform_repo.remove_account(ctx.db, name, platform)
    if gone is None:
        raise NotFoundError(f"channel {name!r} has no {platform} account connected")
    if ctx.temporal is not None:  # else the next main-worker start removes the schedule
        from tubeflow.schedules import stop_analytics_if_unwanted

        await stop_analytics_if_unwanted(ctx.temporal, ctx.db, name)
    return await channel_view(ctx, name)


@router.get("/api/channels/{name}/posts", response_model=list[PlatformPostOut], responses=errors_doc(404))
async def platform_posts(name: str, ctx: Ctx, _: ViewerKey) -> list[dict[str, Any]]:
    """The channel's Shorts on TikTok and Instagram: each post's slot, status and reason."""
    await repo.get_channel(ctx.db, name)
    return [p.to_dict() for p in await platform_repo.list_posts(ctx.db, name)]


# ---------------------------------------------------------------- Connect YouTube (web-server flow)


def _connector(ctx: ApiContext) -> Any:
    from activities.youtube_connect import WebConnector

    if ctx.connector is None:
        ctx.connector = WebConnector(ctx.settings)
    return ctx.connector


@router.get("/channels/{name}/connect", include_in_schema=False, response_class=RedirectResponse)
async def connect_start(name: str, request: Request, ctx: Ctx, _: AdminKey) -> Response:
    await repo.get_channel(ctx.db, name)
    url = _connector(ctx).start(name, str(request.url_for("oauth_callback")))
    return RedirectResponse(url, status_code=303)


@router.get(
    "/oauth/callback", name="oauth_callback", include_in_schema=False, response_class=HTMLResponse, response_model=None
)
async def oauth_callback(
    request: Request,
    ctx: Ctx,
    _: AdminKey,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    if error:
        return HTMLResponse(f"<p>Google did not connect the channel: {quote(error)}</p>", status_code=400)
    try:
        account = await _connector(ctx).finish(ctx.db, state, code)
    except PermanentError as e:
        return HTMLResponse(f"<p>{_escape(str(e))}</p><p><a href='/channels'>Channels</a></p>", status_code=400)
    await _resume_blocked(ctx, account.channel)
    if ctx.temporal is not None:  # the daily analytics collection (and its 28-day backfill) starts now
        from tubeflow.schedules import ensure_analytics_schedule

        await ensure_analytics_schedule(ctx.temporal, ctx.settings, account.channel)
    return RedirectResponse(f"/channels/{quote(account.channel)}", status_code=303)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _resume_blocked(ctx: ApiContext, channel: str) -> None:
    if ctx.temporal is None:
        return
    from service.client import signal_reconnected

    for p in await repo.list_productions(ctx.db, channel=channel, state="blocked", limit=1000):
        try:
            await signal_reconnected(ctx.temporal, p.id)
        except PermanentError:
            continue
