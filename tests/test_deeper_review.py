"""Deeper rejections through the real dev server: the final cut sent back to the render, the b-roll
and the script; pronunciations kept per channel; review notes that change later productions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from knowledge.store import get_learnings
from service.client import CheckpointNotOpen, review, start_production
from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_for
from tubeflow.contracts import Checkpoint, RedoTarget, ReviewDecision, Unrecognised
from tubeflow.db import repo
from tubeflow.keys import channel_lexicon as channel_lexicon_key
from tubeflow.media.probe import probe
from tubeflow.settings import REPO_ROOT, Settings

TOPIC = "Why is the sky blue?"


def science(tmp_path: Path, required: str, **overrides: object) -> Settings:
    """The bundled science niche with only ``required`` checkpoints reviewed by a person."""
    niches = tmp_path / "niches"
    shutil.copytree(REPO_ROOT / "niches" / "science", niches / "science")
    yaml = (REPO_ROOT / "niches" / "science.yaml").read_text()
    (niches / "science.yaml").write_text(
        yaml.replace("required_checkpoints: [script, audio, broll, final]", f"required_checkpoints: {required}")
    )
    return tiny_settings(tmp_path, niches_dir=str(niches), **overrides)


def plan_keys(stack: object, plan_key: str) -> list[str]:
    plan = json.loads(stack.storage.get_text(plan_key))  # type: ignore[attr-defined]
    return [m["key"] for p in plan["parts"] for m in (*p["items"], *p["candidates"])]


async def test_final_rejection_redoes_from_render_broll_or_script_and_reviews_again(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = science(tmp_path, "[broll, final]", max_review_attempts=4)
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "deep", "science")
        pid = await start_production(client, stack.db, settings, "deep", TOPIC, make_shorts=False)
        broll1 = await wait_checkpoint(client, pid, "broll", timeout_s=240)
        assert broll1.artifacts.plan and broll1.artifacts.preview and broll1.outputs.narration_s is not None
        assert any("clouds" in k for k in plan_keys(stack, broll1.artifacts.plan))
        # The preview of the whole cut is there before the render, with the narration's sound.
        preview = probe(stack.storage.fetch(broll1.artifacts.preview))
        assert preview.has_audio and preview.height <= 480
        assert abs(preview.duration_s - broll1.outputs.narration_s) < 1.5
        assert broll1.artifacts.video is None
        await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))
        final1 = await wait_checkpoint(client, pid, "final", 1, timeout_s=300)
        assert final1.artifacts.words == broll1.artifacts.words  # transcribed once, for the preview

        # Only the final checkpoint takes a target, and only known stages.
        with pytest.raises(CheckpointNotOpen, match="redo_from must be one of"):
            await review(client, pid, ReviewDecision(Checkpoint.FINAL, False, "bo", "x", redo_from=Unrecognised("tts")))

        # 1. Back to the render: a new cut, same plan and narration, the final review again.
        await review(
            client, pid, ReviewDecision(Checkpoint.FINAL, False, "bo", "the cut stutters", redo_from=RedoTarget.RENDER)
        )
        final2 = await wait_checkpoint(client, pid, "final", 2, timeout_s=300)
        assert final2.artifacts.video != final1.artifacts.video
        assert final2.artifacts.plan == final1.artifacts.plan and final2.attempts["broll"] == 1
        assert final2.artifacts.audio == final1.artifacts.audio

        # 2. Back to the b-roll with feedback: a new plan reviewed again, then a new render and final review.
        await review(
            client,
            pid,
            ReviewDecision(Checkpoint.FINAL, False, "bo", "No more pictures of clouds", redo_from=RedoTarget.BROLL),
        )
        broll2 = await wait_checkpoint(client, pid, "broll", 2, timeout_s=240)
        assert broll2.artifacts.plan
        keys = plan_keys(stack, broll2.artifacts.plan)
        assert keys and not any("clouds" in k for k in keys)
        assert broll2.attempts["script"] == 1 and broll2.artifacts.audio == final1.artifacts.audio
        await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))
        final3 = await wait_checkpoint(client, pid, "final", 3, timeout_s=300)
        assert final3.artifacts.video not in (final1.artifacts.video, final2.artifacts.video)

        # 3. Back to the script: script, voice, b-roll (reviewed), render and final all again.
        await review(
            client,
            pid,
            ReviewDecision(Checkpoint.FINAL, False, "bo", "Mention Lord Rayleigh by name", redo_from=RedoTarget.SCRIPT),
        )
        broll3 = await wait_checkpoint(client, pid, "broll", 3, timeout_s=300)
        assert broll3.attempts["script"] == 2 and broll3.artifacts.script != final1.artifacts.script
        assert broll3.artifacts.script
        assert "Rayleigh" in stack.storage.get_text(broll3.artifacts.script)
        assert broll3.artifacts.audio != final1.artifacts.audio
        await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))
        await wait_checkpoint(client, pid, "final", 4, timeout_s=300)
        await review(client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo"))
        done = await wait_for(client, pid, lambda s: s.state == "completed", 240, "completion")
        assert [r.redo_from for r in done.reviews if r.stage == "final"] == ["render", "broll", "script", ""]

        # Every rejection became a learning filed under the stage it is about.
        origins = {lr.origin: lr.text for lr in await get_learnings(stack.db, "science", "deep", limit=50)}
        assert origins["review:render"] == "the cut stutters"
        assert origins["review:broll"] == "No more pictures of clouds"
        assert origins["review:script"] == "Mention Lord Rayleigh by name"

        # The b-roll note changes the niche's next production (another channel, so no b-roll history
        # of its own steers it): no clouds in its first plan, and the plan says why.
        await repo.create_channel(stack.db, "deeper", "science")
        pid2 = await start_production(client, stack.db, settings, "deeper", TOPIC, make_shorts=False)
        nxt = await wait_checkpoint(client, pid2, "broll", timeout_s=240)
        assert nxt.artifacts.plan and nxt.outputs.broll_warnings is not None
        assert not any("clouds" in k for k in plan_keys(stack, nxt.artifacts.plan))
        assert any("avoiding clouds" in w for w in nxt.outputs.broll_warnings)


async def test_a_pronunciation_taught_at_the_audio_review_sticks_for_the_channel(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = science(tmp_path, "[audio]")
    client = temporal_env.client
    async with running_stack(client, settings, gpu=False) as stack:
        await repo.create_channel(stack.db, "sayit", "science")
        pid = await start_production(client, stack.db, settings, "sayit", TOPIC, make_shorts=False)
        first = await wait_checkpoint(client, pid, "audio")
        assert first.artifacts.audio
        assert not stack.storage.exists(first.artifacts.audio.replace(".wav", ".spoken.json"))
        with pytest.raises(CheckpointNotOpen, match="needs a respelling"):
            await review(
                client, pid, ReviewDecision(Checkpoint.AUDIO, False, "ana", "say it right", {"pronounce": {"sky": ""}})
            )
        await review(
            client,
            pid,
            ReviewDecision(Checkpoint.AUDIO, False, "ana", "say sky like skai", {"pronounce": {"sky": "skai"}}),
        )
        second = await wait_checkpoint(client, pid, "audio", 2)
        assert second.artifacts.audio and second.artifacts.timing
        spoken = json.loads(stack.storage.get_text(second.artifacts.audio.replace(".wav", ".spoken.json")))
        assert any("skai" in p for p in spoken) and not any(" sky " in f" {p.lower()} " for p in spoken)
        assert "sky" in json.loads(stack.storage.get_text(channel_lexicon_key("sayit")))
        # Captions and b-roll still read the written word.
        timing = json.loads(stack.storage.get_text(second.artifacts.timing))
        assert any("sky" in p["text"].lower() for p in timing["parts"])

        # The next video of the channel is read with the lexicon from its first take.
        pid2 = await start_production(client, stack.db, settings, "sayit", TOPIC, force=True, make_shorts=False)
        nxt = await wait_checkpoint(client, pid2, "audio")
        assert nxt.artifacts.audio
        spoken = json.loads(stack.storage.get_text(nxt.artifacts.audio.replace(".wav", ".spoken.json")))
        assert any("skai" in p for p in spoken)
