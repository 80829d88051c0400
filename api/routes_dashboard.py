"""The reviewers' dashboard: server-rendered pages over the same data as the REST API.

Pages read through the same helpers as the JSON endpoints (``load_view``, ``dbview``) so what a
reviewer sees and what a program gets cannot differ.  Sign-in creates a server-side
session (:mod:`tubeflow.db.sessions`) whose opaque token goes in an HttpOnly, SameSite=Strict
cookie; every page then authenticates exactly like an API call.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api import dbview
from api.auth import COOKIE, Principal, authenticate, limit_anonymous, verify_key_guarded
from api.context import ApiContext, Ctx
from api.routes_productions import load_view
from api.schemas import ProductionId
from api.views import outputs_in_words
from tubeflow.contracts import STAGES
from tubeflow.db.sessions import create_session, purge_sessions, revoke_session
from tubeflow.youtube_limits import DESCRIPTION_MAX_BYTES, TAGS_MAX_CHARS, TITLE_MAX


async def _event_mark(request: Request, ctx: Ctx) -> None:
    """The live feed's position, read before the page reads anything: the page's script follows
    events after this mark, so a change landing while the page is read is replayed to it.  Read
    after the page's data, a checkpoint opening in between was never shown (the page said
    "working on script" until reloaded by hand).  Only pages (GET) show the feed: sign-in and
    sign-out skip the query, so a guessed key costs no database read before the throttle."""
    if request.method == "GET":
        request.state.event_mark = await dbview.latest_event_id(ctx.db)


router = APIRouter(include_in_schema=False, dependencies=[Depends(_event_mark)])
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# The final checkpoint's metadata form counts against these, as the review validator checks them.
# The stage bar's segments (every stage after "queued"), computed once instead of per row and segment.
templates.env.globals["stage_segments"] = [
    (str(s), s.replace("_", " "), s.startswith("review_"), s.replace("review_", "✓ ").replace("_", " "))
    for s in STAGES[1:]
]
templates.env.globals["youtube_limits"] = {
    "title": TITLE_MAX,
    "description": DESCRIPTION_MAX_BYTES,
    "tags": TAGS_MAX_CHARS,
}


async def page_principal(request: Request, ctx: ApiContext) -> Principal | None:
    try:
        return await authenticate(request, ctx)
    except HTTPException as e:
        if e.status_code == 401:
            return None
        raise


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


async def _render(request: Request, ctx: ApiContext, name: str, principal: Principal, **values: Any) -> Response:
    base = {
        "principal": principal,
        "stages": list(STAGES),
        "latest_event_id": getattr(request.state, "event_mark", 0),
        "waiting_count": await dbview.count_waiting(ctx.db),
    }
    return templates.TemplateResponse(request, name, {**base, **values})


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would make sign-in an open redirect.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/") -> Response:
    values: dict[str, Any] = {"principal": None, "next": _safe_next(next), "stages": []}
    return templates.TemplateResponse(request, "login.html", values)


@router.post("/login", response_class=HTMLResponse, response_model=None)
async def login(
    request: Request,
    ctx: Ctx,
    key: str = Form(..., max_length=500),
    next: str = Form("/", max_length=2000),
) -> Response:
    key = key.strip()
    values: dict[str, Any] = {"principal": None, "next": _safe_next(next)}
    try:
        found = await verify_key_guarded(ctx, request, key)
    except HTTPException as e:
        if e.status_code != 429:
            raise
        values["error"] = "Too many wrong keys from here: sign-in is locked for a while. Try again later."
        return templates.TemplateResponse(request, "login.html", values, status_code=429, headers=e.headers)
    if found is None:
        limit_anonymous(ctx, request)
        values["error"] = "That key is not valid (or was revoked)."
        return templates.TemplateResponse(request, "login.html", values, status_code=401)
    token, _session = await create_session(ctx.db, found.api_key_id, ctx.settings.session_ttl_s)
    await purge_sessions(ctx.db)  # sign-ins are rare: a good moment to drop long-dead sessions
    response = RedirectResponse(values["next"], status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=math.ceil(ctx.settings.session_ttl_s),  # never shorter than the session
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or ctx.settings.resolved_public_base_url().startswith("https:"),
    )
    return response


@router.post("/logout", response_class=RedirectResponse)
async def logout(request: Request, ctx: Ctx) -> RedirectResponse:
    """Sign out: the session is revoked on the server, not only forgotten by this browser."""
    token = request.cookies.get(COOKIE)
    if token and await revoke_session(ctx.db, token):
        ctx.auth.clear()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
async def productions_page(
    request: Request,
    ctx: Ctx,
    channel: str = "",
    state: str = "",
    offset: int = 0,
) -> Response:
    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    limit = 50
    offset = max(0, offset)
    items = await dbview.productions(ctx.db, channel=channel or None, state=state or None, limit=limit, offset=offset)
    filters = {"channel": channel, "state": state}
    return await _render(
        request,
        ctx,
        "productions.html",
        who,
        nav="productions",
        heading="Productions",
        items=items,
        channels=await dbview.channels(ctx.db),
        filters=filters,
        limit=limit,
        offset=offset,
        query_prev=urlencode({**filters, "offset": max(0, offset - limit)}),
        query_next=urlencode({**filters, "offset": offset + limit}),
        empty="No productions yet: start one above, or with `tubeflow produce <channel> --topic ...`.",
    )


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request, ctx: Ctx) -> Response:
    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    items = await dbview.review_queue(ctx.db)
    return await _render(
        request,
        ctx,
        "productions.html",
        who,
        nav="review",
        heading="Review queue",
        items=items,
        channels=[],
        filters={},
        limit=200,
        offset=0,
        empty="Nothing waits for a person. New checkpoints and failures appear here live.",
    )


@router.get("/channels", response_class=HTMLResponse)
async def channels_page(request: Request, ctx: Ctx) -> Response:
    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    return await _render(
        request,
        ctx,
        "channels.html",
        who,
        nav="channels",
        items=await dbview.channels(ctx.db),
        niches=dbview.niche_names(ctx.settings),
    )


@router.get("/productions/{production_id}", response_class=HTMLResponse)
async def production_page(production_id: ProductionId, request: Request, ctx: Ctx) -> Response:
    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    view = await load_view(ctx, production_id)
    since = await dbview.stage_started_at(ctx.db, production_id, str(view["stage"]))
    return await _render(
        request,
        ctx,
        "production.html",
        who,
        nav="productions",
        p=view,
        can_edit=who.can("editor"),
        outputs=outputs_in_words(view.get("outputs") or {}),
        stage_since=since,
        **await _page_parts(ctx, view),
    )


async def _page_parts(ctx: ApiContext, view: dict[str, Any]) -> dict[str, Any]:
    """What the production page's own sections need besides the view: the audio checkpoint's
    transcript and lexicon, the final checkpoint's publish plan, the finished page's videos."""
    from api.audio_review import lexicon_lines, transcript
    from api.finished import finished_view
    from api.publish_plan import publish_plan

    keys = view.get("artifact_keys") or {}
    from tubeflow.db import platform_repo
    from tubeflow.platforms import PLATFORM_LABELS

    parts: dict[str, Any] = {"transcript": [], "lexicon": "", "publish_plan": None, "finished": None}
    posts = await platform_repo.list_posts(ctx.db, production_id=str(view["id"]))
    parts["platform_posts"] = [p.to_dict() for p in posts]
    parts["platform_events"] = await dbview.platform_events(ctx.db, str(view["id"])) if posts else []
    parts["platform_names"] = PLATFORM_LABELS
    if view.get("checkpoint") == "audio" and keys.get("timing"):
        parts["transcript"] = await asyncio.to_thread(
            transcript, ctx.storage, str(keys["timing"]), str(keys.get("audio") or ""), str(keys.get("script") or "")
        )
    if view.get("checkpoint") == "audio":
        parts["lexicon"] = await asyncio.to_thread(lexicon_lines, ctx.storage, str(view["channel"]))
    if view.get("checkpoint") == "final":
        parts["publish_plan"] = await publish_plan(ctx.db, ctx.settings, ctx.storage, view)
    if view.get("state") == "completed":
        from tubeflow.db import channel_repo

        try:
            tz = (await channel_repo.channel_settings(ctx.db, str(view["channel"]))).timezone
        except Exception:  # a channel removed since: times in UTC
            tz = "UTC"
        parts["finished"] = await finished_view(ctx.db, ctx.storage, view, tz)
    return parts


@router.get("/channels/{name}", response_class=HTMLResponse)
async def channel_page(name: str, request: Request, ctx: Ctx) -> Response:
    from api.routes_channels import channel_view
    from api.settings_form import settings_form
    from niches.config import load_niche
    from tubeflow.db import channel_repo
    from tubeflow.errors import ConfigError
    from tubeflow.platforms import PLATFORM_LABELS, PLATFORM_NAMES

    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    view = await channel_view(ctx, name)
    try:
        niche = load_niche(str(view["niche"]), ctx.settings)
    except ConfigError:  # a niche file gone or broken: the form still shows the channel's own values
        niche = None
    cs = await channel_repo.channel_settings(ctx.db, name)
    return await _render(
        request,
        ctx,
        "channel.html",
        who,
        nav="channels",
        c=view,
        settings_groups=settings_form(cs, ctx.settings, niche),
        caption_kinds=CAPTION_KINDS_SHOWN,
        platform_labels=[(p, PLATFORM_LABELS[p]) for p in PLATFORM_NAMES],
        niche_captions=niche.caption_style if niche else None,
        topics=[t.to_dict() for t in await channel_repo.list_topics(ctx.db, name)],
        calendar=[p.to_dict() for p in await channel_repo.list_publications(ctx.db, name)][-20:],
    )


# The caption styles the channel page shows as rendered stills (api/static/captions/<kind>.png,
# made by bench/shorts_layout.py with the real renderer), each with what it looks like in words.
CAPTION_KINDS_SHOWN = (
    ("karaoke", "a line at a time, the spoken word highlighted"),
    ("word-pop", "one or two large words, scaled in as they are said"),
    ("boxed", "whole lines on a dark box: readable over busy pictures"),
    ("classic", "plain subtitle lines, mixed case"),
)


@router.get("/channels/{name}/analytics", response_class=HTMLResponse)
async def channel_analytics_page(name: str, request: Request, ctx: Ctx, video: str = "") -> Response:
    """Views and watch time over time, the videos' table, and one video's retention curve with the
    script's sections marked (drawn as inline SVG by /static/charts.js; no CDN)."""
    from tubeflow.analytics_report import channel_report, video_report

    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    report = await channel_report(ctx.db, name)  # an unknown channel or video is a 404 (api/errors.py)
    chosen = video or (report["videos"][0]["video_id"] if report["videos"] else "")
    detail = None
    if chosen:
        detail = await video_report(ctx.db, ctx.storage, name, chosen)
    return await _render(
        request, ctx, "analytics.html", who, nav="channels", channel=name, report=report, detail=detail
    )


@router.get("/calendar", response_class=HTMLResponse)
async def calendar_page(request: Request, ctx: Ctx, channel: str = "", start: str = "") -> Response:
    from datetime import datetime, timedelta

    from api.routes_channels import calendar_view

    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    try:
        begin = datetime.fromisoformat(start) if start else None
    except ValueError:
        begin = None
    if begin is not None and not 2000 <= begin.year <= 2200:
        begin = None
    view = await calendar_view(ctx, channel or None, begin, 7)
    first = datetime.fromisoformat(view["start"])
    days = [(first + timedelta(days=i)) for i in range(7)]
    names = [c["name"] for c in await dbview.channels(ctx.db)]
    shown = [channel] if channel else names
    entries = await _calendar_entries(ctx, view)
    grid = {
        (ch, d.date().isoformat()): [
            e for e in entries if e["channel"] == ch and (e["calendar_at"] or "")[:10] == d.date().isoformat()
        ]
        for ch in shown
        for d in days
    }
    return await _render(
        request,
        ctx,
        "calendar.html",
        who,
        nav="calendar",
        days=[d.date().isoformat() for d in days],
        channels=shown,
        all_channels=names,
        channel=channel,
        grid=grid,
        pending=view["pending"],
        prev_start=(first - timedelta(days=7)).date().isoformat(),
        next_start=(first + timedelta(days=7)).date().isoformat(),
    )


async def _calendar_entries(ctx: ApiContext, view: dict[str, Any]) -> list[dict[str, Any]]:
    """YouTube's videos and the Shorts' TikTok and Instagram posts as one list by calendar time, each
    labelled with its platform: what the week's cells show."""
    from tubeflow.db import repo
    from tubeflow.db.repo import NotFoundError
    from tubeflow.platforms import PLATFORM_LABELS

    titles = {i["production_id"]: i["title"] for i in view["items"] if i.get("title")}
    out: list[dict[str, Any]] = [
        {
            "channel": i["channel"],
            "calendar_at": i["calendar_at"] or "",
            "platform": "youtube",
            "label": PLATFORM_LABELS["youtube"],
            "production_id": i["production_id"],
            "title": i["title"],
            "short": i["idx"] + 1 if i["kind"] == "short" else 0,
            "status": i["status"],
            "scheduled": bool(i["publish_at"]),
            "link": "",
            "reason": "",
        }  # fmt: skip
        for i in view["items"]
    ]
    for p in view["platform_posts"]:
        if p["status"] == "skipped":
            continue  # unticked at the final checkpoint: nothing goes there
        pid = p["production_id"]
        if pid not in titles:
            try:
                found = await repo.get_production(ctx.db, pid)
                titles[pid] = found.title or found.topic
            except NotFoundError:
                titles[pid] = pid
        out.append(
            {
                "channel": p["channel"],
                "calendar_at": p["calendar_at"] or "",
                "platform": p["platform"],
                "label": PLATFORM_LABELS.get(p["platform"], p["platform"]),
                "production_id": pid,
                "title": titles[pid],
                "short": p["idx"] + 1,
                "status": p["status"],
                "scheduled": bool(p["publish_at"]),
                "link": p["location"],
                "reason": p["reason"],
            }  # fmt: skip
        )
    return sorted(out, key=lambda e: (e["calendar_at"], e["platform"] != "youtube", e["platform"]))


@router.get("/video-jobs", response_class=HTMLResponse)
async def video_jobs_page(request: Request, ctx: Ctx) -> Response:
    """The signed-in key's video jobs; running ones follow their event stream live (jobs.js)."""
    from api import jobs_bridge

    who = await page_principal(request, ctx)
    if who is None:
        return _login_redirect(request)
    rows, _next = await jobs_bridge.list_jobs(ctx.client(), jobs_bridge.owner_of(who), "", None, 50, b"")
    return await _render(request, ctx, "jobs.html", who, nav="jobs", items=rows)
