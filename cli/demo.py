"""`tubeflow demo`: one finished video for the bundled demo channel, start to end.

It starts its own stack (dev server, workers, API), creates the demo channel, starts a
production and then behaves like a reviewer at the terminal: each checkpoint shows what is under
review and asks to approve or reject.  It also writes ``var/demo-report.json`` with the wall time
of every stage and each worker's peak memory, the figures the README quotes.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.prompt import Prompt

from cli.devstack import DevStack
from tubeflow.contracts import ProductionStatus, ReviewDecision, checkpoint_named
from tubeflow.settings import Settings
from tubeflow.storage import open_storage

DEMO_CHANNEL = "demo"
DEMO_NICHE = "science"
# A topic each bundled niche has notes for; financas is the Portuguese demo (eSpeak pt-BR voice).
DEMO_TOPICS = {"science": "Why is the sky blue?", "financas": "Como funcionam os juros compostos?"}


def run_demo(settings: Settings, *, yes: bool, topic: str, console: Console, niche: str = DEMO_NICHE) -> dict[str, Any]:
    stack = DevStack(settings)
    t0 = time.monotonic()
    try:
        console.print("starting the Temporal dev server and the workers...")
        stack.start_temporal()
        stack.start_workers()
        try:
            stack.start_api()
        except Exception as e:  # the dashboard is a convenience here, not a requirement
            console.print(f"[yellow]dashboard not started: {e}[/yellow]")
        report = asyncio.run(_produce(settings, stack, yes=yes, topic=topic, console=console, niche=niche))
    finally:
        stack.sample()
        peaks = {c.name: round(c.peak_rss / 2**20, 1) for c in stack.children}
        stack.stop()
    report = report if "report" in locals() else {}
    report["peak_rss_mib"] = peaks
    report["total_s"] = round(time.monotonic() - t0, 1)
    out = settings.home / "demo-report.json"
    out.write_text(json.dumps(report, indent=2))
    console.print(f"timings and memory: {out}")
    return report


async def _produce(
    settings: Settings, stack: DevStack, *, yes: bool, topic: str, console: Console, niche: str = DEMO_NICHE
) -> dict[str, Any]:
    from service.client import connect
    from tubeflow.errors import PermanentError

    client = await connect(settings)
    storage = open_storage(settings)
    pid = await _start(settings, client, topic, niche)
    console.print(f"production [bold]{pid}[/bold] started: {topic!r}")
    console.print(f"watch it in the Temporal Web UI: http://localhost:{settings.temporal_ui_port}")
    st, stage_times = await _review_until_done(client, pid, stack, storage, yes=yes, console=console)
    if st.state != "completed":
        raise PermanentError(f"production {pid} {st.state}: {st.error}")
    video = storage.fetch(st.artifacts.video or "")
    console.print(f"\n[green]done.[/green] video: {video}")
    console.print(f"published to: {settings.resolved_outbox_dir() / str(st.outputs.published or '')}")
    if st.outputs.shorts:
        console.print(f"shorts: {', '.join(st.outputs.shorts)}")
    console.print(
        f"Temporal Web UI: http://localhost:{settings.temporal_ui_port}/namespaces/"
        f"{settings.temporal_namespace}/workflows/production-{pid}"
    )
    console.print("another one:  tubeflow dev   (then)   tubeflow produce demo --topic 'How do rainbows form?'")
    return {"production_id": pid, "video": str(video), "stage_s": stage_times, "status": st.to_dict()}


async def _start(settings: Settings, client: Any, topic: str, niche: str) -> str:
    """The niche's demo channel (created the first time), and a production on it."""
    from cli.context import database
    from service.client import start_production
    from tubeflow.db import repo
    from tubeflow.errors import PermanentError

    async with database(settings) as db:
        channel = DEMO_CHANNEL if niche == DEMO_NICHE else f"{DEMO_CHANNEL}-{niche}"
        try:
            await repo.get_channel(db, channel)
        except PermanentError:
            await repo.create_channel(db, channel, niche)
        return await start_production(client, db, settings, channel, topic, force=True)


async def _review_until_done(
    client: Any, pid: str, stack: DevStack, storage: Any, *, yes: bool, console: Console
) -> tuple[ProductionStatus, dict[str, float]]:
    """Follow the production with a progress bar, asking at each checkpoint; seconds spent per stage."""
    from service.client import get_status, review

    stage_times: dict[str, float] = {}
    current, since = "", time.monotonic()
    progress = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        bar = progress.add_task("queued", total=100)
        while True:
            stack.check_alive()
            stack.sample()
            st = await get_status(client, pid)
            if st.stage != current:
                now = time.monotonic()
                if current:
                    stage_times[current] = round(stage_times.get(current, 0.0) + now - since, 2)
                current, since = st.stage, now
            progress.update(bar, completed=st.progress, description=st.stage)
            if st.state.finished:
                return st, stage_times
            if st.checkpoint:
                progress.stop()
                decision = _ask(st, storage, yes=yes, console=console)
                await review(client, pid, decision)
                now = time.monotonic()
                stage_times[current] = round(stage_times.get(current, 0.0) + now - since, 2)
                current, since = "", now
                progress.start()
                continue
            await asyncio.sleep(0.5)


def _ask(st: ProductionStatus, storage: Any, *, yes: bool, console: Console) -> ReviewDecision:
    cp = checkpoint_named(st.checkpoint or "")
    console.rule(f"checkpoint: {cp}")
    _show(cp, st, storage, console)
    if yes:
        console.print(f"[green]approved {cp}[/green] (--yes)")
        return ReviewDecision(cp, True, "demo --yes")
    answer = Prompt.ask("approve or reject?", choices=["a", "r"], default="a")
    if answer == "a":
        return ReviewDecision(cp, True, "demo")
    feedback = Prompt.ask("what should change?")
    return ReviewDecision(cp, False, "demo", feedback or "please redo")


def _show(cp: str, st: ProductionStatus, storage: Any, console: Console) -> None:
    a = st.artifacts
    if cp == "script":
        script = json.loads(storage.get_text(a.script or ""))
        console.print(f"[bold]{script['title']}[/bold]\n[italic]{script['hook']}[/italic]")
        for sec in script["sections"]:
            console.print(f"- [bold]{sec['heading']}[/bold]: {sec['narration']}")
        for src in script.get("sources", [])[:6]:
            console.print(f"  source: {src.get('source')}")
    elif cp == "audio":
        console.print(f"narration ({st.outputs.narration_s or 0:.1f} s): {storage.fetch(a.audio or '')}")
    elif cp == "broll":
        plan = json.loads(storage.get_text(a.plan or ""))
        for part in plan["parts"]:
            items = ", ".join(f"{i['source']}:{i['key'].rsplit('/', 1)[-1]}" for i in part["items"])
            console.print(f"- {part['label'][:40]} [{part['start']:.1f}-{part['end']:.1f}s]: {items}")
        for w in plan.get("warnings", []):
            console.print(f"[yellow]warning: {w}[/yellow]")
    elif cp == "final":
        console.print(f"video: {storage.fetch(a.video or '')}")
        for i, k in enumerate(a.thumbnails or []):
            console.print(f"thumbnail {i}: {storage.fetch(k)}")
