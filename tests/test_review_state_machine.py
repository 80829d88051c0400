"""The review state machine of ProductionWorkflow, with stub activities: seconds, not minutes.

Real workflow code on the real dev server; only the activities are stubs registered under the
real names (tests/stub_activities.py).  Reviews go through the same client functions the CLI
and API use.  What media each stage makes is tested in test_production_workflow.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from service.client import CheckpointNotOpen, NothingToRetry, cancel, get_status, retry, review, revise
from service.worker import workflow_classes
from tests.stub_activities import BROKEN_NICHE, REFUSED_KEY, StubActivities
from tests.workflow_helpers import wait_checkpoint, wait_for
from tubeflow.contracts import (
    SIGNAL_APPROVE,
    Checkpoint,
    ProductionInput,
    ProductionStatus,
    ReviewDecision,
    Stage,
    State,
    Unrecognised,
    production_workflow_id,
)
from workflows.production import ProductionWorkflow

SCRIPT = {
    "title": "Edited title",
    "hook": "Look up.",
    "sections": [{"heading": "Light", "narration": "Sunlight holds every colour."}],
    "description": "Why the sky is blue.",
}


@dataclass
class Rig:
    client: Client
    stubs: StubActivities
    main_queue: str
    gpu_queue: str

    async def start(self, **fields: Any) -> tuple[str, WorkflowHandle[Any, ProductionStatus]]:
        pid = uuid.uuid4().hex[:12]
        inp = ProductionInput(
            production_id=pid,
            channel="sky",
            niche="science",
            topic="Why is the sky blue?",
            make_shorts=False,
            main_queue=self.main_queue,
            gpu_queue=self.gpu_queue,
        )
        for k, v in fields.items():
            setattr(inp, k, v)
        handle = await self.client.start_workflow(
            ProductionWorkflow.run, inp, id=production_workflow_id(pid), task_queue=self.main_queue
        )
        return pid, handle

    async def approve(self, pid: str, checkpoint: Checkpoint, attempt: int = 1, **edits: Any) -> ProductionStatus:
        await wait_checkpoint(self.client, pid, checkpoint, attempt, timeout_s=15)
        return await review(self.client, pid, ReviewDecision(checkpoint, True, "ana", edits=edits or None))


@pytest.fixture(scope="module")
async def rig(temporal_env: WorkflowEnvironment) -> AsyncIterator[Rig]:
    tag = uuid.uuid4().hex[:8]
    stubs = StubActivities()
    r = Rig(temporal_env.client, stubs, f"sm-main-{tag}", f"sm-gpu-{tag}")
    main = Worker(r.client, task_queue=r.main_queue, workflows=workflow_classes(), activities=stubs.main())
    gpu = Worker(r.client, task_queue=r.gpu_queue, activities=stubs.gpu())
    async with main, gpu:
        yield r


async def test_approve_everything_publishes_with_shorts_and_costs(rig: Rig) -> None:
    pid, handle = await rig.start(make_shorts=True)
    for cp in (Checkpoint.SCRIPT, Checkpoint.AUDIO, Checkpoint.BROLL):
        await rig.approve(pid, cp)
    answer = await rig.approve(pid, Checkpoint.FINAL, thumbnail=2)
    assert answer.checkpoint is None  # the update answers once the checkpoint has closed

    done = await handle.result()
    assert (done.stage, done.state, done.progress) == (Stage.DONE, State.COMPLETED, 100.0)
    assert done.outputs.thumbnail == f"p/{pid}/thumb-2.jpg"
    assert done.outputs.published == f"outbox/{pid}" and done.outputs.video_id == "vid"
    assert done.outputs.shorts == [f"outbox/{pid}-short-0", f"outbox/{pid}-short-1"]
    # GPU time: transcribe 1.5 + the b-roll preview 0.5 + three fan-out renders (the video, two
    # Shorts) of 3 x 1 + 0.5 + 0.5 each.
    assert done.outputs.gpu_seconds == 14.0 and done.outputs.cost_usd == pytest.approx(0.014)
    assert done.outputs.render is not None
    assert (done.outputs.render.segments_total, done.outputs.render.segments_rendered) == (3, 3)
    assert done.artifacts.to_dict().keys() == {
        "facts",
        "script",
        "audio",
        "timing",
        "plan",
        "words",
        "video",
        "thumbnails",
        "preview",
        "quality",
    }
    # The render was measured (its quality report), and each Short before it was published.
    assert done.outputs.quality is not None and done.outputs.quality.passed
    assert [r.video for r in done.outputs.shorts_quality or []] == ["short-0", "short-1"]
    measured = [q.output_key for q in rig.stubs.of(pid, "measure_quality")]
    assert measured[0] == f"productions/{pid}/quality.json"  # the Shorts after it, measured at once (any order)
    assert sorted(measured[1:]) == [f"productions/{pid}/shorts/short-{i}.quality.json" for i in (0, 1)]
    published = rig.stubs.of(pid, "publish")[0]
    assert published.thumbnail_key == done.outputs.thumbnail and published.video_key == f"productions/{pid}/video.mp4"
    assert [(r.stage, r.approved) for r in rig.stubs.of(pid, "record_review")] == [
        (cp, True) for cp in ("script", "audio", "broll", "final")
    ]
    snaps = rig.stubs.of(pid, "record_snapshot")
    assert [s.stage for s in snaps][:3] == ["research", "script", "review_script"]
    assert (snaps[-1].stage, snaps[-1].state) == ("done", "completed")


async def test_final_metadata_edits_are_checked_then_reach_the_publish_request(rig: Rig) -> None:
    pid, handle = await rig.start(auto_approve=["script", "audio", "broll"])
    await wait_checkpoint(rig.client, pid, Checkpoint.FINAL, timeout_s=15)
    with pytest.raises(CheckpointNotOpen, match="title is 101 characters; YouTube allows at most 100"):
        await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana", edits={"title": "x" * 101}))
    edits: dict[str, Any] = {
        "thumbnail": 1,
        "title": "Blue, explained",
        "description": "Fixed one word.",
        "tags": ["sky", "light"],
    }
    await rig.approve(pid, Checkpoint.FINAL, 1, **edits)
    await handle.result()
    extra = rig.stubs.of(pid, "publish")[0].extra
    assert (extra["title"], extra["description"], extra["tags"]) == (
        "Blue, explained",
        "Fixed one word.",
        ["sky", "light"],
    )


async def test_an_untouched_final_checkpoint_publishes_what_the_script_says(rig: Rig) -> None:
    pid, handle = await rig.start(auto_approve=["script", "audio", "broll"])
    await rig.approve(pid, Checkpoint.FINAL, thumbnail=0)
    await handle.result()
    assert not {"title", "description", "tags"} & set(rig.stubs.of(pid, "publish")[0].extra)


async def test_reject_redoes_the_stage_with_all_feedback_so_far(rig: Rig) -> None:
    pid, _ = await rig.start()
    await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, 1, timeout_s=15)
    await review(rig.client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "ana", "Name Rayleigh"))
    await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, 2, timeout_s=15)
    await review(rig.client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "bo", "Shorter hook"))
    st = await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, 3, timeout_s=15)

    assert [(r.attempt, r.feedback) for r in rig.stubs.of(pid, "write_script")] == [
        (1, []),
        (2, ["Name Rayleigh"]),
        (3, ["Name Rayleigh", "Shorter hook"]),
    ]
    assert st.artifacts.script == f"p/{pid}/script-v3.json" and st.title == "Title v3"
    assert [(r.approved, r.attempt) for r in st.reviews] == [(False, 1), (False, 2)]
    # Rejecting audio redoes only the audio: the approved script stays.
    await review(rig.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana"))
    await wait_checkpoint(rig.client, pid, Checkpoint.AUDIO, 1, timeout_s=15)
    await review(rig.client, pid, ReviewDecision(Checkpoint.AUDIO, False, "ana", "Slower please"))
    st = await wait_checkpoint(rig.client, pid, Checkpoint.AUDIO, 2, timeout_s=15)
    voice = rig.stubs.of(pid, "synthesize_voice")
    assert [(v.attempt, v.feedback, v.script_key) for v in voice] == [
        (1, [], f"p/{pid}/script-v3.json"),
        (2, ["Slower please"], f"p/{pid}/script-v3.json"),
    ]
    assert len(rig.stubs.of(pid, "write_script")) == 3 and st.artifacts.audio == f"p/{pid}/voice-v2.wav"
    await cancel(rig.client, pid, "done testing")


async def test_edits_at_each_checkpoint_are_applied(rig: Rig) -> None:
    pid, handle = await rig.start()
    answer = await rig.approve(pid, Checkpoint.SCRIPT, script=SCRIPT)
    assert answer.stage in (Stage.SCRIPT, Stage.REVIEW_SCRIPT, Stage.TTS)
    await rig.approve(pid, Checkpoint.AUDIO)
    await rig.approve(pid, Checkpoint.BROLL, swap={"0": "library/sky.jpg"})
    st = await wait_checkpoint(rig.client, pid, Checkpoint.FINAL, timeout_s=15)
    assert st.title == "Edited title" and st.artifacts.script == f"p/{pid}/script-v1-edited.json"
    assert st.artifacts.plan == f"p/{pid}/plan-v1-swapped.json"
    (edit,) = rig.stubs.of(pid, "save_script_edit")
    assert edit.script == SCRIPT and edit.attempt == 1
    (swap,) = rig.stubs.of(pid, "apply_broll_swap")
    assert swap.swaps == {"0": "library/sky.jpg"} and swap.plan_key == f"p/{pid}/plan-v1.json"
    # Everything after the edits uses the edited script and the swapped plan.
    assert rig.stubs.of(pid, "synthesize_voice")[0].script_key == edit_key(pid)
    assert rig.stubs.of(pid, "render_layout")[0].plan_key == swap_key(pid)
    assert rig.stubs.of(pid, "make_thumbnails")[0].plan_key == swap_key(pid)

    with pytest.raises(CheckpointNotOpen, match="thumbnail must be an index from 0 to 2, not 7"):
        await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana", edits={"thumbnail": 7}))
    with pytest.raises(CheckpointNotOpen, match=r"edits \['swap'\] are not accepted at the final checkpoint"):
        await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana", edits={"swap": {}}))
    await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana", edits={"thumbnail": 1}))
    assert (await handle.result()).outputs.thumbnail == f"p/{pid}/thumb-1.jpg"


async def test_saved_broll_edits_rerender_the_preview_and_the_approval_uses_them(rig: Rig) -> None:
    pid, handle = await rig.start()
    with_edits = ReviewDecision(Checkpoint.BROLL, False, "bo", edits={"parts": {"2": ["b.jpg", "a.jpg"]}})
    await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, timeout_s=15)
    with pytest.raises(CheckpointNotOpen, match="only while the b-roll checkpoint is open"):
        await revise(rig.client, pid, with_edits)
    await rig.approve(pid, Checkpoint.SCRIPT)
    await rig.approve(pid, Checkpoint.AUDIO)
    await wait_checkpoint(rig.client, pid, Checkpoint.BROLL, timeout_s=15)

    answer = await revise(rig.client, pid, with_edits)
    assert answer.checkpoint is None and answer.state == State.RUNNING  # the preview is rendering
    assert answer.artifacts.plan == f"p/{pid}/plan-v1-e1.json"
    st = await wait_for(rig.client, pid, lambda s: s.checkpoint == Checkpoint.BROLL, 15, "the checkpoint reopened")
    assert st.state == State.WAITING and st.artifacts.preview == f"productions/{pid}/preview-v1-e1.mp4"
    assert st.reviews[-1].stage == Checkpoint.AUDIO  # saving is no decision
    (saved,) = rig.stubs.of(pid, "apply_broll_swap")
    assert (saved.plan_key, saved.parts, saved.revision) == (f"p/{pid}/plan-v1.json", {"2": ["b.jpg", "a.jpg"]}, 1)
    previews = rig.stubs.of(pid, "render_preview")
    assert [p.plan_key for p in previews] == [f"p/{pid}/plan-v1.json", f"p/{pid}/plan-v1-e1.json"]

    # Edits the plan cannot take: the update says why, the checkpoint stays open on the last plan.
    refused = ReviewDecision(Checkpoint.BROLL, False, "bo", edits={"parts": {"1": [REFUSED_KEY]}})
    with pytest.raises(CheckpointNotOpen, match="is not a picture of this plan"):
        await revise(rig.client, pid, refused)
    st = await wait_for(rig.client, pid, lambda s: s.checkpoint == Checkpoint.BROLL, 15, "open again")
    assert st.artifacts.plan == f"p/{pid}/plan-v1-e1.json" and "edits not applied" in st.detail
    assert len(rig.stubs.of(pid, "render_preview")) == 2
    with pytest.raises(CheckpointNotOpen, match="nothing to save"):
        await revise(rig.client, pid, ReviewDecision(Checkpoint.BROLL, False, "bo", edits={}))

    # The approval's own edits are applied on top of the saved plan, and the render uses the result.
    await review(rig.client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo", edits={"parts": {"1": ["c.jpg"]}}))
    await wait_checkpoint(rig.client, pid, Checkpoint.FINAL, timeout_s=15)
    final = rig.stubs.of(pid, "apply_broll_swap")[-1]
    assert (final.plan_key, final.parts, final.revision) == (f"p/{pid}/plan-v1-e1.json", {"1": ["c.jpg"]}, 0)
    assert rig.stubs.of(pid, "render_layout")[0].plan_key == swap_key(pid)
    await cancel(rig.client, pid)
    await wait_for(rig.client, pid, lambda s: s.state == State.CANCELLED, 15, "cancelled")


def edit_key(pid: str) -> str:
    return f"p/{pid}/script-v1-edited.json"


def swap_key(pid: str) -> str:
    return f"p/{pid}/plan-v1-swapped.json"


async def test_invalid_script_edit_is_refused_and_the_checkpoint_stays_open(rig: Rig) -> None:
    pid, _ = await rig.start()
    await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, timeout_s=15)
    with pytest.raises(CheckpointNotOpen, match="the edited script is invalid"):
        await review(rig.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana", edits={"script": {"title": ""}}))
    st = await get_status(rig.client, pid)
    assert st.checkpoint == Checkpoint.SCRIPT and st.state == State.WAITING and st.reviews == []
    await cancel(rig.client, pid)


async def test_closed_checkpoint_is_refused_and_a_signal_for_it_is_noted(rig: Rig) -> None:
    pid, _ = await rig.start()
    await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, timeout_s=15)
    with pytest.raises(CheckpointNotOpen, match="'final' is not open: the open checkpoint is 'script'"):
        await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana"))
    with pytest.raises(CheckpointNotOpen, match="unknown checkpoint 'thumbs'; checkpoints are script, audio"):
        await review(rig.client, pid, ReviewDecision(Unrecognised("thumbs"), True, "ana"))
    with pytest.raises(CheckpointNotOpen, match="a rejection needs feedback"):
        await review(rig.client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "ana", "  "))
    # A signal cannot answer its sender: the refusal lands in the review history instead.
    handle = rig.client.get_workflow_handle(production_workflow_id(pid))
    await handle.signal(SIGNAL_APPROVE, ReviewDecision(Checkpoint.AUDIO, True, "sig"))
    st = await wait_for(rig.client, pid, lambda s: bool(s.reviews), 15, "the ignored note")
    (note,) = st.reviews
    assert note.stage == "audio" and note.note.startswith("ignored: checkpoint 'audio' is not open")
    assert note.ignored
    assert st.checkpoint == Checkpoint.SCRIPT and rig.stubs.of(pid, "record_review") == []
    # A signal naming no checkpoint still decodes (the name stays a plain string) and is noted, not dropped.
    await handle.signal(SIGNAL_APPROVE, ReviewDecision(Unrecognised("thumbs"), True, "sig"))
    st = await wait_for(rig.client, pid, lambda s: len(s.reviews) == 2, 15, "the second ignored note")
    unknown = st.reviews[1]
    assert unknown.ignored and unknown.stage == "thumbs" and not isinstance(unknown.stage, Checkpoint)
    assert unknown.note == "ignored: unknown checkpoint 'thumbs'; checkpoints are script, audio, broll, final"
    # The right review still works, through the signal too.
    await handle.signal(SIGNAL_APPROVE, ReviewDecision(Checkpoint.SCRIPT, True, "sig"))
    st = await wait_checkpoint(rig.client, pid, Checkpoint.AUDIO, timeout_s=15)
    assert st.attempts == {"script": 1, "audio": 1}
    await cancel(rig.client, pid)


async def test_rejected_too_often_fails_saying_why(rig: Rig) -> None:
    pid, handle = await rig.start(max_attempts=2)
    for attempt in (1, 2):
        await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, attempt, timeout_s=15)
        await review(rig.client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "ana", f"weak ({attempt})"))
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert "the script was rejected 2 times (the limit); last feedback: 'weak (2)'" in str(info.value.cause)
    last = rig.stubs.of(pid, "record_snapshot")[-1]
    assert last.state == "failed" and "rejected 2 times" in (last.error or "")
    assert len(rig.stubs.of(pid, "write_script")) == 2


async def test_permanent_activity_error_waits_for_an_operator_then_retries_that_stage(rig: Rig) -> None:
    pid, handle = await rig.start(niche=BROKEN_NICHE)
    st = await wait_for(rig.client, pid, lambda s: s.state == State.NEEDS_ATTENTION, 15, "needs attention")
    assert (st.stage, st.error) == (Stage.RESEARCH, "unknown niche 'broken'")
    assert [(i.stage, i.reason) for i in st.incidents] == [("research", "unknown niche 'broken'")]
    assert len(rig.stubs.of(pid, "research")) == 1  # non-retryable: tried once, then an operator decides
    after = await retry(rig.client, pid, "olga")
    assert after.state != State.NEEDS_ATTENTION and after.error is None
    with pytest.raises(NothingToRetry, match="nothing to retry"):
        await retry(rig.client, pid, "olga")
    st = await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, timeout_s=15)
    assert len(rig.stubs.of(pid, "research")) == 2 and st.incidents[0].retried_by == "olga"
    await cancel(rig.client, pid)


async def test_cancel_while_a_production_needs_attention(rig: Rig) -> None:
    pid, handle = await rig.start(niche=BROKEN_NICHE)
    await wait_for(rig.client, pid, lambda s: s.state == State.NEEDS_ATTENTION, 15, "needs attention")
    await cancel(rig.client, pid, "not worth fixing")
    st = await handle.result()
    assert (st.state, st.error) == (State.CANCELLED, "not worth fixing")
    assert len(rig.stubs.of(pid, "research")) == 1


async def test_auto_approved_checkpoints_do_not_wait(rig: Rig) -> None:
    pid, handle = await rig.start(auto_approve=["script", "audio", "broll"])
    st = await wait_checkpoint(rig.client, pid, Checkpoint.FINAL, timeout_s=15)
    assert [(r.stage, r.reviewer, r.note) for r in st.reviews] == [
        (cp, "policy", "auto-approved by the niche's review policy") for cp in ("script", "audio", "broll")
    ]
    # The query answers as the checkpoint opens; its snapshot activity may land a moment later.
    waited: set[str | None] = set()
    for _ in range(100):
        waited = {s.checkpoint for s in rig.stubs.of(pid, "record_snapshot") if s.state == "waiting"}
        if waited:
            break
        await asyncio.sleep(0.1)
    assert waited == {"final"}
    # Nobody looks at a preview of an auto-approved b-roll: none is rendered, the render transcribes.
    assert rig.stubs.of(pid, "render_preview") == [] and st.artifacts.preview is None
    await review(rig.client, pid, ReviewDecision(Checkpoint.FINAL, True, "ana"))
    assert (await handle.result()).state == State.COMPLETED
    assert len(rig.stubs.of(pid, "transcribe")) == 1


async def test_cancel_signal_ends_a_waiting_production(rig: Rig) -> None:
    pid, handle = await rig.start()
    await rig.approve(pid, Checkpoint.SCRIPT)
    await wait_checkpoint(rig.client, pid, Checkpoint.AUDIO, timeout_s=15)
    await cancel(rig.client, pid, "topic dropped")
    st = await handle.result()
    assert (st.state, st.error, st.checkpoint) == (State.CANCELLED, "topic dropped", None)
    assert rig.stubs.of(pid, "record_snapshot")[-1].state == "cancelled"
    assert rig.stubs.of(pid, "gather_broll") == []


async def test_temporal_cancel_is_recorded_then_obeyed(rig: Rig) -> None:
    pid, handle = await rig.start()
    await wait_checkpoint(rig.client, pid, Checkpoint.SCRIPT, timeout_s=15)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as info:
        await handle.result()
    assert isinstance(info.value.cause, CancelledError)
    last = rig.stubs.of(pid, "record_snapshot")[-1]
    assert (last.state, last.error) == ("cancelled", "cancelled through Temporal")
