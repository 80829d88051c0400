"""Record real workflow histories for the replay test (tests/test_replay.py).

Run it with ``.venv/bin/python -m tests.histories.record`` from the repository root.  It starts
its own Temporal dev server (the pip-installed binary, configured from temporal-dev.yaml), runs
the real main and GPU workers in-process on tiny media (320x180, SQLite, local storage in a
temporary folder), drives productions the way reviewers would, and writes each workflow's
history, ``(await handle.fetch_history()).to_json()``, to ``tests/histories/<scenario>.json``.

Why: a running production may sit at a checkpoint for days.  When the workflow code changes,
the new code must replay the history the old code wrote, or that production breaks at its next
step.  These files are what "the old code wrote"; re-record only the scenarios you add (pass
their names), never to make an incompatible change pass: use ``workflow.patched`` instead.

    .venv/bin/python -m tests.histories.record                     # every scenario
    .venv/bin/python -m tests.histories.record production_cancelled  # only the ones named

Takes about a minute on a 2-core machine (one full production with Shorts is most of it).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.client import WorkflowHistory as History

from service.client import cancel, retry, review, revise, start_production
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint, wait_for
from tubeflow.contracts import (
    PRODUCTION_WORKFLOW,
    SIGNAL_APPROVE,
    VIDEO_JOB_WORKFLOW,
    Checkpoint,
    ProductionInput,
    ProductionStatus,
    RedoTarget,
    ReviewDecision,
    production_workflow_id,
)
from tubeflow.db import repo
from tubeflow.settings import REPO_ROOT
from tubeflow.temporal_dev import start_local_env

HERE = Path(__file__).parent
TOPIC = "Why is the sky blue?"


IDS = HERE / "workflow_ids.json"  # scenario -> workflow id (replaying a child needs its parent's real id)


def save(name: str, history: History) -> None:
    path = HERE / f"{name}.json"
    path.write_text(history.to_json())
    ids = json.loads(IDS.read_text()) if IDS.is_file() else {}
    ids[name] = history.workflow_id
    IDS.write_text(json.dumps(dict(sorted(ids.items())), indent=2) + "\n")
    print(f"  wrote {path.relative_to(HERE.parent.parent)} ({len(history.events)} events)", flush=True)


async def history_of(client: Client, workflow_id: str) -> History:
    return await client.get_workflow_handle(workflow_id).fetch_history()


async def start_direct(stack: Stack, channel: str, **fields: Any) -> str:
    """Start a production with input fields start_production would take from the niche (auto_approve...)."""
    pid = f"rec{uuid.uuid4().hex[:9]}"
    inp = ProductionInput(
        production_id=pid,
        channel=channel,
        niche="science",
        topic=TOPIC,
        max_attempts=stack.settings.max_review_attempts,
        make_shorts=False,
        main_queue=stack.settings.main_queue,
        gpu_queue=stack.settings.gpu_queue,
    )
    inp = dataclasses.replace(inp, **fields)
    await stack.client.start_workflow(
        PRODUCTION_WORKFLOW, inp, id=production_workflow_id(pid), task_queue=stack.settings.main_queue
    )
    return pid


# ---------------------------------------------------------------- scenarios


async def full_production(stack: Stack) -> None:
    """Reject-redo, a script edit, an ignored signal, every checkpoint, mid-render, Shorts."""
    client = stack.client
    await repo.create_channel(stack.db, "rec-full", "science")
    pid = await start_production(client, stack.db, stack.settings, "rec-full", TOPIC)  # science: 2 Shorts
    wf = production_workflow_id(pid)

    await wait_checkpoint(client, pid, "script", 1)
    save("production_waiting_script", await history_of(client, wf))
    # A signal for a closed checkpoint: recorded as ignored in the review history.
    await client.get_workflow_handle(wf).signal(SIGNAL_APPROVE, ReviewDecision(Checkpoint.AUDIO, True, "sig"))
    await wait_for(client, pid, lambda s: any(r.note.startswith("ignored") for r in s.reviews), 30, "ignored note")
    await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "ana", "Mention Lord Rayleigh by name"))

    second = await wait_checkpoint(client, pid, "script", 2)
    save("production_script_redo", await history_of(client, wf))
    script = json.loads(stack.storage.get_text(second.artifacts.script or ""))
    script["title"] = script["title"] + " (edited)"
    await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana", edits={"script": script}))

    await wait_checkpoint(client, pid, "audio")
    save("production_waiting_audio", await history_of(client, wf))
    await review(client, pid, ReviewDecision(Checkpoint.AUDIO, True, "ana"))

    await wait_checkpoint(client, pid, "broll")
    save("production_waiting_broll", await history_of(client, wf))
    await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))

    await record_mid_render(client, wf)
    await wait_checkpoint(client, pid, "final", timeout_s=600)
    save("production_waiting_final", await history_of(client, wf))
    await review(client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo", edits={"thumbnail": 1}))

    await client.get_workflow_handle(wf).result()
    save("production_completed_with_shorts", await history_of(client, wf))
    save("shorts_completed", await history_of(client, f"{wf}-shorts"))


def _render_in_flight(history: History) -> tuple[bool, int]:
    """(render_video scheduled and not finished, progress signals received so far)."""
    scheduled: set[int] = set()
    done = False
    progress = 0
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            if e.activity_task_scheduled_event_attributes.activity_type.name == "render_video":
                scheduled.add(e.event_id)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done = done or e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            progress += e.workflow_execution_signaled_event_attributes.signal_name == "report_progress"
    return bool(scheduled) and not done, progress


async def record_mid_render(client: Client, wf: str) -> None:
    """Keep the last history taken while render_video runs, preferring one with progress signals."""
    best: tuple[int, History] | None = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        h = await history_of(client, wf)
        in_flight, progress = _render_in_flight(h)
        if in_flight and (best is None or progress >= best[0]):
            best = (progress, h)
        elif best is not None and not in_flight:
            break
        await asyncio.sleep(0.2)
    if best is None:
        raise AssertionError("never saw render_video in flight")
    print(f"  mid-render history has {best[0]} progress signals", flush=True)
    save("production_mid_render", best[1])


async def fanout_production(stack: Stack) -> None:
    """Every checkpoint auto-approved; the render and two Shorts fan out one activity per segment."""
    pid = await start_direct(stack, "rec-fanout", auto_approve=["script", "audio", "broll", "final"], make_shorts=True)
    wf = production_workflow_id(pid)
    best: History | None = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # keep the last history with segments done and the join not started
        h = await history_of(stack.client, wf)
        done, joined = _fanout_state(h)
        if done and not joined:
            best = h
        elif joined:
            break
        await asyncio.sleep(0.2)
    if best is None:
        raise AssertionError("never saw the fan-out render with segments done and the join not started")
    save("production_fanout_mid_render", best)
    await stack.client.get_workflow_handle(wf).result()
    save("production_fanout_completed", await history_of(stack.client, wf))
    save("shorts_fanout_completed", await history_of(stack.client, f"{wf}-shorts"))


def _fanout_state(history: History) -> tuple[int, bool]:
    """(render_segment activities completed, join_render scheduled)."""
    segments: set[int] = set()
    done, joined = 0, False
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            if name == "render_segment":
                segments.add(e.event_id)
            joined = joined or name == "join_render"
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            done += e.activity_task_completed_event_attributes.scheduled_event_id in segments
    return done, joined


async def rejected_too_often(stack: Stack) -> None:
    client = stack.client
    await repo.create_channel(stack.db, "rec-reject", "science")
    settings = stack.settings.with_overrides(max_review_attempts=2)
    pid = await start_production(client, stack.db, settings, "rec-reject", TOPIC, make_shorts=False)
    for attempt in (1, 2):
        await wait_checkpoint(client, pid, "script", attempt)
        await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "ana", f"not good enough ({attempt})"))
    await expect_failure(client.get_workflow_handle(production_workflow_id(pid)), "rejected 2 times")
    save("production_failed_rejected", await history_of(client, production_workflow_id(pid)))


async def permanent_activity_error(stack: Stack) -> None:
    """An unknown niche: research fails with a non-retryable error, the production fails saying why."""
    pid = await start_direct(stack, "rec-broken", niche="no-such-niche")
    handle = stack.client.get_workflow_handle(production_workflow_id(pid))
    await expect_failure(handle, "unknown niche")
    save("production_failed_activity", await handle.fetch_history())


async def needs_attention_then_retry(stack: Stack) -> None:
    """Research fails for good (the niche's file is missing), the operator adds it and retries."""
    niches = stack.settings.resolved_niches_dir()
    pid = await start_direct(stack, "rec-mend", niche="mendable")
    await wait_for(stack.client, pid, lambda s: s.state == "needs_attention", 120, "needs_attention")
    save("production_needs_attention", await history_of(stack.client, production_workflow_id(pid)))
    shutil.copy(niches / "science.yaml", niches / "mendable.yaml")
    shutil.copytree(niches / "science", niches / "mendable")
    await retry(stack.client, pid, "olga", "added the niche")
    await wait_checkpoint(stack.client, pid, "script")
    save("production_retried_after_attention", await history_of(stack.client, production_workflow_id(pid)))
    await cancel(stack.client, pid, "recorded")


async def shorts_needs_attention(stack: Stack) -> None:
    """The Shorts fail for good after the long-form is published (the niche's music is gone); fixed, retried."""
    from tests.mediagen import music_wav

    niches = stack.settings.resolved_niches_dir()
    shutil.copytree(niches / "science", niches / "musical")
    yaml = (niches / "science.yaml").read_text()
    (niches / "musical.yaml").write_text(yaml + "music: bed.wav\nmusic_volume_db: -20\n")
    music = music_wav(niches / "musical" / "music" / "bed.wav", seconds=3.0)
    pid = await start_direct(
        stack, "rec-shorts", niche="musical", auto_approve=["script", "audio", "broll"], make_shorts=True
    )
    wf = production_workflow_id(pid)
    await wait_checkpoint(stack.client, pid, "final", timeout_s=600)
    kept = music.with_suffix(".kept")
    music.rename(kept)
    await review(stack.client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo"))
    await wait_for(stack.client, pid, lambda s: s.state == "needs_attention", 300, "needs_attention")
    save("production_shorts_needs_attention", await history_of(stack.client, wf))
    kept.rename(music)
    await retry(stack.client, pid, "olga", "put the music back")
    await stack.client.get_workflow_handle(wf).result()
    save("production_shorts_retried_completed", await history_of(stack.client, wf))


async def cadence_run(stack: Stack) -> None:
    """One run of a channel's cadence schedule, as the timer starts it: a backlog topic becomes a production."""
    from tubeflow.contracts import CADENCE_WORKFLOW, CadenceInput
    from tubeflow.db import channel_repo

    await repo.create_channel(stack.db, "rec-cadence", "science")
    await channel_repo.add_topic(stack.db, "rec-cadence", TOPIC)
    wf = f"cadence-rec-cadence-{uuid.uuid4().hex[:6]}"
    await stack.client.execute_workflow(
        CADENCE_WORKFLOW, CadenceInput("rec-cadence", stack.settings.main_queue), id=wf,
        task_queue=stack.settings.main_queue,
    )  # fmt: skip
    save("cadence_started_production", await history_of(stack.client, wf))
    for p in await repo.list_productions(stack.db, channel="rec-cadence"):
        await cancel(stack.client, p.id, "recorded")


async def final_redo_from_render(stack: Stack) -> None:
    """The final cut sent back to the render: a new render, the final checkpoint again."""
    pid = await start_direct(stack, "rec-redo", auto_approve=["script", "audio", "broll"])
    await wait_checkpoint(stack.client, pid, "final", timeout_s=600)
    await review(
        stack.client,
        pid,
        ReviewDecision(Checkpoint.FINAL, False, "bo", "the cut stutters", redo_from=RedoTarget.RENDER),
    )
    await wait_checkpoint(stack.client, pid, "final", 2, timeout_s=600)
    save("production_final_redo_render", await history_of(stack.client, production_workflow_id(pid)))
    await cancel(stack.client, pid, "recorded")


async def broll_preview(stack: Stack) -> None:
    """Transcription and the low-resolution preview before the b-roll checkpoint."""
    pid = await start_direct(stack, "rec-preview", auto_approve=["script", "audio"])
    await wait_checkpoint(stack.client, pid, "broll", timeout_s=600)
    save("production_waiting_broll_preview", await history_of(stack.client, production_workflow_id(pid)))
    await cancel(stack.client, pid, "recorded")


async def broll_saved_edits(stack: Stack) -> None:
    """B-roll edits saved at the checkpoint (a new plan, the preview again), then approved with more."""
    from tubeflow.render_plan import RenderPlan

    pid = await start_direct(stack, "rec-bedits", auto_approve=["script", "audio"])
    st = await wait_checkpoint(stack.client, pid, "broll", timeout_s=600)
    plan = RenderPlan.from_json(stack.storage.get_text(st.artifacts.plan or ""))
    last = plan.parts[-1]
    keys = [m.key for m in last.items]
    saved = {str(last.index): [last.candidates[0].key, *keys[::-1]]}
    await revise(stack.client, pid, ReviewDecision(Checkpoint.BROLL, False, "bo", edits={"parts": saved}))
    await wait_for(stack.client, pid, lambda s: s.checkpoint == "broll", 600, "the preview again")
    first = plan.parts[0]
    approved = {str(first.index): [first.candidates[0].key]}
    await review(stack.client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo", edits={"parts": approved}))
    await wait_checkpoint(stack.client, pid, "final", timeout_s=600)
    save("production_broll_edits_saved_final", await history_of(stack.client, production_workflow_id(pid)))
    await cancel(stack.client, pid, "recorded")


async def stage_progress(stack: Stack) -> None:
    """The voice and b-roll activities report their counts; each report is written to the database."""
    pid = await start_direct(stack, "rec-progress", auto_approve=["script", "audio"])
    await wait_checkpoint(stack.client, pid, "broll", timeout_s=600)
    save("production_stage_progress_at_broll", await history_of(stack.client, production_workflow_id(pid)))
    await cancel(stack.client, pid, "recorded")


async def reminded_at_checkpoint(stack: Stack) -> None:
    """Notifications: checkpoint opened, then reminders from the durable timer while it waits."""
    pid = await start_direct(stack, "rec-remind", reminder_hours=1.0 / 3600)
    await wait_checkpoint(stack.client, pid, "script", timeout_s=300)
    handle = stack.client.get_workflow_handle(production_workflow_id(pid))
    for _ in range(300):
        history = await handle.fetch_history()
        timers = sum(e.event_type == EventType.EVENT_TYPE_TIMER_FIRED for e in history.events)
        if timers >= 2:
            break
        await asyncio.sleep(0.2)
    save("production_reminded_at_script", await handle.fetch_history())
    await cancel(stack.client, pid, "recorded")


async def cancelled_by_signal(stack: Stack) -> None:
    """The niche's policy auto-approves the script; the production is cancelled at the audio checkpoint."""
    pid = await start_direct(stack, "rec-cancel", auto_approve=["script"])
    await wait_checkpoint(stack.client, pid, "audio", timeout_s=300)
    await cancel(stack.client, pid, "topic dropped")
    handle = stack.client.get_workflow_handle(production_workflow_id(pid), result_type=ProductionStatus)
    st = await handle.result()
    assert st.state == "cancelled", st
    save("production_cancelled", await handle.fetch_history())


async def cancelled_through_temporal(stack: Stack) -> None:
    await repo.create_channel(stack.db, "rec-tcancel", "science")
    pid = await start_production(stack.client, stack.db, stack.settings, "rec-tcancel", TOPIC, make_shorts=False)
    await wait_checkpoint(stack.client, pid, "script")
    handle = stack.client.get_workflow_handle(production_workflow_id(pid))
    await handle.cancel()
    await expect_failure(handle, "")
    save("production_cancelled_temporal", await handle.fetch_history())


async def video_jobs(stack: Stack) -> None:
    from PIL import Image

    from api.jobs_bridge import job_input, job_workflow_id

    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 160)).save(buf, "PNG")
    stack.storage.put_bytes("uploads/rec/still.png", buf.getvalue(), "image/png")
    stack.storage.put_bytes("uploads/rec/broken.png", b"not an image", "image/png")
    for name, key in (("videojob_completed", "still.png"), ("videojob_failed", "broken.png")):
        job_id = name.replace("_", "-")
        inp = job_input(
            "img2vid", job_id, {"image": f"uploads/rec/{key}"}, {"duration": 1, "zoom": 1.2}, stack.settings
        )
        handle = await stack.client.start_workflow(
            VIDEO_JOB_WORKFLOW, inp, id=job_workflow_id(job_id), task_queue=stack.settings.main_queue
        )
        if name.endswith("completed"):
            await handle.result()
        else:
            await expect_failure(handle, "")
        save(name, await handle.fetch_history())


async def video_job_live(stack: Stack) -> None:
    """A job with its worker's ``started`` report in the history (the live-events path)."""
    from PIL import Image

    from api.jobs_bridge import job_workflow_id, start_job

    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (30, 90, 160)).save(buf, "PNG")
    stack.storage.put_bytes("uploads/rec/still.png", buf.getvalue(), "image/png")
    job_id = "videojob-live"
    await start_job(
        stack.client, stack.settings, "img2vid", job_id, {"image": "uploads/rec/still.png"},
        {"duration": 1, "zoom": 1.2}, api_key_id="1",
    )  # fmt: skip
    handle = stack.client.get_workflow_handle(job_workflow_id(job_id))
    await handle.result()
    save("videojob_completed_live", await handle.fetch_history())


async def maintenance(stack: Stack) -> None:
    handle = await stack.client.start_workflow(
        "KnowledgeMaintenanceWorkflow", id="rec-maintenance", task_queue=stack.settings.main_queue
    )
    await handle.result()
    save("maintenance_completed", await handle.fetch_history())


async def analytics(stack: Stack) -> None:
    from tubeflow.contracts import ANALYTICS_WORKFLOW, AnalyticsInput

    await repo.create_channel(stack.db, "rec-analytics", "science")  # no account: reported, not failed
    handle = await stack.client.start_workflow(
        ANALYTICS_WORKFLOW, AnalyticsInput("rec-analytics"), id="rec-analytics", task_queue=stack.settings.main_queue
    )
    await handle.result()
    save("analytics_not_connected", await handle.fetch_history())


# The fake Google/YouTube server the publishing scenarios talk to, and the key sealing their tokens.
YOUTUBE: list[Any] = []
PLATFORMS: list[Any] = []  # the fake TikTok and the fake Instagram
SECRET_KEY = "0" * 43 + "="  # a valid Fernet key; only for recordings


async def _youtube_channel(stack: Stack, name: str) -> Any:
    """A channel connected to the fake YouTube account "rec" (credentials stored as connect would)."""
    from tubeflow.db import channel_repo
    from tubeflow.secret_box import SecretBox

    fake = YOUTUBE[0]
    await repo.create_channel(stack.db, name, "science")
    creds = json.loads(fake.credentials_file(Path(tempfile.mkdtemp()) / "c.json").read_text())
    sealed = SecretBox(SECRET_KEY).seal(json.dumps(creds))
    await channel_repo.save_account(stack.db, name, sealed, "rec-project", "UCrec", "Recorded channel")
    return fake


async def publish_waits(stack: Stack) -> None:
    """Publishing blocked twice and never failed: the quota (timer to its reset), then a revoked account."""
    import activities.calendar
    import activities.youtube

    # The quota "resets" 55 s before it ran out, so the workflow's wait (reset + 1 min) is 5 s; the
    # ledger's Pacific day turns when the test says the reset happened.
    day = ["day-1"]
    setattr(activities.youtube, "next_reset", lambda now: now - timedelta(seconds=55))  # noqa: B010 - a monkeypatch
    setattr(activities.calendar, "next_reset", lambda now: now - timedelta(seconds=55))  # noqa: B010
    setattr(activities.calendar, "pacific_day", lambda now: day[0])  # noqa: B010
    fake = await _youtube_channel(stack, "rec-quota")
    fake.quota_exceeded = True
    every = ["script", "audio", "broll", "final"]
    pid = await start_direct(stack, "rec-quota", auto_approve=every)
    await wait_for(stack.client, pid, lambda s: s.state == "blocked", 600, "blocked on quota")
    fake.quota_exceeded, day[0] = False, "day-2"
    await wait_for(stack.client, pid, lambda s: s.state == "completed", 120, "published after the reset")
    save("production_published_after_quota", await history_of(stack.client, production_workflow_id(pid)))

    good = fake.refresh_token
    fake.refresh_token = fake.accounts["default"].refresh_token = "rt-revoked"  # the stored one stops working
    fake.revoke_tokens()
    pid = await start_direct(stack, "rec-quota", auto_approve=every, topic="How do rainbows form?")
    await wait_for(stack.client, pid, lambda s: s.state == "blocked", 600, "blocked on the account")
    fake.refresh_token = fake.accounts["default"].refresh_token = good  # reconnected
    from tubeflow.db import channel_repo

    creds = await channel_repo.account_credentials(stack.db, "rec-quota")
    assert creds is not None
    await channel_repo.save_account(
        stack.db,
        "rec-quota",
        creds[1],
        "rec-project",
        "UCrec",
        "Recorded channel",
    )
    await stack.client.get_workflow_handle(production_workflow_id(pid)).signal("account_reconnected")
    await wait_for(stack.client, pid, lambda s: s.state == "completed", 120, "published after reconnecting")
    save("production_published_after_reconnect", await history_of(stack.client, production_workflow_id(pid)))


async def retry_after_quota_reset(stack: Stack) -> None:
    """Blocked on the quota; the operator has it reset (ledger cleared) and retries: published at once."""
    from datetime import UTC, datetime

    from tubeflow.db import channel_repo
    from tubeflow.youtube_quota import pacific_day

    fake = await _youtube_channel(stack, "rec-qretry")
    fake.quota_exceeded = True
    pid = await start_direct(stack, "rec-qretry", auto_approve=["script", "audio", "broll", "final"])
    await wait_for(stack.client, pid, lambda s: s.state == "blocked", 600, "blocked on quota")
    fake.quota_exceeded = False
    await channel_repo.reset_quota(stack.db, "rec-project", pacific_day(datetime.now(UTC)))
    await retry(stack.client, pid, "olga", "quota reset")
    await wait_for(stack.client, pid, lambda s: s.state == "completed", 120, "published after the retry")
    save("production_retried_after_quota_reset", await history_of(stack.client, production_workflow_id(pid)))


async def published_with_final_edits(stack: Stack) -> None:
    """The final checkpoint approved with a hand-edited title, description and tags (final-metadata-edits)."""
    pid = await start_direct(stack, "rec-edits", auto_approve=["script", "audio", "broll"])
    await wait_checkpoint(stack.client, pid, "final", timeout_s=600)
    edits = {"thumbnail": 1, "title": "Blue skies, explained", "description": "Fixed by hand.", "tags": ["sky"]}
    await review(stack.client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo", edits=edits))
    await wait_for(stack.client, pid, lambda s: s.state == "completed", 120, "published with the edits")
    save("production_published_with_final_edits", await history_of(stack.client, production_workflow_id(pid)))


async def quality_report_at_final(stack: Stack) -> None:
    """The render measured (its quality report in the status) and shown at the final checkpoint."""
    pid = await start_direct(stack, "rec-quality", auto_approve=["script", "audio", "broll"])
    st = await wait_checkpoint(stack.client, pid, "final", timeout_s=600)
    assert st.outputs.quality is not None, st
    save("production_quality_at_final", await history_of(stack.client, production_workflow_id(pid)))
    await cancel(stack.client, pid, "recorded")


async def quality_held_then_retried(stack: Stack) -> None:
    """Every checkpoint auto-approved and the quality gate on: the render fails its report (a pace
    limit no tiny render meets), the production waits in needs_attention instead of publishing;
    the operator looked and retries: published, then the Shorts, each measured."""
    from tubeflow.quality_report import QualityThresholds

    pid = await start_direct(
        stack, "rec-qgate", auto_approve=["script", "audio", "broll", "final"], make_shorts=True,
        quality=QualityThresholds(max_static_shot_s=0.5), quality_gate=True,
    )  # fmt: skip
    wf = production_workflow_id(pid)
    st = await wait_for(stack.client, pid, lambda s: s.state == "needs_attention", 600, "needs_attention")
    assert st.error and "quality check" in st.error, st.error
    save("production_quality_needs_attention", await history_of(stack.client, wf))
    await retry(stack.client, pid, "olga", "looked at it: fine")
    await stack.client.get_workflow_handle(wf).result()
    save("production_quality_retried_published", await history_of(stack.client, wf))
    save("shorts_quality_completed", await history_of(stack.client, f"{wf}-shorts"))


async def cross_posted(stack: Stack) -> None:
    """The channel also on TikTok and Instagram (the fakes): the final checkpoint approved with
    TikTok's caption edited (final-platform-edits), the Shorts posted on both (shorts-cross-post)."""
    import httpx

    from activities.platform_connect import connect_loopback

    def consent(url: str) -> None:
        assert httpx.get(url, follow_redirects=True, timeout=30).status_code == 200

    await repo.create_channel(stack.db, "rec-cross", "science")
    for platform in ("tiktok", "instagram"):
        await connect_loopback(stack.settings, stack.db, "rec-cross", platform, open_browser=False, on_url=consent)
    pid = await start_direct(stack, "rec-cross", auto_approve=["script", "audio", "broll"], make_shorts=True)
    await wait_checkpoint(stack.client, pid, "final", timeout_s=600)
    edits = {"platform_captions": {"tiktok": "Why the sky is blue #sky"}}
    await review(stack.client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo", edits=edits))
    wf = production_workflow_id(pid)
    await stack.client.get_workflow_handle(wf).result()
    assert len(PLATFORMS[0].posts()) == 2 and len(PLATFORMS[1].posts()) == 2
    save("production_cross_posted", await history_of(stack.client, wf))
    save("shorts_cross_posted", await history_of(stack.client, f"{wf}-shorts"))


async def expect_failure(handle: WorkflowHandle[Any, Any], words: str) -> None:
    try:
        await asyncio.wait_for(handle.result(), 300)
    except WorkflowFailureError as e:
        assert words in str(e.cause), f"{handle.id} failed, but not with {words!r}: {e.cause}"
        return
    raise AssertionError(f"{handle.id} did not fail")


SCENARIOS: dict[str, Callable[[Stack], Awaitable[None]]] = {
    "full_production": full_production,
    "fanout_production": fanout_production,
    "rejected_too_often": rejected_too_often,
    "permanent_activity_error": permanent_activity_error,
    "needs_attention_then_retry": needs_attention_then_retry,
    "shorts_needs_attention": shorts_needs_attention,
    "cadence_run": cadence_run,
    "final_redo_from_render": final_redo_from_render,
    "broll_preview": broll_preview,
    "broll_saved_edits": broll_saved_edits,
    "stage_progress": stage_progress,
    "reminded_at_checkpoint": reminded_at_checkpoint,
    "cancelled_by_signal": cancelled_by_signal,
    "cancelled_through_temporal": cancelled_through_temporal,
    "video_jobs": video_jobs,
    "video_job_live": video_job_live,
    "maintenance": maintenance,
    "analytics": analytics,
    "publish_waits": publish_waits,
    "retry_after_quota_reset": retry_after_quota_reset,
    "published_with_final_edits": published_with_final_edits,
    "quality_report_at_final": quality_report_at_final,
    "quality_held_then_retried": quality_held_then_retried,
    "cross_posted": cross_posted,
}


async def main(names: list[str]) -> None:
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        sys.exit(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    env = await start_local_env()
    try:
        from tests.fake_instagram import FakeInstagram
        from tests.fake_tiktok import FakeTikTok
        from tests.fake_youtube import FakeYouTube

        with (
            tempfile.TemporaryDirectory(prefix="tubeflow-record-") as home,
            FakeYouTube() as fake,
            FakeTikTok() as tt,
            FakeInstagram() as ig,
        ):
            YOUTUBE[:] = [fake]
            PLATFORMS[:] = [tt, ig]
            # A private copy of the niches, so a scenario can add one (the operator's fix).
            niches = Path(home) / "niches"
            shutil.copytree(REPO_ROOT / "niches", niches, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
            settings = tiny_settings(
                Path(home), niches_dir=str(niches), secret_key=SECRET_KEY, youtube_base_url=fake.base_url,
                tiktok_client_key=tt.client_key, tiktok_client_secret=tt.client_secret,
                tiktok_base_url=tt.base_url, tiktok_auth_url=tt.auth_url, facebook_app_id=ig.app_id,
                facebook_app_secret=ig.app_secret, instagram_graph_url=ig.graph_url,
                instagram_upload_url=ig.upload_url, facebook_auth_url=ig.auth_url,
            )  # fmt: skip
            async with running_stack(env.client, settings) as stack:
                chosen = [SCENARIOS[n] for n in names or SCENARIOS]
                await asyncio.gather(*(scenario(stack) for scenario in chosen))
    finally:
        await env.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", help=f"any of: {', '.join(SCENARIOS)} (default: all)")
    asyncio.run(main(parser.parse_args().scenarios))
