"""`tubeflow status ID` as a reviewer's tool, and `tubeflow calendar --week`, run as a person runs them.

At each checkpoint the status shows what is reviewed there (the whole script; the narration's
file and transcript; the b-roll per part with times, sources and scores), against a real
production on the dev server.  The week shows what went up and what is still to come; a video
published at once (it has no slot, so no ``publish_at``) is in it, and in the dashboard's week
grid: before, ``list_publications`` filtered on ``publish_at`` alone and dropped it from both.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from tests.conftest import tiny_settings
from tests.test_cli import cli_env, tubeflow
from tests.workflow_helpers import running_stack, wait_checkpoint
from tubeflow.contracts import PublishRequest
from tubeflow.db import channel_repo, repo
from tubeflow.db.engine import open_database
from tubeflow.render_plan import NarrationTiming, RenderPlan


async def test_status_shows_what_each_checkpoint_reviews(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    env = cli_env(settings, temporal_env.client.service_client.config.target_host)
    async with running_stack(temporal_env.client, settings) as stack:
        await repo.create_channel(stack.db, "clichan", "science")
        r = await tubeflow(env, "produce", "clichan", "--topic", "How do rainbows form?")
        assert r.returncode == 0, r.stderr
        pid = r.stdout.strip().splitlines()[-1]

        # The script checkpoint: the whole script, every section's narration as it will be read.
        at_script = await wait_checkpoint(temporal_env.client, pid, "script")
        assert at_script.artifacts.script
        script = json.loads(stack.storage.get_text(at_script.artifacts.script))
        r = await tubeflow(env, "status", pid)
        assert r.returncode == 0, r.stderr
        assert f"title: {script['title']}" in r.stdout and f"hook: {script['hook']}" in r.stdout
        for section in script["sections"]:
            assert section["heading"] in r.stdout and section["narration"] in r.stdout
        assert json.loads((await tubeflow(env, "status", pid, "--json")).stdout)["checkpoint"] == "script"
        assert (await tubeflow(env, "approve", pid)).returncode == 0

        # The audio checkpoint: a file to play and the transcript with times; no script unless asked.
        at_audio = await wait_checkpoint(temporal_env.client, pid, "audio")
        assert at_audio.artifacts.audio and at_audio.artifacts.timing
        r = await tubeflow(env, "status", pid)
        assert r.returncode == 0, r.stderr
        path = Path(r.stdout.split("narration audio: ", 1)[1].splitlines()[0].strip())
        assert path.is_file() and path == settings.resolved_storage_dir() / at_audio.artifacts.audio
        timing = NarrationTiming.from_json(stack.storage.get_text(at_audio.artifacts.timing))
        assert f"transcript ({timing.duration_s:.1f} s)" in r.stdout
        for part in timing.parts:
            assert f"{part.start:6.1f}-{part.end:6.1f} s" in r.stdout and part.text in r.stdout
        assert "title: " not in r.stdout
        assert f"title: {script['title']}" in (await tubeflow(env, "status", pid, "--script")).stdout
        assert json.loads((await tubeflow(env, "status", pid, "--json")).stdout)["checkpoint"] == "audio"
        assert (await tubeflow(env, "approve", pid)).returncode == 0

        # The b-roll checkpoint: each part's range, each picture's times, source and score.
        at_broll = await wait_checkpoint(temporal_env.client, pid, "broll", timeout_s=240)
        assert at_broll.artifacts.plan
        plan = RenderPlan.from_json(stack.storage.get_text(at_broll.artifacts.plan))
        r = await tubeflow(env, "status", pid)
        assert r.returncode == 0, r.stderr
        assert f"b-roll ({len(plan.parts)} parts" in r.stdout
        lines = r.stdout.splitlines()
        for p in plan.parts:
            assert f"part {p.index} {p.label} ({p.start:.1f}-{p.end:.1f} s)" in r.stdout
            for m in p.items:
                row = next(x for x in lines if f"[{m.key}]" in x and "on screen" in x)
                assert f"{m.start:5.1f}-{m.end:5.1f} s" in row and f"score {m.score:.2f}" in row
                assert f"{m.source}: " in row
        status = json.loads((await tubeflow(env, "status", pid, "--json")).stdout)
        assert status["checkpoint"] == "broll" and status["artifacts"]["plan"] == at_broll.artifacts.plan
        assert (await tubeflow(env, "cancel", pid)).returncode == 0


async def test_the_week_shows_a_video_published_at_once_in_the_cli_and_the_dashboard(tmp_path: Path) -> None:
    from activities.calendar import publish_on_calendar
    from tubeflow.storage import open_storage

    settings = tiny_settings(tmp_path)
    env = cli_env(settings, "127.0.0.1:1")  # nothing here needs Temporal
    storage = open_storage(settings)
    db = await open_database(settings)
    try:
        r = await tubeflow(env, "channel", "add", "nowchan", "--niche", "science")
        assert r.returncode == 0, r.stderr
        r = await tubeflow(env, "calendar", "--week")
        assert r.returncode == 0 and r.stdout.startswith("nothing was published this week (since "), r.stdout
        assert "and nothing is scheduled through " in r.stdout

        # A public channel without slots publishes at once, through the real publish path (the outbox).
        await channel_repo.update_settings(db, "nowchan", {"privacy": "public"})
        await repo.create_production(db, "nowchan", "Rainbows", production_id="pnow")
        storage.put_bytes("productions/pnow/final.mp4", b"not really a video")
        script = {"title": "Rainbows at once", "hook": "Look up.", "description": "", "tags": [], "sections": []}
        req = PublishRequest(
            "pnow", "nowchan", "productions/pnow/final.mp4", "", "", extra={"title": "Rainbows at once"}
        )
        result = await publish_on_calendar(settings, storage, db, req, script)
        entry = await channel_repo.get_publication(db, "pnow")
        assert entry.status == "published" and entry.publish_at is None and result.video_id
        # A private channel's upload also went up this week (private, for a person to flip).
        r = await tubeflow(env, "channel", "add", "privchan", "--niche", "science")
        assert r.returncode == 0, r.stderr
        await repo.create_production(db, "privchan", "Fog", production_id="ppriv")
        storage.put_bytes("productions/ppriv/final.mp4", b"not really a video")
        req = PublishRequest("ppriv", "privchan", "productions/ppriv/final.mp4", "", "", extra={"title": "Fog"})
        await publish_on_calendar(settings, storage, db, req, script)
        assert (await channel_repo.get_publication(db, "ppriv")).status == "private"
        # And one scheduled on a channel with slots, so both halves of the week have something.
        r = await tubeflow(env, "channel", "add", "slotchan", "--niche", "science")
        assert r.returncode == 0, r.stderr
        await channel_repo.update_settings(db, "slotchan", {"publish_slots": "mon-sun 23:59", "privacy": "public"})
        later = await channel_repo.reserve_slot(
            db, "slotchan", "plater", "long", 0, now=datetime.now(UTC), title="Soon"
        )
        assert later.publish_at is not None and later.publish_at < datetime.now(UTC) + timedelta(days=2)

        r = await tubeflow(env, "calendar", "--week")
        assert r.returncode == 0, r.stderr
        published, _, scheduled = r.stdout.partition("scheduled through ")
        assert published.startswith("published this week (since ") and "pnow" in published and "(at once)" in published
        assert "plater" in scheduled and "pnow" not in scheduled and "plater" not in published
        assert "ppriv" in published and "ppriv" not in scheduled
        listed = json.loads((await tubeflow(env, "calendar", "--week", "--json")).stdout)
        assert {i["production_id"] for i in listed} == {"pnow", "ppriv", "plater"}
        assert "pnow" in (await tubeflow(env, "calendar")).stdout  # the unbounded list had it before too
        r = await tubeflow(env, "calendar", "slotchan", "--week")
        assert "nothing was published on slotchan this week" in r.stdout and "plater" in r.stdout

        # The dashboard's week grid: in its channel's row, on today's column.
        viewer = await create_key(db, "vic", "viewer")
        app = create_app(settings, db=db, temporal_client=None)
        headers = {"Authorization": f"Bearer {viewer}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
            assert entry.calendar_at is not None
            day = entry.calendar_at.date().isoformat()  # the day it went up starts the grid
            page = (await c.get(f"/calendar?start={day}", headers=headers)).text
            row = page.split('<a href="/channels/nowchan">nowchan</a>', 1)[1].split("</tr>", 1)[0]
            first_day = row.split("<td>")[1]
            assert 'href="/productions/pnow"' in first_day and "Rainbows at once" in first_day
            assert "published" in first_day and entry.calendar_at.strftime("%H:%M") in first_day
            api = (await c.get(f"/api/calendar?start={day}T00:00:00Z", headers=headers)).json()
            item = next(i for i in api["items"] if i["production_id"] == "pnow")
            assert item["publish_at"] is None and item["calendar_at"][:10] == day
    finally:
        await db.close()
