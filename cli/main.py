"""The `tubeflow` command line: run the stack, manage channels, start and review productions."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.channels import calendar, channel_app, topics
from cli.context import (
    console,
    database,
    err,
    flush_traces,
    load_settings,
    observed,
    raw_database,
    run,
    with_db,
    with_settings,
)
from cli.quota import quota_app
from tubeflow.errors import TubeflowError
from tubeflow.settings import Settings

if TYPE_CHECKING:
    from tubeflow.db.engine import Database

app = typer.Typer(help="tubeflow: YouTube video production on Temporal, with human checkpoints.", no_args_is_help=True)
key_app = typer.Typer(help="API keys for the dashboard and the REST API.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema (Alembic migrations shipped with tubeflow).", no_args_is_help=True)
app.add_typer(channel_app, name="channel")
app.command("calendar")(calendar)
app.command("topics")(topics)
app.add_typer(key_app, name="key")
notify_app = typer.Typer(help="Notifications: webhooks and e-mail (README 'Notifications').", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(notify_app, name="notify")
app.add_typer(quota_app, name="quota")
DEMO_CHANNEL = "demo"
DEMO_NICHE = "science"
DEMO_TOPIC = "Why is the sky blue?"


# ---------------------------------------------------------------- processes


@app.command()
def worker(
    queue: str = typer.Option("main", help="main (workflows + CPU activities) or gpu (FFmpeg/Whisper)"),
    concurrency: int = typer.Option(
        0, help="GPU queue only: activities at once (0 = TUBEFLOW_GPU_SLOTS: 1 with NVENC, else RENDER_PARALLEL)"
    ),
) -> None:
    """Run a worker for one task queue until SIGTERM/Ctrl-C."""
    from service.worker import run_worker

    s = observed(f"worker-{queue}")
    try:
        asyncio.run(run_worker(queue, s, concurrency))
    finally:
        flush_traces()


@app.command()
def api() -> None:
    """Serve the REST API and the dashboard."""
    import uvicorn

    from api.app import create_app

    s = observed("api")
    try:
        # log_config=None: uvicorn's loggers go through our JSON handler like everything else.
        # access_log=False: api/observability.py writes one access line per request, with its request id.
        uvicorn.run(
            create_app(s), host=s.api_host, port=s.api_port, log_level="info", log_config=None, access_log=False
        )
    finally:
        flush_traces()


@app.command()
def dev() -> None:
    """Start the Temporal dev server (with Web UI), both workers and the API, restarting any that dies.

    Ctrl-C, SIGTERM and SIGHUP stop them all.
    """
    from cli.devstack import DevStack, stop_signals

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    s = load_settings()
    stack = DevStack(s)
    stop_signals()
    try:
        started = stack.start_temporal()
        stack.start_workers()
        stack.start_api()
        console.print(f"Temporal       {s.temporal_address} {'(started)' if started else '(already running)'}")
        console.print(f"Temporal UI    http://localhost:{s.temporal_ui_port}")
        console.print(f"Dashboard/API  http://{s.api_host}:{s.api_port}  (OpenAPI: /docs)")
        console.print(f"Logs           {stack.logs}")
        console.print("Ctrl-C (or SIGTERM) stops everything; a part that dies is restarted.")
        stack.serve_forever()
    except KeyboardInterrupt:
        console.print("stopping...")
    finally:
        stack.stop()


@app.command()
def autoscaler(provider: str = typer.Option("local", help="local | kubernetes | runpod | vastai")) -> None:
    """Scale GPU workers on the GPU queue's backlog (to zero when idle)."""
    from autoscaler.controller import run_autoscaler

    s = observed("autoscaler")
    try:
        asyncio.run(run_autoscaler(s, provider))
    finally:
        flush_traces()


# ---------------------------------------------------------------- keys


@key_app.command("create")
def key_create(
    role: str = typer.Option("editor", help="admin | editor | viewer"), name: str = typer.Option("cli")
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import repo

        plaintext, _row = await repo.create_api_key(db, name, role)
        console.print(plaintext)

    with_db(go)


@key_app.command("list")
def key_list(as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table")) -> None:
    """API keys: id, name, role, prefix, dates; never the secret (only its hash is stored)."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import repo

        rows = await repo.list_api_keys(db)
        if as_json:
            print(json.dumps([r.to_dict() for r in rows], indent=2))
            return
        table = Table("id", "name", "role", "prefix", "created", "last used", "state")
        for r in rows:
            state = f"revoked {str(r.revoked_at)[:19]}" if r.revoked else "active"
            table.add_row(
                str(r.id),
                r.name,
                r.role,
                r.prefix or "-",
                str(r.created_at)[:19],
                str(r.last_used_at or "")[:19],
                state,
            )
        console.print(table)

    with_db(go)


@key_app.command("revoke")
def key_revoke(key_id: int = typer.Argument(..., help="the id from `tubeflow key list`")) -> None:
    """Revoke a key: every API process refuses it, and its dashboard sessions, within a second."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import repo

        row = await repo.revoke_api_key(db, key_id)
        console.print(f"key {row.id} ({row.name}, {row.role}) revoked")

    with_db(go)


@key_app.command("rotate")
def key_rotate(key_id: int = typer.Argument(..., help="the id from `tubeflow key list`")) -> None:
    """Replace a key: a new one with the same name and role is printed once; the old one is revoked."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import repo

        plaintext, row = await repo.rotate_api_key(db, key_id)
        print(plaintext)
        typer.echo(f"key {key_id} revoked; new key {row.id} ({row.name}, {row.role}) above", err=True)

    with_db(go)


# ---------------------------------------------------------------- database schema

# Every module that defines tables; autogenerate and the migration tests compare against all of them.
SCHEMA_MODULES = ("tubeflow.db.models", "knowledge.models", "autoscaler.models")


def schema_metadata() -> Any:
    """The metadata of every table the code defines (imports each room's models)."""
    import importlib

    from tubeflow.db.base import Base

    for module in SCHEMA_MODULES:
        importlib.import_module(module)
    return Base.metadata


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply missing migrations (what every process does at start unless TUBEFLOW_DATABASE_AUTO_MIGRATE=false)."""

    async def go(s: Settings) -> None:
        from tubeflow.db import migrate

        async with raw_database(s.resolved_database_url()) as db:
            before = await migrate.upgrade(db.engine)
            after = await migrate.current(db.engine)
        was = ",".join(before) or "none"
        now = ",".join(after)
        console.print(f"{db!r}: {'already at ' + now if was == now else f'upgraded from {was} to {now}'}")

    with_settings(go)


@db_app.command("current")
def db_current() -> None:
    """Print the revision the database is at and the one this code ships."""

    async def go(s: Settings) -> None:
        from tubeflow.db import migrate

        async with raw_database(s.resolved_database_url()) as db:
            have = await migrate.current(db.engine)
        console.print(f"database {','.join(have) or 'none'}  code {','.join(migrate.heads())}")

    with_settings(go)


@db_app.command("revision")
def db_revision(message: str = typer.Option(..., "-m", "--message", help="what the change is for")) -> None:
    """Write the next migration from the models' difference to the shipped migrations (review it before commit)."""

    async def go() -> None:
        from tubeflow.db import migrate

        async with raw_database("sqlite+aiosqlite://") as db:  # in memory, brought to head, then compared
            await migrate.upgrade(db.engine)
            path = await migrate.write_revision(db.engine, schema_metadata(), message)
        console.print(f"wrote {path}; check it, then run the migration tests (tests/test_migrations.py)")

    run(go())


# ---------------------------------------------------------------- productions


@app.command()
def produce(
    channel: str,
    topic: str = typer.Option(..., help="what the video is about"),
    force: bool = typer.Option(False, help="produce even if the channel already covered the topic"),
    follow: bool = typer.Option(False, help="show a progress bar until the first checkpoint or the end"),
) -> None:
    """Start a production; prints its id."""

    async def go(s: Settings, db: Database) -> None:
        from service.client import connect, start_production

        client = await connect(s)
        pid = await start_production(client, db, s, channel, topic, force=force)
        console.print(pid)
        if follow:
            await _follow(client, pid)

    with_db(go)


@app.command()
def watch(production_id: str) -> None:
    """Follow a production with a progress bar until it waits at a checkpoint or ends."""

    async def go(s: Settings) -> None:
        from service.client import connect

        await _follow(await connect(s), production_id)

    with_settings(go)


async def _follow(client: Any, production_id: str) -> None:
    from service.client import get_status

    with progress_bar() as bar:
        task = bar.add_task("queued", total=100)
        while True:
            st = await get_status(client, production_id)
            bar.update(task, completed=st.progress, description=f"{st.stage:<14} {st.detail}"[:40])
            if st.checkpoint or st.state.finished or st.state == "needs_attention":
                break
            await asyncio.sleep(0.5)
    _print_status(st)


@app.command()
def status(
    production_id: str = typer.Argument(None),
    as_json: bool = typer.Option(False, "--json"),
    script: bool = typer.Option(False, "--script", help="also print the whole script (at any stage)"),
) -> None:
    """One production's stage and progress, or the list of productions.

    At a checkpoint it shows what is reviewed there: the whole script; the narration's location and
    transcript; the b-roll per part with times, sources and scores."""
    if production_id:
        with_settings(lambda s: _show_production(s, production_id, as_json, script))
        return

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import repo

        rows = await repo.list_productions(db, limit=50)
        if as_json:
            print(json.dumps([r.to_dict() for r in rows], indent=2, default=str))
            return
        table = Table("id", "channel", "topic", "stage", "state", "progress")
        for r in rows:
            table.add_row(r.id, r.channel, r.topic[:40], r.stage, r.state, f"{r.progress:.0f}%")
        console.print(table)

    with_db(go)


async def _show_production(s: Settings, production_id: str, as_json: bool, script: bool = False) -> None:
    from cli import review_view
    from service.client import connect, get_status
    from tubeflow.storage import open_storage

    st = await get_status(await connect(s), production_id)
    if as_json:
        print(json.dumps(st.to_dict(), indent=2))
        return
    _print_status(st)
    storage = open_storage(s)
    a = st.artifacts
    if a.script and (script or st.checkpoint == "script"):
        review_view.print_script(storage, a.script, console)
    if st.checkpoint == "audio" and a.audio:
        review_view.print_audio(storage, a.audio, a.timing or "", _media_location, console)
    if st.checkpoint == "broll" and a.plan:
        _print_broll(s, a.plan)


async def _stage_for(production_id: str, stage: str | None, s: Settings) -> str:
    if stage:
        return stage
    from service.client import CheckpointNotOpen, connect, get_status

    st = await get_status(await connect(s), production_id)
    if not st.checkpoint:
        raise CheckpointNotOpen(f"production {production_id} is at stage {str(st.stage)!r}; no checkpoint is open")
    return st.checkpoint


@app.command()
def approve(
    production_id: str,
    stage: str = typer.Option(None, help="checkpoint: script | audio | broll | final (default: the open one)"),
    edits: Path = typer.Option(None, help='JSON file with edits, e.g. {"thumbnail": 1, "description": "..."}'),
    pronounce: list[str] = typer.Option(
        [], "--pronounce", help="audio checkpoint: WORD=RESPELLING for later videos of the channel"
    ),
    reviewer: str = typer.Option("cli"),
) -> None:
    """Approve the open checkpoint (optionally with edits)."""

    async def go(s: Settings) -> None:
        from service.client import connect, review
        from tubeflow.contracts import ReviewDecision, checkpoint_named

        cp = await _stage_for(production_id, stage, s)
        payload = json.loads(edits.read_text()) if edits else None
        if pronounce:
            payload = {**(payload or {}), "pronounce": _pronunciations(pronounce)}
        await review(await connect(s), production_id, ReviewDecision(checkpoint_named(cp), True, reviewer, "", payload))
        console.print(f"approved {cp}")

    with_settings(go)


@app.command()
def reject(
    production_id: str,
    feedback: str = typer.Option(..., help="what to change; the stage is redone with it"),
    stage: str = typer.Option(None, help="checkpoint (default: the open one)"),
    to: str = typer.Option(
        "", "--to", help="final checkpoint: redo from script | broll | render | thumbnail (default thumbnail)"
    ),
    pronounce: list[str] = typer.Option(
        [], "--pronounce", help="audio checkpoint: WORD=RESPELLING or WORD=ipa:PHONEMES, kept for the channel"
    ),
    reviewer: str = typer.Option("cli"),
) -> None:
    """Reject the open checkpoint with feedback; the stage (or, at final, the --to stage) is redone."""

    async def go(s: Settings) -> None:
        from service.client import connect, review
        from tubeflow.contracts import ReviewDecision, checkpoint_named, redo_target_named

        cp = await _stage_for(production_id, stage, s)
        edits = {"pronounce": _pronunciations(pronounce)} if pronounce else None
        decision = ReviewDecision(
            checkpoint_named(cp), False, reviewer, feedback, edits, redo_from=redo_target_named(to)
        )
        await review(await connect(s), production_id, decision)
        console.print(f"rejected {cp}; {'redoing from ' + to if to else 'it is being redone'} with your feedback")

    with_settings(go)


def _pronunciations(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        word, sep, how = item.partition("=")
        if not sep or not word.strip() or not how.strip():
            raise typer.BadParameter(f"--pronounce {item!r}: use WORD=RESPELLING, e.g. Rayleigh=RAY-lee")
        out[word.strip()] = how.strip()
    return out


@app.command()
def cancel(production_id: str, reason: str = typer.Option("cancelled from the CLI")) -> None:
    async def go(s: Settings) -> None:
        from service.client import cancel as do_cancel
        from service.client import connect

        await do_cancel(await connect(s), production_id, reason)
        console.print("cancel requested")

    with_settings(go)


@notify_app.command("test")
def notify_test(channel: str = typer.Option("", help="also the targets this channel opted into")) -> None:
    """Send a sample event to every configured target (and e-mail), printing what each answered."""

    async def go(s: Settings) -> None:
        from activities import notify as nt
        from tubeflow.contracts import Notification

        targets = nt.targets_for(s, await _opted_in_webhooks(s, channel) if channel else [])
        n = Notification(
            "test",
            "tubeflow test notification: this target is set up",
            channel=channel,
            link=s.resolved_public_base_url(),
        )
        if not targets and not (s.notify_email and s.smtp_host):
            err.print("no targets: set TUBEFLOW_WEBHOOKS (and TUBEFLOW_WEBHOOK_SECRET) or TUBEFLOW_NOTIFY_EMAIL")
            raise typer.Exit(2)
        failed = False
        for t in targets:
            out = await asyncio.to_thread(nt.deliver, t, n, s.webhook_secret, nt.new_delivery_id())
            console.print(f"{t}: {'ok' if out.ok else 'FAILED'} {out.detail}")
            failed |= not out.ok
        if s.notify_email and s.smtp_host:
            out = await asyncio.to_thread(nt.send_email, s, n)
            console.print(f"{out.target}: {'ok' if out.ok else 'FAILED'} {out.detail}")
            failed |= not out.ok
        if failed:
            raise typer.Exit(1)

    with_settings(go)


async def _opted_in_webhooks(s: Settings, channel: str) -> list[str]:
    from tubeflow.channel_settings import parse_settings
    from tubeflow.db import repo

    async with database(s) as db:
        return parse_settings((await repo.get_channel(db, channel)).settings).webhooks


@app.command()
def mcp(
    http: bool = typer.Option(False, "--http", help="streamable HTTP at /mcp (API keys and roles) instead of stdio"),
) -> None:
    """Serve tubeflow's tools to MCP clients (agents): stdio by default, see README "MCP"."""
    from api.mcp_server import build_server, local_backend

    s = load_settings()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout is the protocol
    if http:
        import uvicorn

        from api.mcp_http import http_app

        uvicorn.run(http_app(s), host=s.api_host, port=s.api_port, log_level="warning")
        return
    server = build_server(lambda: local_backend(s))
    asyncio.run(server.run_stdio_async())


@app.command()
def retry(
    production_id: str,
    note: str = typer.Option("", help="what you fixed (kept in the logs)"),
    operator: str = typer.Option("cli"),
    platform: str = typer.Option("", "--platform", help="tiktok or instagram: continue only that platform's Shorts"),
) -> None:
    """Continue a production that needs attention from its failed stage (approved work is kept), or one
    blocked on the YouTube quota after it was raised or reset (one try now; blocked again if still spent).
    With --platform: the Shorts' posting to that platform, failed for good or waiting on its cap."""

    async def go(s: Settings) -> None:
        from service.client import connect, retry_platform
        from service.client import retry as do_retry

        if platform:
            from tubeflow.platforms import platform_problem

            if (problem := platform_problem(platform)) is not None:
                raise typer.BadParameter(problem, param_hint="--platform")
            was = await retry_platform(await connect(s), production_id, platform)
            console.print(f"{production_id}: {platform} tries again now (it was {was})", markup=False)
            return
        st = await do_retry(await connect(s), production_id, operator, note)
        console.print(f"retrying {st.stage}; the production is {st.state} again")

    with_settings(go)


@app.command()
def costs(
    day: str = typer.Option("", help="UTC day YYYY-MM-DD (default: today)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """GPU spend for one day as the autoscaler booked it: total, idle overhead, by provider, production, job."""

    async def go(s: Settings, db: Database) -> None:
        from datetime import UTC, datetime

        from autoscaler.costs import CostLedger

        summary = await CostLedger(db).daily_summary(day or datetime.now(UTC).strftime("%Y-%m-%d"))
        if as_json:
            print(json.dumps(asdict(summary), indent=2))
            return
        console.print(
            f"{summary.day}: ${summary.total_usd:.4f} over {summary.instance_seconds:.0f} instance-seconds "
            f"(idle ${summary.idle_usd:.4f})"
        )
        for label, table in (
            ("provider", summary.by_provider),
            ("production", summary.by_production),
            ("job", summary.by_job),
        ):
            for name, usd in sorted(table.items(), key=lambda kv: -kv[1]):
                console.print(f"  {label} {name}: ${usd:.4f}")

    with_db(go)


@app.command()
def stats(
    channel: str = typer.Argument(..., help="the channel's name"),
    video: str = typer.Option("", "--video", help="one YouTube video id: its days, retention and sections"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """What YouTube Analytics reported for a channel's videos, with each video's cost beside its views."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.analytics_report import channel_report, video_report
        from tubeflow.storage import open_storage

        if video:
            report = await video_report(db, open_storage(s), channel, video)
        else:
            report = await channel_report(db, channel)
        if as_json:
            print(json.dumps(report, indent=2))
            return
        if video:
            _print_video_stats(report)
        else:
            _print_channel_stats(report)

    with_db(go)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


def _cost(v: dict[str, Any]) -> str:
    parts = v.get("cost_usd") or {}
    return "-" if not parts else f"${sum(parts.values()):.4f}"


def _print_channel_stats(report: dict[str, Any]) -> None:
    daily = report["daily"]
    views = sum(d["views"] for d in daily)
    minutes = sum(d["watch_minutes"] for d in daily)
    span = f"{daily[0]['day']} .. {daily[-1]['day']}" if daily else "no days collected yet"
    console.print(f"[bold]{report['channel']}[/bold]: {views} views, {minutes:.1f} watch minutes ({span})")
    for last in report["runs"][:1]:
        console.print(f"last collection: {last['status']} at {last['at']} {last['detail']}")
    table = Table("video", "title", "views", "watch min", "avg view %", "CTR", "likes", "subs +", "cost")
    for v in report["videos"]:
        table.add_row(
            v["video_id"],
            v["title"][:40],
            str(v["views"]),
            f"{v['watch_minutes']:.1f}",
            _pct(v["avg_view_pct"]),
            _pct(v["ctr"]),
            str(v["likes"]),
            str(v["subscribers_gained"]),
            _cost(v),
        )
    console.print(table)
    for pl in report.get("platforms") or []:
        _print_platform_stats(pl)


def _figure(v: int | None) -> str:
    return "-" if v is None else str(v)


def _print_platform_stats(pl: dict[str, Any]) -> None:
    """One platform's Shorts: totals, the last collection, and a row per Short (a dash: not reported)."""
    from rich.markup import escape

    from tubeflow.db.records import PLATFORM_METRICS as metrics

    totals = ", ".join(f"{_figure(pl['totals'][m])} {m}" for m in metrics)
    who = f" ({escape(pl['account'])})" if pl["account"] else ""
    console.print(f"[bold]{pl['label']}[/bold]{who}: {totals}", highlight=False)
    if pl["account_status"] == "reconnect_needed":
        console.print(f"  {pl['label']} account needs reconnecting", markup=False)
    if pl["last_run"]:
        last = pl["last_run"]
        console.print(f"  last collection: {last['status']} at {last['at']} {last['detail']}", markup=False)
    table = Table("post", "Short", *metrics)
    for x in pl["shorts"]:
        table.add_row(x["post_id"], f"{x['title'][:36]} #{x['idx'] + 1}", *(_figure(x[m]) for m in metrics))
    console.print(table)


def _print_video_stats(report: dict[str, Any]) -> None:
    v = report["video"]
    console.print(
        f"[bold]{v['video_id']}[/bold] {v['title']}: {v['views']} views, {v['watch_minutes']:.1f} watch minutes, "
        f"avg view {v['avg_view_duration_s']:.0f} s ({_pct(v['avg_view_pct'])}), CTR {_pct(v['ctr'])}, "
        f"{v['likes']} likes, +{v['subscribers_gained']} subscribers, cost {_cost(v)}"
    )
    for sec in report["sections"]:
        drop = "-" if sec["drop"] is None else f"{100 * sec['drop']:.0f}%"
        mark = "  [red]sharp drop[/red]" if sec["sharp"] else ""
        console.print(
            f"  {sec['name'][:40]:40} {sec['start_s']:6.1f}-{sec['end_s']:6.1f} s  audience lost {drop}{mark}"
        )
    if not report["retention"]:
        console.print("  no retention curve yet")


def _media_location(key: str) -> str:
    """A local file path when storage is local (open it in any player), else the dashboard's media URL."""
    s = load_settings()
    if s.storage == "local":
        return str(s.resolved_storage_dir() / key)
    return f"http://{s.api_host}:{s.api_port}/api/media/{key}"


def _print_status(st: Any) -> None:
    console.print(f"[bold]{st.production_id}[/bold] {st.channel} / {st.niche}: {st.title or st.topic}")
    console.print(f"stage {st.stage}  state {st.state}  progress {st.progress:.0f}%  {st.detail}")
    if st.checkpoint:
        console.print(f"[yellow]waiting for review at checkpoint {str(st.checkpoint)!r}[/yellow]")
    if st.checkpoint == "broll" and st.artifacts.preview:
        console.print(f"preview of the whole cut: {_media_location(st.artifacts.preview)}")
    if st.error:
        console.print(f"[red]{st.error}[/red]")
    if st.state == "needs_attention":
        console.print(f"[yellow]needs attention: fix the cause, then `tubeflow retry {st.production_id}`[/yellow]")
    if st.state == "blocked":
        console.print(
            "[yellow]blocked: publishing continues by itself after the quota reset or a reconnect; once the "
            f"quota was raised or reset, `tubeflow retry {st.production_id}` tries at once[/yellow]"
        )
    if st.checkpoint == "final":
        _print_metadata_preview(st.production_id)
    if st.outputs.quality is not None:
        _print_quality(st.outputs.quality)
    for r in st.reviews:
        verdict = "approved" if r.approved else "rejected"
        console.print(f"  {r.at[:19]} {r.stage} {verdict} by {r.reviewer} {r.feedback!r} {r.note}")


def _print_quality(report: Any) -> None:
    """Every figure of the video's quality report: a failure in red with the moment to look at."""
    verdict = "[green]passed[/green]" if report.passed else "[red]failed[/red]"
    console.print(f"quality report {verdict} ({report.key or 'not stored'})")
    for f in report.figures:
        mark = {True: "[green]ok[/green]  ", False: "[red]FAIL[/red]", None: "[dim]n/m[/dim] "}[f.passed]
        console.print(f"  {mark} {f.label}: {f.message}", highlight=False)


def _print_metadata_preview(production_id: str) -> None:
    """What the upload will say on YouTube, and what had to be fixed for it (checked before this review)."""
    from tubeflow.keys import ProductionKeys
    from tubeflow.storage import open_storage

    key = ProductionKeys(production_id).metadata_preview()
    storage = open_storage(load_settings())
    if not storage.exists(key):
        return
    meta = json.loads(storage.get_text(key))
    console.print(f"on YouTube: [bold]{meta['title']}[/bold] ({len(meta['tags'])} tags)")
    for fix in meta.get("fixes") or []:
        console.print(f"  [yellow]fixed:[/yellow] {fix}")


def _print_broll(s: Settings, plan_key: str) -> None:
    """At the b-roll checkpoint: each part's pictures with times, source, relevance and query."""
    from cli.review_view import print_broll
    from tubeflow.storage import open_storage

    print_broll(open_storage(s), plan_key, console)


@app.command()
def demo(
    yes: bool = typer.Option(False, "--yes", help="approve every checkpoint unattended"),
    topic: str = typer.Option("", help=f"default: {DEMO_TOPIC!r}, or the niche's demo topic"),
    niche: str = typer.Option(DEMO_NICHE, help="e.g. financas: Portuguese narration and captions"),
) -> None:
    """Produce one video for the bundled demo channel, asking at each checkpoint."""
    from cli.demo import DEMO_TOPICS, run_demo

    logging.basicConfig(level=logging.WARNING)
    try:
        chosen = topic or DEMO_TOPICS.get(niche, DEMO_TOPIC)
        run_demo(load_settings(), yes=yes, topic=chosen, console=console, niche=niche)
    except TubeflowError as e:
        err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn()
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
