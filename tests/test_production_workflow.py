"""Whole productions through the real dev server, real activities and tiny real media.

The review state machine's cases (closed checkpoints, signals, edits, the attempt limit,
cancellation) are tested in seconds with stub activities in test_review_state_machine.py.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from service.client import review, start_production
from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_for, wait_for_row
from tubeflow.contracts import Checkpoint, ReviewDecision, production_workflow_id
from tubeflow.db import repo
from tubeflow.errors import PermanentError
from tubeflow.media.probe import probe

TOPIC = "Why is the sky blue?"


async def test_full_production_reject_then_approve_everything(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = tiny_settings(tmp_path, worker_price_per_hour=3.6)  # 0.001 USD per GPU second
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "skyline", "science")
        pid = await start_production(client, stack.db, settings, "skyline", TOPIC)  # science makes 2 Shorts

        first = await wait_checkpoint(client, pid, "script", 1)
        assert first.artifacts.script
        script_v1 = json.loads(stack.storage.get_text(first.artifacts.script))
        feedback = "Mention the sky on Mars by name"
        await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "ana", feedback))

        second = await wait_checkpoint(client, pid, "script", 2)
        assert second.artifacts.script
        assert second.artifacts.script != first.artifacts.script
        script_v2 = json.loads(stack.storage.get_text(second.artifacts.script))
        assert feedback in script_v2.get("feedback_applied", [])
        text_v2 = json.dumps(script_v2)
        assert "Mars" in text_v2 and "Mars" not in json.dumps(script_v1) and text_v2 != json.dumps(script_v1)
        [handled] = script_v2["feedback_handling"]  # checked against attempt 1, which the worker read back
        assert handled["attempt"] == 1 and handled["asks"][0]["status"] == "applied"

        await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana"))
        await wait_checkpoint(client, pid, "audio")
        await review(client, pid, ReviewDecision(Checkpoint.AUDIO, True, "ana"))
        await wait_checkpoint(client, pid, "broll")
        await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))
        final = await wait_checkpoint(client, pid, "final", timeout_s=300)
        assert final.artifacts.thumbnails and len(final.artifacts.thumbnails) >= 2
        await review(client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo", edits={"thumbnail": 1}))

        done = await wait_for(client, pid, lambda s: s.state == "completed", 240, "completion")
        assert done.progress == 100
        assert done.outputs.thumbnail == final.artifacts.thumbnails[1]
        assert done.outputs.published and done.outputs.narration_s
        outbox = settings.resolved_outbox_dir() / done.outputs.published
        assert {"video.mp4", "thumbnail.jpg", "metadata.json"} <= {p.name for p in outbox.iterdir()}
        meta = json.loads((outbox / "metadata.json").read_text())
        assert meta["title"] == done.title
        info = probe(outbox / "video.mp4")
        assert (info.width, info.height, info.video_codec, info.audio_codec) == (320, 180, "h264", "aac")
        assert abs(info.duration_s - done.outputs.narration_s) < 1.5

        # The render fanned out: one activity per segment, each segment encoded once, Shorts the same way.
        render = done.outputs.render
        assert render is not None and render.segments_total >= 2
        assert render.segments_rendered == render.segments_total
        kinds: list[str] = []
        for wf in (production_workflow_id(pid), f"{production_workflow_id(pid)}-shorts"):
            async for event in client.get_workflow_handle(wf).fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    kinds.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        assert "render_video" not in kinds and "render_short" not in kinds
        assert kinds.count("join_render") == 3 and kinds.count("render_segment") >= render.segments_total + 2

        # GPU time is costed at the worker's price and shown by the query.
        gpu_s, cost = done.outputs.gpu_seconds or 0.0, done.outputs.cost_usd or 0.0
        assert gpu_s > 0 and abs(cost - gpu_s * 0.001) < 0.01

        # Shorts: published without a checkpoint, vertical, at most 60 s, each in its own outbox entry.
        assert done.outputs.shorts and len(done.outputs.shorts) == 2
        for entry in done.outputs.shorts:
            short = probe(settings.resolved_outbox_dir() / entry / "video.mp4")
            assert (short.width, short.height) == (180, 320) and 1.0 < short.duration_s <= 60.0

        reviews = await repo.list_reviews(stack.db, pid)
        assert [(r.stage, r.approved) for r in reviews] == [
            ("script", False),
            ("script", True),
            ("audio", True),
            ("broll", True),
            ("final", True),
        ]
        row = await wait_for_row(stack.db, pid, "completed")
        assert row.state == "completed" and row.stage == "done"

        # Long GPU work heartbeats: a worker lost mid-transcription is noticed within a minute.
        history = await client.get_workflow_handle(production_workflow_id(pid)).fetch_history()
        scheduled = {
            e.activity_task_scheduled_event_attributes.activity_type.name: e.activity_task_scheduled_event_attributes
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }
        heartbeat = scheduled["transcribe"].heartbeat_timeout.ToTimedelta()
        assert timedelta(0) < heartbeat <= timedelta(seconds=60), heartbeat


async def test_unknown_channel_is_a_clear_error(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    async with running_stack(temporal_env.client, settings, gpu=False) as stack:
        with pytest.raises(PermanentError, match="unknown channel 'nope'"):
            await start_production(temporal_env.client, stack.db, settings, "nope", TOPIC)
        assert await repo.list_productions(stack.db) == []


async def test_a_topic_the_channel_covered_is_refused_unless_forced(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    from knowledge.coverage import record_coverage
    from service.client import TopicAlreadyCovered

    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    async with running_stack(client, settings, gpu=False) as stack:
        await repo.create_channel(stack.db, "c4", "science")
        await record_coverage(stack.db, "c4", "why is the sky blue", "earlier1", angle="Why is the Sky Blue?")
        with pytest.raises(TopicAlreadyCovered, match="already covered"):
            await start_production(client, stack.db, settings, "c4", TOPIC)
        assert await repo.list_productions(stack.db) == []
        pid = await start_production(client, stack.db, settings, "c4", TOPIC, force=True, make_shorts=False)
        await wait_checkpoint(client, pid, "script")
        # Another channel never covered it: no refusal there.
        await repo.create_channel(stack.db, "c5", "science")
        assert await start_production(client, stack.db, settings, "c5", TOPIC, make_shorts=False)
