"""`tubeflow channel show|set|connect|pause|resume`, `tubeflow calendar`, `tubeflow topics`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from tubeflow.settings import Settings

console = Console()


def register(app: typer.Typer, channel_app: typer.Typer, run: Any, settings: Any, db: Any) -> None:
    """Add the channel-operation commands; ``run``/``settings``/``db`` are cli.main's helpers."""

    async def _sync(s: Settings, name: str, changed: set[str]) -> str:
        from service.cadence import sync_schedule
        from service.client import connect
        from tubeflow.db import channel_repo

        database = await db(s)
        try:
            cs = await channel_repo.channel_settings(database, name)
        finally:
            await database.close()
        if not cs.cadence and "cadence" not in changed:
            return ""
        try:
            client = await connect(s)
        except RuntimeError as e:  # Temporal is down: the main worker syncs schedules when it starts
            return f"settings saved; the cadence schedule syncs when a main worker starts ({e.__class__.__name__})"
        return await sync_schedule(client, s, name, cs)

    @channel_app.command("show")
    def channel_show(name: str, as_json: bool = typer.Option(False, "--json")) -> None:
        """A channel's settings (its own and what the niche decides), YouTube account and cadence."""

        async def go() -> None:
            from tubeflow.db import channel_repo, repo

            s = settings()
            database = await db(s)
            try:
                ch = await repo.get_channel(database, name)
                cs = await channel_repo.channel_settings(database, name)
                account = await channel_repo.get_account(database, name)
            finally:
                await database.close()
            cadence = None
            if cs.cadence:
                try:
                    from service.cadence import describe
                    from service.client import connect

                    cadence = await describe(await connect(s), name)
                except Exception as e:  # Temporal down: the rest is still worth showing
                    cadence = {"error": str(e)}
            out = {
                "name": ch.name,
                "niche": ch.niche,
                "settings": cs.to_dict(),
                "youtube": account.to_dict() if account else None,
                "cadence": cadence,
            }
            if as_json:
                print(json.dumps(out, indent=2, default=str))
                return
            console.print(f"[bold]{ch.name}[/bold] (niche {ch.niche})")
            table = Table("setting", "value")
            for k, v in cs.to_dict().items():
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
                    f"YouTube: {account.youtube_title} ({account.youtube_channel_id}), project {account.project}, "
                    f"{state}"
                )
            if cadence:
                console.print(f"cadence: {json.dumps(cadence, default=str)}")

        run(go())

    @channel_app.command("set")
    def channel_set(name: str, assignments: list[str] = typer.Argument(..., help="key=value ...")) -> None:
        """Change settings, e.g. `publish_slots="mon,wed,fri 17:00" timezone=Europe/Lisbon privacy=public`."""

        async def go() -> None:
            from tubeflow.channel_settings import parse_assignments
            from tubeflow.db import channel_repo

            s = settings()
            changes = parse_assignments(assignments)
            database = await db(s)
            try:
                from service.languages import require_channel_language

                await require_channel_language(database, s, name, changes)  # a language nothing here speaks
                await channel_repo.update_settings(database, name, changes)
            finally:
                await database.close()
            console.print(f"{name}: set {', '.join(changes)}")
            if {"cadence", "publish_slots", "lead_time_hours", "timezone"} & set(changes):
                said = await _sync(s, name, set(changes))
                if said:
                    console.print(said)

        run(go())

    @channel_app.command("connect")
    def channel_connect(
        name: str,
        client_secrets: str = typer.Option("", help="OAuth client JSON (default: TUBEFLOW_YOUTUBE_CLIENT_SECRETS)"),
        no_browser: bool = typer.Option(False, "--no-browser", help="print the URL instead of opening a browser"),
    ) -> None:
        """Connect the channel to a YouTube account (OAuth installed-app flow on 127.0.0.1)."""

        async def go() -> None:
            from activities.youtube_connect import connect_installed

            s = settings()
            database = await db(s)
            try:
                account = await connect_installed(s, database, name, client_secrets, open_browser=not no_browser)
            finally:
                await database.close()
            console.print(
                f"{name} publishes to YouTube channel [bold]{account.youtube_title}[/bold] "
                f"({account.youtube_channel_id})"
            )
            await _resume_blocked(s, name)
            await _start_analytics(s, name)

        run(go())

    @channel_app.command("disconnect")
    def channel_disconnect(name: str) -> None:
        """Forget the channel's YouTube account: credentials deleted, analytics collection stopped.

        Later videos publish as for a channel never connected (TUBEFLOW_PUBLISHER, the outbox by
        default).  The grant itself stays in the Google account until revoked there.
        """

        async def go() -> None:
            from tubeflow.db import channel_repo

            s = settings()
            database = await db(s)
            try:
                gone = await channel_repo.remove_account(database, name)
            finally:
                await database.close()
            if gone is None:
                console.print(f"{name}: no YouTube account was connected")
            else:
                console.print(
                    f"{name}: disconnected from YouTube channel {gone.youtube_title} ({gone.youtube_channel_id}); "
                    "its credentials are deleted. Revoke the grant at https://myaccount.google.com/permissions "
                    "if it should end there too."
                )
            await _stop_analytics(s, name)

        run(go())

    @channel_app.command("pause")
    def channel_pause(name: str) -> None:
        """Pause the channel's cadence schedule (no new productions; running ones go on)."""

        async def go() -> None:
            from service.cadence import set_paused
            from service.client import connect

            await set_paused(await connect(settings()), name, True)
            console.print(f"{name}: cadence paused")

        run(go())

    @channel_app.command("resume")
    def channel_resume(name: str) -> None:
        async def go() -> None:
            from service.cadence import set_paused
            from service.client import connect

            await set_paused(await connect(settings()), name, False)
            console.print(f"{name}: cadence resumed")

        run(go())

    @app.command("calendar")
    def calendar(
        args: list[str] = typer.Argument(None, help="[CHANNEL] | move PRODUCTION_ID"),
        week: bool = typer.Option(False, "--week", help="only the next 7 days"),
        at: str = typer.Option("", help="with `move`: the new time, ISO-8601 with zone"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """The publishing calendar (`calendar [CH] [--week]`), or `calendar move ID --at TIME`."""
        args = list(args or [])

        async def go() -> None:
            from tubeflow.db import channel_repo

            s = settings()
            database = await db(s)
            try:
                if args and args[0] == "move":
                    if len(args) != 2 or not at:
                        raise typer.BadParameter("usage: tubeflow calendar move PRODUCTION_ID --at 2026-12-04T17:00Z")
                    from activities.calendar import move_publication

                    when = datetime.fromisoformat(at.replace("Z", "+00:00"))
                    entry = await move_publication(s, database, args[1], when)
                    console.print(f"{entry.production_id} now publishes at {entry.publish_at}")
                    return
                channel = args[0] if args else None
                start = datetime.now(UTC) - timedelta(days=1) if week else None
                end = datetime.now(UTC) + timedelta(days=7) if week else None
                items = await channel_repo.list_publications(database, channel, start, end)
            finally:
                await database.close()
            if as_json:
                print(json.dumps([i.to_dict() for i in items], indent=2))
                return
            table = Table("when (UTC)", "channel", "production", "kind", "status", "title", "where")
            for i in items:
                table.add_row(
                    str(i.publish_at or "at once")[:16],
                    i.channel,
                    i.production_id,
                    i.kind if i.kind == "long" else f"short {i.idx}",
                    i.status,
                    i.title[:40],
                    i.location,
                )
            console.print(table)

        run(go())

    @app.command("topics")
    def topics(
        args: list[str] = typer.Argument(..., help="CHANNEL (suggestions) | add CHANNEL TOPIC | list CHANNEL"),
        count: int = typer.Option(5),
    ) -> None:
        """Suggest topics (`topics CH`), add to a channel's backlog (`topics add CH "..."`), list it."""

        async def go() -> None:
            from tubeflow.db import channel_repo

            s = settings()
            database = await db(s)
            try:
                if args[0] == "add" and len(args) == 3:
                    t = await channel_repo.add_topic(database, args[1], args[2])
                    console.print(f"added to {t.channel}'s backlog: {t.topic}")
                    return
                if args[0] == "list" and len(args) == 2:
                    for t in await channel_repo.list_topics(database, args[1]):
                        console.print(f"- {t.topic}")
                    return
                if len(args) != 1:
                    raise typer.BadParameter('use: topics CH | topics add CH "topic" | topics list CH')
                from knowledge.topics import rank_for_channel

                for ranked in await rank_for_channel(s, database, args[0], count):
                    why = f"  ({ranked.explanation})" if ranked.explanation else ""
                    console.print(f"- {ranked.topic}{why}", markup=False)
            finally:
                await database.close()

        run(go())


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


async def _stop_analytics(s: Settings, channel: str) -> None:
    from service.client import connect
    from tubeflow.schedules import remove_analytics_schedule

    try:
        client = await connect(s)
    except RuntimeError as e:  # Temporal is down: the main worker removes schedules of unconnected channels
        console.print(f"analytics schedule left for the main worker to remove ({e.__class__.__name__})")
        return
    if await remove_analytics_schedule(client, channel):
        console.print(f"{channel}: daily analytics collection stopped")


async def _resume_blocked(s: Settings, channel: str) -> None:
    """Productions of the channel that wait for a reconnect continue now (signal)."""
    from service.client import connect, signal_reconnected
    from tubeflow.db import repo

    database = None
    try:
        from tubeflow.db.engine import open_database

        database = await open_database(s)
        blocked = await repo.list_productions(database, channel=channel, state="blocked", limit=1000)
        if not blocked:
            return
        client = await connect(s)
        for p in blocked:
            await signal_reconnected(client, p.id)
            console.print(f"{p.id} continues publishing")
    finally:
        if database is not None:
            await database.close()
