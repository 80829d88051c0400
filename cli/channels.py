"""`tubeflow channel add|list|show|set|connect|disconnect|pause|resume`, `tubeflow calendar`, `tubeflow topics`.

:data:`channel_app` is mounted by :mod:`cli.main` as ``channel``; :func:`calendar` and
:func:`topics` are top-level commands it registers.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cli.context import console, with_db, with_settings
from tubeflow.settings import Settings

if TYPE_CHECKING:
    from tubeflow.db.engine import Database

channel_app = typer.Typer(help="Channels (each belongs to one niche).", no_args_is_help=True)

# Channel settings whose change moves the cadence schedule.
CADENCE_KEYS = frozenset({"cadence", "publish_slots", "lead_time_hours", "timezone"})


@channel_app.command("add")
def channel_add(name: str, niche: str = typer.Option(..., help="a niche from niches/*.yaml")) -> None:
    """Create a channel in a niche."""

    async def go(s: Settings, db: Database) -> None:
        from niches.config import load_niche
        from service.languages import require_language_support
        from tubeflow.db import repo

        support = require_language_support(s, load_niche(niche, s))  # unknown niche or unspoken language
        await repo.create_channel(db, name, niche)
        console.print(
            f"channel [bold]{name}[/bold] created in niche {niche} "
            f"({support.language}: voice {support.voice}, captions {support.captions})"
        )

    with_db(go)


@channel_app.command("list")
def channel_list() -> None:
    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import repo

        table = Table("name", "niche", "created")
        for r in await repo.list_channels(db):
            table.add_row(r.name, r.niche, str(r.created_at)[:19])
        console.print(table)

    with_db(go)


@channel_app.command("show")
def channel_show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """A channel's settings (its own and what the niche decides), YouTube account and cadence."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import channel_repo, platform_repo, repo
        from tubeflow.platforms import PLATFORM_LABELS

        ch = await repo.get_channel(db, name)
        cs = await channel_repo.channel_settings(db, name)
        account = await channel_repo.get_account(db, name)
        cadence = await _cadence_of(s, name) if cs.cadence else None
        others = await platform_repo.list_accounts(db, name)
        if as_json:
            out = {
                "name": ch.name,
                "niche": ch.niche,
                "settings": cs.to_dict(),
                "youtube": account.to_dict() if account else None,
                "platforms": {a.platform: a.to_dict() for a in others},
                "cadence": cadence,
            }
            print(json.dumps(out, indent=2, default=str))
            return
        _print_channel(ch.name, ch.niche, cs.to_dict(), account, cadence)
        for a in others:
            state = (
                "[green]connected[/green]" if a.status == "connected" else f"[red]reconnect needed[/red]: {a.reason}"
            )
            console.print(f"{PLATFORM_LABELS.get(a.platform, a.platform)}: {a.account_name}, {state}")

    with_db(go)


async def _cadence_of(s: Settings, name: str) -> dict[str, Any] | None:
    try:
        from service.cadence import describe
        from service.client import connect

        return await describe(await connect(s), name)
    except Exception as e:  # Temporal down: the rest is still worth showing
        return {"error": str(e)}


def _print_channel(
    name: str, niche: str, settings: dict[str, Any], account: Any, cadence: dict[str, Any] | None
) -> None:
    console.print(f"[bold]{name}[/bold] (niche {niche})")
    table = Table("setting", "value")
    for k, v in settings.items():
        shown = "(niche)" if v in ("", None) and k in ("language", "voice", "required_checkpoints") else v
        table.add_row(k, ", ".join(shown) if isinstance(shown, list) else str(shown))
    console.print(table)
    if account is None:
        console.print(f"YouTube: not connected (`tubeflow channel connect {name}`)")
    else:
        state = (
            "[green]connected[/green]"
            if account.status == "connected"
            else f"[red]reconnect needed[/red]: {account.reason}"
        )
        console.print(
            f"YouTube: {account.youtube_title} ({account.youtube_channel_id}), project {account.project}, {state}"
        )
    if cadence:
        console.print(f"cadence: {json.dumps(cadence, default=str)}")


@channel_app.command("set")
def channel_set(name: str, assignments: list[str] = typer.Argument(..., help="key=value ...")) -> None:
    """Change settings, e.g. `publish_slots="mon,wed,fri 17:00" timezone=Europe/Lisbon privacy=public`."""

    async def go(s: Settings, db: Database) -> None:
        from service.languages import require_channel_language
        from tubeflow.channel_settings import parse_assignments
        from tubeflow.db import channel_repo

        changes = parse_assignments(assignments)
        await require_channel_language(db, s, name, changes)  # a language nothing here speaks
        await channel_repo.update_settings(db, name, changes)
        console.print(f"{name}: set {', '.join(changes)}")
        if CADENCE_KEYS & set(changes):
            said = await _sync(s, db, name, set(changes))
            if said:
                console.print(said)

    with_db(go)


async def _sync(s: Settings, db: Database, name: str, changed: set[str]) -> str:
    from service.cadence import sync_schedule
    from service.client import connect
    from tubeflow.db import channel_repo

    cs = await channel_repo.channel_settings(db, name)
    if not cs.cadence and "cadence" not in changed:
        return ""
    try:
        client = await connect(s)
    except RuntimeError as e:  # Temporal is down: the main worker syncs schedules when it starts
        return f"settings saved; the cadence schedule syncs when a main worker starts ({e.__class__.__name__})"
    return await sync_schedule(client, s, name, cs)


@channel_app.command("connect")
def channel_connect(
    name: str,
    client_secrets: str = typer.Option("", help="OAuth client JSON (default: TUBEFLOW_YOUTUBE_CLIENT_SECRETS)"),
    no_browser: bool = typer.Option(False, "--no-browser", help="print the URL instead of opening a browser"),
    platform: str = typer.Option("youtube", "--platform", help="youtube, tiktok or instagram"),
) -> None:
    """Connect the channel to a YouTube account, or (--platform) a TikTok or Instagram account its
    Shorts also go to (OAuth, the answer received on 127.0.0.1)."""
    if platform != "youtube":
        _connect_platform(name, platform, open_browser=not no_browser)
        return

    async def go(s: Settings, db: Database) -> None:
        from activities.youtube_connect import connect_installed

        account = await connect_installed(s, db, name, client_secrets, open_browser=not no_browser)
        console.print(
            f"{name} publishes to YouTube channel [bold]{account.youtube_title}[/bold] ({account.youtube_channel_id})"
        )
        await _resume_blocked(s, db, name)
        await _start_analytics(s, name)

    with_db(go)


def _connect_platform(name: str, platform: str, open_browser: bool) -> None:
    from tubeflow.platforms import PLATFORM_LABELS, platform_problem

    if (problem := platform_problem(platform)) is not None:
        raise typer.BadParameter(f"{problem} (or youtube)", param_hint="--platform")

    async def go(s: Settings, db: Database) -> None:
        from activities.platform_connect import connect_loopback

        def show(url: str) -> None:
            console.print(f"open this page to connect {name} to {PLATFORM_LABELS[platform]}:\n{url}", markup=False)

        account = await connect_loopback(s, db, name, platform, open_browser=open_browser, on_url=show)
        console.print(f"{name}'s Shorts also go to {PLATFORM_LABELS[platform]} as [bold]{account.account_name}[/bold]")
        await _resume_platform(s, db, name, platform)
        await _start_analytics(s, name)

    with_db(go)


async def _resume_platform(s: Settings, db: Database, channel: str, platform: str) -> None:
    """The channel's productions posting Shorts continue on the reconnected platform now (signal)."""
    from service.client import connect, signal_platform_reconnected
    from tubeflow.db import repo

    running = [p for p in await repo.list_productions(db, channel=channel, limit=1000) if p.stage == "shorts"]
    if not running:
        return
    client = await connect(s)
    for p in running:
        if await signal_platform_reconnected(client, p.id, platform):
            console.print(f"{p.id} continues posting to {platform}")


@channel_app.command("disconnect")
def channel_disconnect(
    name: str, platform: str = typer.Option("youtube", "--platform", help="youtube, tiktok or instagram")
) -> None:
    """Forget the channel's YouTube account: credentials deleted, analytics collection stopped.

    Later videos publish as for a channel never connected (TUBEFLOW_PUBLISHER, the outbox by
    default).  The grant itself stays in the Google account until revoked there.  With
    --platform tiktok|instagram: forget that account; later Shorts no longer go there.
    """
    if platform != "youtube":

        async def forget(s: Settings, db: Database) -> None:
            from tubeflow.db import platform_repo
            from tubeflow.platforms import PLATFORM_LABELS

            gone = await platform_repo.remove_account(db, name, platform)
            label = PLATFORM_LABELS.get(platform, platform)
            if gone is None:
                console.print(f"{name}: no {label} account was connected")
            else:
                console.print(f"{name}: disconnected from {label} account {gone.account_name}; its token is deleted")
                await _stop_analytics(s, db, name)

        with_db(forget)
        return

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import channel_repo

        gone = await channel_repo.remove_account(db, name)
        if gone is None:
            console.print(f"{name}: no YouTube account was connected")
        else:
            console.print(
                f"{name}: disconnected from YouTube channel {gone.youtube_title} ({gone.youtube_channel_id}); "
                "its credentials are deleted. Revoke the grant at https://myaccount.google.com/permissions "
                "if it should end there too."
            )
        await _stop_analytics(s, db, name)

    with_db(go)


@channel_app.command("pause")
def channel_pause(name: str) -> None:
    """Pause the channel's cadence schedule (no new productions; running ones go on)."""
    _set_paused(name, True)


@channel_app.command("resume")
def channel_resume(name: str) -> None:
    _set_paused(name, False)


def _set_paused(name: str, paused: bool) -> None:
    async def go(s: Settings) -> None:
        from service.cadence import set_paused
        from service.client import connect

        await set_paused(await connect(s), name, paused)
        console.print(f"{name}: cadence {'paused' if paused else 'resumed'}")

    with_settings(go)


def calendar(
    args: list[str] = typer.Argument(None, help="[CHANNEL] | move PRODUCTION_ID"),
    week: bool = typer.Option(False, "--week", help="this week: published since Monday, scheduled for the next 7 days"),
    at: str = typer.Option("", help="with `move`: the new time, ISO-8601 with zone"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The publishing calendar (`calendar [CH] [--week]`), or `calendar move ID --at TIME`."""
    args = list(args or [])
    if args and args[0] == "move":
        if len(args) != 2 or not at:
            raise typer.BadParameter("usage: tubeflow calendar move PRODUCTION_ID --at 2026-12-04T17:00Z")
        _calendar_move(args[1], at)
        return

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import channel_repo, platform_repo

        channel = args[0] if args else None
        now = datetime.now(UTC)
        start, end = week_window(now) if week else (None, None)
        items = await channel_repo.list_publications(db, channel, start, end)
        posts = await platform_repo.list_posts(db, channel, start, end)
        if as_json:
            out = [{**i.to_dict(), "platform": "youtube"} for i in items]
            print(json.dumps(out + [{**p.to_dict(), "kind": "short"} for p in posts], indent=2))
            return
        if week and start is not None and end is not None:
            _print_week(items, channel, now, start, end)
        elif not items:
            console.print(_nothing_on(channel, start, end), markup=False)
        else:
            _print_calendar(items)
        if posts:
            console.print("Shorts on TikTok and Instagram (UTC):", markup=False)
            _print_posts(posts)

    with_db(go)


def week_window(now: datetime) -> tuple[datetime, datetime]:
    """This week as `calendar --week` shows it (UTC): since Monday 00:00, for what was published,
    through the next seven days, for what is scheduled."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday()), today + timedelta(days=8)


def _went_up(item: Any, now: datetime) -> bool:
    """Published: uploaded at once (public, or private/unlisted for a person to flip), or scheduled
    for a time that has come."""
    return bool(
        item.status in ("published", "private", "unlisted")
        or (item.status == "scheduled" and item.publish_at and item.publish_at <= now)
    )


def _print_week(items: list[Any], channel: str | None, now: datetime, start: datetime, end: datetime) -> None:
    """What went up this week and what is still to come, each said even when there is none."""
    whose = f" on {channel}" if channel else ""
    published = [i for i in items if _went_up(i, now)]
    coming = [i for i in items if not _went_up(i, now)]
    since, until = f"{start:%a %Y-%m-%d}", f"{end - timedelta(days=1):%a %Y-%m-%d}"
    if not published and not coming:
        console.print(
            f"nothing was published{whose} this week (since {since}) and nothing is scheduled through {until} (UTC)",
            markup=False,
        )
        return
    if published:
        console.print(f"published{whose} this week (since {since}, UTC):", markup=False)
        _print_calendar(published)
    else:
        console.print(f"nothing was published{whose} this week (since {since}, UTC)", markup=False)
    if coming:
        console.print(f"scheduled{whose} through {until} (UTC):", markup=False)
        _print_calendar(coming)
    else:
        console.print(f"nothing is scheduled{whose} through {until} (UTC)", markup=False)


def _calendar_move(production_id: str, at: str) -> None:
    async def go(s: Settings, db: Database) -> None:
        from activities.calendar import move_publication

        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
        entry = await move_publication(s, db, production_id, when)
        console.print(f"{entry.production_id} now publishes at {entry.publish_at}")

    with_db(go)


def _nothing_on(channel: str | None, start: datetime | None, end: datetime | None) -> str:
    """What an empty calendar says, instead of an empty table that reads like an error."""
    whose = f" for {channel}" if channel else ""
    if start is None or end is None:
        return f"nothing is scheduled or published{whose}"
    return f"nothing is scheduled or published{whose} from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def _when(item: Any) -> str:
    """A slot's time, or when a video published at once went up (it had no slot)."""
    if item.publish_at is not None:
        return f"{item.publish_at:%Y-%m-%d %H:%M}"
    return f"{item.calendar_at:%Y-%m-%d %H:%M} (at once)" if item.calendar_at else "at once"


def _print_calendar(items: list[Any]) -> None:
    table = Table("when (UTC)", "channel", "production", "kind", "status", "title", "where")
    for i in items:
        table.add_row(
            _when(i),
            i.channel,
            i.production_id,
            i.kind if i.kind == "long" else f"short {i.idx}",
            i.status,
            i.title[:40],
            i.location,
        )
    console.print(table)


def _print_posts(posts: list[Any]) -> None:
    """Each platform's own calendar: its slot (or when it went up), and what happened."""
    from tubeflow.platforms import PLATFORM_LABELS

    table = Table("when (UTC)", "channel", "production", "platform", "kind", "status", "where / why")
    for p in posts:
        when = (
            f"{p.publish_at:%Y-%m-%d %H:%M}"
            if p.publish_at
            else (f"{p.posted_at:%Y-%m-%d %H:%M} (at once)" if p.posted_at else "at once")
        )
        table.add_row(
            when, p.channel, p.production_id, PLATFORM_LABELS.get(p.platform, p.platform), f"short {p.idx}",
            p.status, p.location or p.reason,
        )  # fmt: skip
    console.print(table)


def topics(
    args: list[str] = typer.Argument(..., help="CHANNEL (suggestions) | add CHANNEL TOPIC | list CHANNEL"),
    count: int = typer.Option(5),
) -> None:
    """Suggest topics (`topics CH`), add to a channel's backlog (`topics add CH "..."`), list it."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import channel_repo

        if args[0] == "add" and len(args) == 3:
            t = await channel_repo.add_topic(db, args[1], args[2])
            console.print(f"added to {t.channel}'s backlog: {t.topic}")
            return
        if args[0] == "list" and len(args) == 2:
            for t in await channel_repo.list_topics(db, args[1]):
                console.print(f"- {t.topic}")
            return
        if len(args) != 1:
            raise typer.BadParameter('use: topics CH | topics add CH "topic" | topics list CH')
        from knowledge.topics import rank_for_channel

        for ranked in await rank_for_channel(s, db, args[0], count):
            why = f"  ({ranked.explanation})" if ranked.explanation else ""
            console.print(f"- {ranked.topic}{why}", markup=False)

    with_db(go)


async def _start_analytics(s: Settings, channel: str) -> None:
    """The channel's daily analytics schedule, created now so the 28-day backfill runs at once."""
    from service.client import connect
    from tubeflow.schedules import ensure_analytics_schedule

    try:
        client = await connect(s)
    except RuntimeError as e:  # Temporal is down: the main worker creates the schedule when it starts
        console.print(f"analytics collection starts when a main worker starts ({e.__class__.__name__})")
        return
    if await ensure_analytics_schedule(client, s, channel):
        console.print(f"daily analytics collection scheduled ({channel}: first run backfills 28 days)")


async def _stop_analytics(s: Settings, db: Database, channel: str) -> None:
    """Stop the daily collection once the channel has no account left to read (YouTube, TikTok, Instagram)."""
    from service.client import connect
    from tubeflow.schedules import stop_analytics_if_unwanted

    try:
        client = await connect(s)
    except RuntimeError as e:  # Temporal is down: the main worker removes schedules of unconnected channels
        console.print(f"analytics schedule left for the main worker to remove ({e.__class__.__name__})")
        return
    if await stop_analytics_if_unwanted(client, db, channel):
        console.print(f"{channel}: daily analytics collection stopped")


async def _resume_blocked(s: Settings, db: Database, channel: str) -> None:
    """Productions of the channel that wait for a reconnect continue now (signal)."""
    from service.client import connect, signal_reconnected
    from tubeflow.db import repo

    blocked = await repo.list_productions(db, channel=channel, state="blocked", limit=1000)
    if not blocked:
        return
    client = await connect(s)
    for p in blocked:
        await signal_reconnected(client, p.id)
        console.print(f"{p.id} continues publishing")
