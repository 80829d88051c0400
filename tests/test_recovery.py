"""Recovery from a stage that fails for good: needs_attention, fix, retry, and nothing approved is redone.

Through the real dev server, real activities and tiny media.  The injected failure is a real
operator mistake: the niche's music file disappears between the b-roll review and the render.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from service.client import NothingToRetry, get_status, retry, review, start_production
from tests.conftest import tiny_settings
from tests.mediagen import music_wav
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_for, wait_for_row
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo
from tubeflow.settings import REPO_ROOT, Settings

TOPIC = "Why is the sky blue?"


def niche_with_music(tmp_path: Path, required: str = "[broll, final]") -> tuple[Settings, Path]:
    """A copy of the science niche with a music bed; only the checkpoints named are reviewed by a person."""
    niches = tmp_path / "niches"
    shutil.copytree(REPO_ROOT / "niches" / "science", niches / "science")
    yaml = (REPO_ROOT / "niches" / "science.yaml").read_text()
    yaml = yaml.replace("required_checkpoints: [script, audio, broll, final]", f"required_checkpoints: {required}")
    (niches / "science.yaml").write_text(yaml + "music: bed.wav\nmusic_volume_db: -20\n")
    music = music_wav(niches / "science" / "music" / "bed.wav", seconds=3.0)
    return tiny_settings(tmp_path, niches_dir=str(niches)), music


async def test_a_stage_that_fails_for_good_waits_for_a_fix_and_continues_from_there(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings, music = niche_with_music(tmp_path)
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "mended", "science")
        pid = await start_production(client, stack.db, settings, "mended", TOPIC, make_shorts=False)
        at_broll = await wait_checkpoint(client, pid, "broll", timeout_s=240)
        with pytest.raises(NothingToRetry, match="nothing to retry: the production is waiting"):
            await retry(client, pid, "op")

        # The operator's mistake: the music bed is gone when the render needs it.
        kept = tmp_path / "bed.wav"
        music.rename(kept)
        await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))
        stuck = await wait_for(client, pid, lambda s: s.state == "needs_attention", 240, "needs_attention")
        assert stuck.stage == "render"
        assert "bed.wav does not exist" in (stuck.error or "")
        assert [(i.stage, i.retried_by) for i in stuck.incidents] == [("render", "")]
        # The query answers as soon as the state changes; the database gets it from the snapshot
        # activity that runs right after, so wait for that write instead of racing it.
        row = await wait_for_row(stack.db, pid, "needs_attention")
        assert row.state == "needs_attention" and "bed.wav" in (row.error or "")

        # Fixed; retried; the production goes on from the render, nothing before it is redone.
        kept.rename(music)
        after = await retry(client, pid, "olga", "put the music back")
        assert after.state == "running" and after.stage == "render" and after.error is None
        final = await wait_checkpoint(client, pid, "final", timeout_s=300)
        await review(client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo"))
        done = await wait_for(client, pid, lambda s: s.state == "completed", 240, "completion")

        for name in ("facts", "script", "audio", "timing", "plan"):
            assert getattr(done.artifacts, name) == getattr(at_broll.artifacts, name), name
        assert done.attempts == {"script": 1, "audio": 1, "broll": 1, "final": 1}
        assert [(r.stage, r.approved) for r in done.reviews] == [
            ("script", True),
            ("audio", True),
            ("broll", True),
            ("final", True),
        ]
        made = stack.storage.list(f"productions/{pid}")
        # One script, one narration, one plan: the retry did not run an earlier stage again.
        assert sum("/script-v" in k for k in made) == 1
        assert sum(k.endswith(".wav") and "/voice-v" in k for k in made) == 1
        assert sum("/plan-v" in k for k in made) == 1
        assert done.incidents[0].retried_by == "olga" and done.incidents[0].retried_at
        assert final.artifacts.video and done.outputs.published


async def test_retry_and_cancel_through_the_api_and_dashboard(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    import httpx

    from api.app import create_app
    from api.auth import create_key

    settings, music = niche_with_music(tmp_path, required="[script, audio, broll, final]")
    client = temporal_env.client
    async with running_stack(client, settings, main=False, gpu=False) as stack:
        await repo.create_channel(stack.db, "broken", "science")
        pid = await start_production(client, stack.db, settings, "broken", TOPIC, make_shorts=False)
    music.unlink()  # before any worker runs: research loads the niche, so the first stage fails for good
    async with running_stack(client, settings, gpu=False) as stack:
        keys = {role: await create_key(stack.db, f"k-{role}", role) for role in ("editor", "viewer")}
        app = create_app(settings, temporal_client=client, db=stack.db, storage=stack.storage)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:

            def h(role: str) -> dict[str, str]:
                return {"Authorization": f"Bearer {keys[role]}"}

            stuck = await wait_for(client, pid, lambda s: s.state == "needs_attention", 120, "needs_attention")
            assert stuck.stage == "research" and "bed.wav does not exist" in (stuck.error or "")
            view = (await http.get(f"/api/productions/{pid}", headers=h("viewer"))).json()
            assert view["state"] == "needs_attention" and "bed.wav" in view["error"]
            # The review queue lists what needs a person, failures included, and its badge counts it.
            queue = (await http.get("/review", headers=h("viewer"))).text
            assert f'data-production="{pid}"' in queue and "needs_attention" in queue
            assert '<span class="pill">1</span>' in queue
            page = (await http.get(f"/productions/{pid}", headers=h("editor"))).text
            assert 'id="retry"' in page and 'id="attention"' in page and 'id="cancel"' in page
            assert 'id="retry"' not in (await http.get(f"/productions/{pid}", headers=h("viewer"))).text
            r = await http.post(f"/api/productions/{pid}/retry", json={}, headers=h("viewer"))
            assert r.status_code == 403

            # Retrying before the fix fails again, for the same reason: a second incident, still waiting.
            r = await http.post(f"/api/productions/{pid}/retry", json={"note": "try again"}, headers=h("editor"))
            assert r.status_code == 200, r.text
            again = await wait_for(client, pid, lambda s: len(s.incidents) == 2, 120, "second incident")
            assert again.state == "needs_attention" and again.incidents[0].retried_by == "k-editor"

            r = await http.post(
                f"/api/productions/{pid}/cancel", json={"reason": "not worth fixing"}, headers=h("editor")
            )
            assert r.status_code == 202, r.text
            st = await wait_for(client, pid, lambda s: s.state == "cancelled", 60, "cancelled")
            assert st.error and st.error.startswith("not worth fixing")
            r = await http.post(f"/api/productions/{pid}/retry", json={}, headers=h("editor"))
            assert r.status_code == 409 and "nothing to retry" in r.json()["detail"]
        with pytest.raises(NothingToRetry):
            await retry(client, pid, "op")
        assert (await get_status(client, pid)).state == "cancelled"
        assert (await wait_for_row(stack.db, pid, "cancelled")).state == "cancelled"


async def test_shorts_that_fail_after_publishing_wait_for_a_fix_and_the_production_completes(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The long-form is out when the Shorts fail: the production must not end as failed."""
    settings, music = niche_with_music(tmp_path, required="[final]")
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "shorty", "science")
        pid = await start_production(client, stack.db, settings, "shorty", TOPIC, make_shorts=True)
        await wait_checkpoint(client, pid, "final", timeout_s=300)
        kept = tmp_path / "bed.wav"
        music.rename(kept)  # the niche is now broken for every later stage: the Shorts load it
        await review(client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo"))
        stuck = await wait_for(client, pid, lambda s: s.state == "needs_attention", 240, "needs_attention")
        assert stuck.stage == "shorts" and "bed.wav does not exist" in (stuck.error or "")
        assert stuck.outputs.published and stuck.outputs.video_id, "the long-form was published first"
        assert [i.stage for i in stuck.incidents] == ["shorts"]
        assert stuck.artifacts.preview is None, "no preview is rendered for a b-roll nobody reviews"

        kept.rename(music)
        after = await retry(client, pid, "olga", "put the music back")
        assert after.state == "running" and after.stage == "shorts"
        done = await wait_for(client, pid, lambda s: s.state == "completed", 300, "completion")
        assert done.outputs.shorts and len(done.outputs.shorts) >= 1
        assert done.outputs.published == stuck.outputs.published, "the long-form was not published again"
        assert done.incidents[0].retried_by == "olga"
        assert (await wait_for_row(stack.db, pid, "completed")).state == "completed"


def test_a_request_aborted_by_the_closing_workflow_means_finished_not_unknown() -> None:
    """A retry or review that races the production's end: the server aborts the update with NOT_FOUND."""
    from temporalio.service import RPCError, RPCStatusCode

    from service.client import CheckpointNotOpen, UnknownProduction, _rpc_problem

    aborted = RPCError("workflow update was aborted by closing workflow", RPCStatusCode.NOT_FOUND, b"")
    assert isinstance(_rpc_problem("p1", aborted), CheckpointNotOpen)
    missing = RPCError("workflow not found for ID: production-p1", RPCStatusCode.NOT_FOUND, b"")
    assert isinstance(_rpc_problem("p1", missing), UnknownProduction)
