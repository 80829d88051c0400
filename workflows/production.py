"""ProductionWorkflow: one long-form video of one channel, from topic to published file.

The workflow is only the state machine: which stage runs next, which checkpoint is open, how
many attempts a stage had.  All work happens in activities that exchange storage keys.  A
checkpoint is a durable wait on a review (signal or update), so a production can sit at "review
the script" for days, across worker and server restarts, and continue where it stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError, is_cancelled_exception

from workflows.activity_calls import TaskQueues, execute, start
from workflows.render_fanout import PATCH_RENDER_FANOUT, render_fanout

with workflow.unsafe.imports_passed_through():
    from tubeflow import activity_defs as act
    from tubeflow.activity_defs import GPU_RETRY, ActivityDef
    from tubeflow.contracts import (
        CHECKPOINTS,
        QUERY_STATUS,
        SA_STAGE,
        SIGNAL_APPROVE,
        SIGNAL_CANCEL,
        SIGNAL_PROGRESS,
        SIGNAL_RECONNECTED,
        SIGNAL_REJECT,
        STAGE_PROGRESS,
        UPDATE_RETRY,
        UPDATE_REVIEW,
        UPDATE_REVISE,
        BrollRequest,
        BrollResult,
        BrollSwap,
        Checkpoint,
        Incident,
        Notification,
        PreviewSummary,
        ProductionInput,
        ProductionStatus,
        ProgressReport,
        PronunciationEdit,
        PublishRequest,
        RedoFrom,
        RedoTarget,
        RenderRequest,
        RenderResult,
        RenderSummary,
        ResearchRequest,
        ResearchResult,
        RetryRequest,
        ReviewDecision,
        ReviewLog,
        ReviewRecord,
        ScriptEdit,
        ScriptRequest,
        ScriptResult,
        ShortsInput,
        ShortsResult,
        Stage,
        State,
        StateSnapshot,
        ThumbnailRequest,
        ThumbnailResult,
        TranscribeRequest,
        TranscribeResult,
        VoiceRequest,
        VoiceResult,
    )
    from tubeflow.keys import ProductionKeys
    from tubeflow.progress import StageStep, eta_s, step_detail
    from tubeflow.quality_report import QualityRequest, render_boxes
    from tubeflow.render_contracts import RenderJob
    from tubeflow.review_edits import (
        FINAL_METADATA_FIELDS,
        EditsRefused,
        applied_edits,
        audio_edits,
        broll_edits,
        broll_revision,
        final_edits,
        script_edits,
    )

A = TypeVar("A")
T = TypeVar("T")

STAGE_SA = SearchAttributeKey.for_keyword(SA_STAGE)
# Behaviour changes, each replayed old-way for histories recorded before it (see ARCHITECTURE.md).
PATCH_NEEDS_ATTENTION = "stage-failure-needs-attention"
PATCH_FINAL_REDO_FROM = "final-reject-redo-from"
# Publishing blocked by YouTube (quota spent, authorization revoked) waits instead of failing.
PATCH_PUBLISH_WAITS = "publish-waits-for-quota-and-reconnect"
WAITABLE_ERRORS = ("QuotaExhausted", "AccountNeedsReconnect")
QUOTA_RESET_MARGIN = timedelta(minutes=1)  # clocks differ: publish a minute after the reset, not at it
PATCH_BROLL_PREVIEW = "broll-checkpoint-preview"
PATCH_NOTIFY = "notifications"
# Shorts that fail for good (after the long-form is published) wait for a fix and a retry, like any
# stage, instead of failing a production whose video is already out.
PATCH_SHORTS_ATTENTION = "shorts-failure-needs-attention"
# No low-resolution preview (nor the transcription moved for it) when no person reviews the b-roll.
PATCH_PREVIEW_FOR_REVIEWERS = "preview-only-for-reviewers"
PATCH_TRANSCRIBE_BESIDE_BROLL = "transcribe-beside-broll"
# ``retry`` also wakes a production blocked on the quota (the operator had it raised or reset): one
# try now, then the timer again if the quota is still spent.
PATCH_RETRY_WAKES_QUOTA_WAIT = "retry-wakes-quota-wait"
# The final checkpoint also accepts hand edits of the title, description and tags, which are published.
PATCH_FINAL_METADATA_EDITS = "final-metadata-edits"
# ... and the Shorts' other platforms: which to leave out (unticked) and each one's caption.
PATCH_PLATFORM_EDITS = "final-platform-edits"
# The b-roll checkpoint takes the whole layout (``parts``: every picture of a part, in order) and
# saved edits (the ``revise`` update): applied and the preview rendered again, the checkpoint open.
PATCH_BROLL_EDITS = "broll-checkpoint-edits"
# Each render is measured (its quality report, shown at the final checkpoint); a failed report holds
# an auto-approved final checkpoint in needs_attention instead of publishing.
PATCH_QUALITY_REPORT = "quality-report"
# The voice and b-roll stages write their activities' progress reports (parts voiced, pictures
# picked, time left) to the database as they arrive, as the render does: the page shows them live.
PATCH_STAGE_PROGRESS = "stage-sub-progress"
# What the reviewer looks at, per checkpoint (in the checkpoint-opened notification).
TO_REVIEW: dict[Checkpoint, str] = {
    Checkpoint.SCRIPT: "the script (text, title, sources)",
    Checkpoint.AUDIO: "the narration (listen; teach pronunciations)",
    Checkpoint.BROLL: "the b-roll picks and the low-resolution preview of the whole cut",
    Checkpoint.FINAL: "the rendered video and the thumbnails",
}


class ReviewRejectedTooOften(Exception):
    pass


@dataclass
class _Cut:
    """What the production has made for the final checkpoint; a final rejection's redo replaces part of it."""

    research: ResearchResult
    script: ScriptResult
    voice: VoiceResult
    plan_key: str
    words: TranscribeResult
    video: RenderResult


@dataclass
class _Revision:
    """Edits a reviewer saved at the b-roll checkpoint; ``done`` answers their update (``problem``: refused)."""

    decision: ReviewDecision
    done: bool = False
    problem: str | None = None


class ProductionCancelled(Exception):
    """Raised at the next safe point after the ``cancel`` signal (a checkpoint or a stage change)."""


@workflow.defn(name="ProductionWorkflow")
class ProductionWorkflow:
    def __init__(self) -> None:
        self._input: ProductionInput | None = None
        self._status = ProductionStatus(
            production_id="", channel="", niche="", topic="", stage=Stage.QUEUED, state=State.RUNNING, progress=0.0
        )
        self._pending: ReviewDecision | None = None
        self._progress_dirty = False
        self._cancel_reason: str | None = None
        self._thumbnail_count = 0
        self._reconnected = False
        self._retry: RetryRequest | None = None
        self._quota_wait_wakeable = False  # blocked on the quota, and ``retry`` may cut the wait short
        self._words: TranscribeResult | None = None
        self._words_audio = ""  # the narration ``_words`` belongs to
        self._stage_entered: datetime | None = None  # when the current stage began (its time-left estimate)
        self._outbox: list[asyncio.Future[Any]] = []  # notifications in flight (never awaited by a stage)
        self._final_metadata = False  # the final checkpoint accepts title/description/tags edits
        self._published_edits: dict[str, Any] = {}  # those edits as approved, for the publish request
        self._platform_edits = False  # PATCH_PLATFORM_EDITS: platforms_off / platform_captions accepted
        self._platforms_off: list[str] = []  # as approved, for the Shorts
        self._platform_captions: dict[str, str] = {}
        self._platform_covers: dict[str, float] = {}
        self._broll_layout = False  # PATCH_BROLL_EDITS: whole-layout edits and saved revisions accepted
        self._revision: _Revision | None = None  # saved b-roll edits waiting to be applied

    @property
    def _queues(self) -> TaskQueues:
        if self._input is None:
            return TaskQueues(main=workflow.info().task_queue, gpu="")
        return TaskQueues(main=self._input.main_queue, gpu=self._input.gpu_queue)

    # ------------------------------------------------------------------ client-facing handlers

    @workflow.query(name=QUERY_STATUS)
    def status(self) -> ProductionStatus:
        return self._status

    @workflow.signal(name=SIGNAL_APPROVE)
    def approve(self, decision: ReviewDecision) -> None:
        decision.approved = True
        self._accept_signal(decision)

    @workflow.signal(name=SIGNAL_REJECT)
    def reject(self, decision: ReviewDecision) -> None:
        decision.approved = False
        self._accept_signal(decision)

    @workflow.update(name=UPDATE_REVIEW)
    async def review(self, decision: ReviewDecision) -> ProductionStatus:
        self._pending = decision
        # Return once the workflow has taken the decision, so the caller sees the new stage.
        await workflow.wait_condition(lambda: self._pending is not decision)
        return self._status

    @review.validator
    def _validate_review(self, decision: ReviewDecision) -> None:
        problem = self._review_problem(decision)
        if problem:
            raise ValueError(problem)

    @workflow.update(name=UPDATE_REVISE)
    async def revise(self, decision: ReviewDecision) -> ProductionStatus:
        """Apply b-roll edits and render the preview again, keeping the checkpoint open.

        Answers once the edits are applied (the preview is still rendering: the checkpoint reopens
        when it is done); edits the plan cannot take (a key it lacks) fail the update with why.
        """
        rev = _Revision(decision)
        self._revision = rev
        await workflow.wait_condition(lambda: rev.done)
        if rev.problem is not None:
            raise ApplicationError(rev.problem, type="EditsRefused", non_retryable=True)
        return self._status

    @revise.validator
    def _validate_revise(self, decision: ReviewDecision) -> None:
        if self._status.checkpoint != Checkpoint.BROLL:
            raise ValueError(
                "b-roll edits can be saved only while the b-roll checkpoint is open: "
                f"the production is at stage {str(self._status.stage)!r}"
            )
        if not self._broll_layout:
            raise ValueError(
                "this production's b-roll edits are sent with its approval (it started before saved edits)"
            )
        if self._pending is not None or self._revision is not None:
            raise ValueError("the b-roll checkpoint already has a decision or edits being applied")
        try:
            broll_revision(decision)
        except EditsRefused as e:
            raise ValueError(str(e)) from e

    @workflow.signal(name=SIGNAL_PROGRESS)
    def report_progress(self, report: ProgressReport) -> None:
        if report.stage != self._status.stage:
            return  # a late report from an earlier attempt
        stage = self._status.stage  # the same as report.stage
        lo = STAGE_PROGRESS.get(stage, 0)
        hi = _next_progress(stage)
        self._status.progress = round(lo + (hi - lo) * max(0.0, min(1.0, report.fraction)), 1)
        self._status.detail = report.detail
        if report.total:
            self._status.step = StageStep(report.done, report.total, report.unit, report.eta_s)
        self._progress_dirty = True

    @workflow.signal(name=SIGNAL_CANCEL)
    def cancel(self, reason: str) -> None:
        self._cancel_reason = reason or "cancelled by a reviewer"

    @workflow.signal(name=SIGNAL_RECONNECTED)
    def account_reconnected(self) -> None:
        """The channel's YouTube account works again (`tubeflow channel connect`, the dashboard button)."""
        self._reconnected = True

    @workflow.update(name=UPDATE_RETRY)
    async def retry(self, request: RetryRequest) -> ProductionStatus:
        self._retry = request
        # Answer once the failed stage is running again, so the caller sees state "running".
        await workflow.wait_condition(lambda: self._retry is not request)
        return self._status

    @retry.validator
    def _validate_retry(self, request: RetryRequest) -> None:
        if self._status.state == State.BLOCKED and not self._quota_wait_wakeable:
            raise ValueError(
                f"nothing to retry: the production is blocked at stage {str(self._status.stage)!r}: "
                f"{self._status.detail}"
            )
        if self._status.state != State.NEEDS_ATTENTION and not self._quota_wait_wakeable:
            raise ValueError(
                f"nothing to retry: the production is {self._status.state} at stage {str(self._status.stage)!r}; "
                "retry continues a production that needs attention or is blocked on the YouTube quota"
            )
        if self._retry is not None:
            raise ValueError("a retry is already being applied")

    def _review_problem(self, d: ReviewDecision) -> str | None:
        open_cp = self._status.checkpoint
        if not isinstance(d.stage, Checkpoint):
            return f"unknown checkpoint {str(d.stage)!r}; checkpoints are {', '.join(CHECKPOINTS)}"
        if open_cp is None:
            return f"checkpoint {str(d.stage)!r} is not open: the production is at stage {str(self._status.stage)!r}"
        if d.stage != open_cp:
            return f"checkpoint {str(d.stage)!r} is not open: the open checkpoint is {str(open_cp)!r}"
        if self._pending is not None:
            return f"checkpoint {str(d.stage)!r} already has a decision being applied"
        if self._revision is not None:
            return f"checkpoint {str(d.stage)!r} is applying saved edits; decide once the preview is rendered again"
        if not d.approved and not d.feedback.strip():
            return "a rejection needs feedback saying what to change"
        if d.redo_from:
            if d.approved or d.stage != Checkpoint.FINAL:
                return "redo_from belongs to a rejection at the final checkpoint"
            if not isinstance(d.redo_from, RedoTarget):
                return f"redo_from must be one of {', '.join(RedoTarget)}, not {d.redo_from!r}"
        try:
            applied_edits(
                d.stage, d, self._thumbnail_count, self._final_metadata,
                broll_layout=self._broll_layout, platforms=self._platform_edits,
            )  # fmt: skip
        except EditsRefused as e:
            return str(e)
        return None

    def _accept_signal(self, decision: ReviewDecision) -> None:
        problem = self._review_problem(decision)
        if problem:
            # A signal cannot answer its sender, so the refusal goes into the review history.
            workflow.logger.warning("ignored review signal: %s", problem)
            self._status.reviews.append(
                ReviewRecord(
                    stage=decision.stage,
                    approved=decision.approved,
                    reviewer=decision.reviewer,
                    feedback=decision.feedback,
                    at=workflow.now().isoformat(),
                    attempt=self._status.attempts.get(decision.stage, 0),
                    note=f"ignored: {problem}",
                    ignored=True,
                )
            )
            return
        self._pending = decision

    # ------------------------------------------------------------------ the pipeline

    @workflow.run
    async def run(self, inp: ProductionInput) -> ProductionStatus:
        self._input = inp
        s = self._status
        s.production_id, s.channel, s.niche, s.topic = inp.production_id, inp.channel, inp.niche, inp.topic
        s.make_shorts = inp.make_shorts
        try:
            await self._pipeline(inp)
        except ProductionCancelled as e:
            s.state, s.checkpoint, s.error = State.CANCELLED, None, str(e)
            await self._snapshot()
            await self._drain_notifications()
            return s
        except asyncio.CancelledError:
            # Cancelled through Temporal (Web UI, `temporal workflow cancel`): record it, then obey.
            s.state, s.checkpoint, s.error = State.CANCELLED, None, "cancelled through Temporal"
            await asyncio.shield(asyncio.ensure_future(self._snapshot()))
            raise
        except (ActivityError, ApplicationError, ReviewRejectedTooOften) as e:
            s.state, s.checkpoint = State.FAILED, None
            s.error = _reason(e)
            await self._snapshot()
            self._notify("failed", f"{s.title or s.topic}: failed at {s.stage}: {s.error}", {"stage": s.stage})
            await self._drain_notifications()
            raise ApplicationError(s.error, type="ProductionFailed", non_retryable=True) from e
        return s

    async def _pipeline(self, inp: ProductionInput) -> None:
        """Topic to published video; each step is a stage, or the final checkpoint's loop of redos."""
        research = await self._research(inp)
        cut = await self._first_cut(inp, research)
        thumbnail = await self._until_final_approved(inp, cut)
        await self._publish(inp, cut, thumbnail)
        if inp.make_shorts:
            await self._shorts(inp, cut, thumbnail)
        await self._enter(Stage.DONE)
        self._status.state = State.COMPLETED
        await self._snapshot()
        await self._drain_notifications()

    async def _research(self, inp: ProductionInput) -> ResearchResult:
        s = self._status
        await self._enter(Stage.RESEARCH)
        research = await self._run(act.RESEARCH, ResearchRequest(inp.production_id, inp.channel, inp.niche, inp.topic))
        s.artifacts.facts = research.facts_key
        s.outputs.sources = research.sources
        return research

    async def _first_cut(self, inp: ProductionInput, research: ResearchResult) -> _Cut:
        """Script, narration and b-roll, each until approved at its checkpoint, then the render."""
        script = await self._script_stage(inp, research, [])
        voice = await self._audio_stage(inp, script)
        plan_key = await self._broll_stage(inp, script, voice, [])
        words, fresh = await self._transcribed(inp, script, voice)
        video = await self._render(inp, plan_key, voice, words, 1, enter=not fresh)
        return _Cut(research, script, voice, plan_key, words, video)

    async def _until_final_approved(self, inp: ProductionInput, cut: _Cut) -> str:
        """Thumbnails and the final checkpoint until approved; the picked thumbnail's key.

        A rejection may send the production back to an earlier stage (``redo_from``): from there on
        everything is made again, with the feedback, and reviewed again.  Without one, the
        thumbnails are remade inside ``_final_stage`` and this loop runs once.
        """
        self._final_metadata = workflow.patched(PATCH_FINAL_METADATA_EDITS)
        self._platform_edits = self._final_metadata and workflow.patched(PATCH_PLATFORM_EDITS)
        rounds = 1
        while True:
            thumbnails, decision = await self._final_stage(inp, cut.script, cut.plan_key)
            if decision.approved:
                break
            rounds += 1
            if rounds > inp.max_attempts:
                raise ReviewRejectedTooOften(
                    f"the final cut was sent back {rounds - 1} times (the limit); last feedback: "
                    f"{decision.feedback!r}. Start a new production or raise TUBEFLOW_MAX_REVIEW_ATTEMPTS."
                )
            target = decision.sends_back_to() or RedoTarget.THUMBNAIL
            await self._redo(inp, cut, target, [decision.feedback], rounds)
        edits = final_edits(decision, self._thumbnail_count, self._final_metadata, self._platform_edits)
        choice = edits.thumbnail
        self._published_edits = {k: getattr(edits, k) for k in FINAL_METADATA_FIELDS if getattr(edits, k) is not None}
        self._platforms_off = list(edits.platforms_off or [])
        self._platform_captions = dict(edits.platform_captions or {})
        self._platform_covers = dict(edits.platform_covers or {})
        self._status.outputs.thumbnail = thumbnails.thumbnail_keys[choice]
        return thumbnails.thumbnail_keys[choice]

    async def _redo(
        self, inp: ProductionInput, cut: _Cut, target: RedoTarget, feedback: list[str], rounds: int
    ) -> None:
        """Make everything from ``target`` on again (each reviewed again); the render writes round ``rounds``."""
        if target is RedoTarget.SCRIPT:
            cut.script = await self._script_stage(inp, cut.research, feedback)
            cut.voice = await self._audio_stage(inp, cut.script)
        if target.includes(RedoTarget.BROLL):
            broll_feedback = feedback if target is RedoTarget.BROLL else []
            cut.plan_key = await self._broll_stage(inp, cut.script, cut.voice, broll_feedback)
        fresh = False
        if target is RedoTarget.SCRIPT:  # a new narration: its words are transcribed again
            cut.words, fresh = await self._transcribed(inp, cut.script, cut.voice)
        if target.includes(RedoTarget.RENDER):
            cut.video = await self._render(inp, cut.plan_key, cut.voice, cut.words, rounds, enter=not fresh)

    async def _publish(self, inp: ProductionInput, cut: _Cut, thumbnail: str) -> None:
        s = self._status
        await self._enter(Stage.PUBLISH)
        published = await self._run(
            act.PUBLISH,
            PublishRequest(
                inp.production_id,
                inp.channel,
                cut.video.video_key,
                thumbnail,
                cut.script.script_key,
                extra={
                    "topic": inp.topic,
                    "niche": inp.niche,
                    "timing_key": cut.voice.timing_key,
                    "duration_s": cut.video.duration_s,
                    **self._published_edits,  # the reviewer's title/description/tags win over the script's
                },
            ),
        )
        s.outputs.published = published.location
        s.outputs.video_id = published.video_id
        self._notify(
            "published",
            f"{s.title or s.topic}: published ({published.location})",
            {"location": published.location, "video_id": published.video_id},
        )

    async def _shorts(self, inp: ProductionInput, cut: _Cut, thumbnail: str) -> None:
        """The Shorts, a child workflow cut from the published video (no checkpoint)."""
        await self._enter(Stage.SHORTS)
        shorts_input = ShortsInput(
            inp.production_id,
            inp.channel,
            inp.niche,
            cut.script.script_key,
            cut.plan_key,
            cut.voice.audio_key,
            cut.words.words_key,
            cut.video.video_key,
            thumbnail,
            inp.gpu_queue,
            inp.render_fanout if workflow.patched(PATCH_RENDER_FANOUT) else 0,
            inp.quality,
            self._platforms_off,
            self._platform_captions,
            self._platform_covers,
        )

        async def make_shorts() -> ShortsResult:
            # The same id on a retry (a closed child's id may be reused); segments already
            # rendered are found by their fingerprinted keys and not rendered again.
            result: ShortsResult = await workflow.execute_child_workflow(
                "ShortsWorkflow",
                shorts_input,
                id=f"{workflow.info().workflow_id}-shorts",
                task_queue=inp.main_queue,
                result_type=ShortsResult,
            )
            return result

        shorts = await self._recoverable(make_shorts)
        self._status.outputs.shorts = shorts.published
        self._status.outputs.shorts_quality = shorts.quality or None
        self._add_cost(shorts.gpu_seconds, shorts.cost_usd)

    # ------------------------------------------------------------------ stages

    async def _script_stage(self, inp: ProductionInput, research: ResearchResult, carried: list[str]) -> ScriptResult:
        s = self._status

        async def write(attempt: int, feedback: list[str]) -> ScriptResult:
            await self._enter(Stage.SCRIPT)
            req = ScriptRequest(
                inp.production_id, inp.channel, inp.niche, inp.topic, research.facts_key, attempt, list(feedback)
            )
            res = await self._run(act.WRITE_SCRIPT, req)
            s.artifacts.script, s.title = res.script_key, res.title
            self._add_service_cost("llm", res.llm_tokens, res.llm_cost_usd)
            return res

        script, decision = await self._reviewed(Checkpoint.SCRIPT, write, carried)
        edited = script_edits(decision).script
        if edited is not None:
            edit = ScriptEdit(inp.production_id, s.attempts["script"], edited)
            script = await self._run(act.SAVE_SCRIPT_EDIT, edit)
            s.artifacts.script, s.title = script.script_key, script.title
        return script

    async def _audio_stage(self, inp: ProductionInput, script: ScriptResult) -> VoiceResult:
        s = self._status

        async def speak(attempt: int, feedback: list[str]) -> VoiceResult:
            await self._enter(Stage.TTS)
            req = VoiceRequest(inp.production_id, inp.niche, script.script_key, attempt, list(feedback), inp.channel)
            res = await self._live(self._run(act.SYNTHESIZE_VOICE, req))
            s.artifacts.audio, s.artifacts.timing = res.audio_key, res.timing_key
            s.outputs.narration_s = res.duration_s
            self._add_service_cost("tts", res.tts_characters, res.tts_cost_usd)
            return res

        voice, _ = await self._reviewed(Checkpoint.AUDIO, speak)
        return voice

    async def _broll_stage(
        self, inp: ProductionInput, script: ScriptResult, voice: VoiceResult, carried: list[str]
    ) -> str:
        s = self._status
        self._broll_layout = workflow.patched(PATCH_BROLL_EDITS)
        plan_now, revisions = "", 0  # the plan the checkpoint shows (edits saved so far), per attempt

        async def pick_broll(attempt: int, feedback: list[str]) -> BrollResult:
            await self._enter(Stage.BROLL)
            req = BrollRequest(
                inp.production_id, inp.channel, inp.niche, script.script_key, voice.timing_key, attempt, list(feedback)
            )
            nonlocal plan_now, revisions
            words_task: asyncio.Future[tuple[TranscribeResult, bool]] | None = None
            if workflow.patched(PATCH_TRANSCRIBE_BESIDE_BROLL):
                # The transcription needs only the narration: it runs while the b-roll is chosen
                # (transcribed once per narration; a b-roll redo finds it done).
                words_task = asyncio.ensure_future(self._transcribed(inp, script, voice, enter=False))
            try:
                res = await self._live(self._run(act.GATHER_BROLL, req))
                if words_task is not None:
                    await words_task
            except BaseException:
                if words_task is not None:
                    words_task.cancel()
                raise
            s.artifacts.plan = res.plan_key
            s.outputs.broll_warnings = res.warnings
            if workflow.patched(PATCH_BROLL_PREVIEW) and self._previewed(Checkpoint.BROLL):
                # The reviewer sees the whole cut before the expensive render: captions need the
                # words, so the transcription moves here (the render stage reuses it).
                await self._preview(
                    inp, script, voice, res.plan_key, ProductionKeys(inp.production_id).preview(attempt)
                )
            plan_now, revisions = res.plan_key, 0
            return res

        async def revise(rev: _Revision) -> None:
            """Saved edits: a new plan (the update answers then), and the preview of it."""
            nonlocal plan_now, revisions
            edits = broll_revision(rev.decision)
            attempt = s.attempts[Checkpoint.BROLL]
            edit = BrollSwap(inp.production_id, plan_now, dict(edits.swap), attempt, dict(edits.parts), revisions + 1)
            try:
                res = await execute(act.APPLY_BROLL_SWAP, edit, self._queues)
            except ActivityError as e:
                if is_cancelled_exception(e):
                    raise
                rev.problem, rev.done = _reason(e), True  # the plan stays as it was; the reviewer is told why
                return
            revisions += 1
            plan_now = s.artifacts.plan = res.plan_key
            s.outputs.broll_warnings = res.warnings
            rev.done = True
            output_key = ProductionKeys(inp.production_id).preview(attempt, revisions)
            await self._preview(inp, script, voice, plan_now, output_key)

        broll, decision = await self._reviewed(
            Checkpoint.BROLL, pick_broll, carried, revise if self._broll_layout else None
        )
        plan_key = plan_now or broll.plan_key
        edits = broll_edits(decision, layout=self._broll_layout)
        if edits:
            swap = BrollSwap(inp.production_id, plan_key, edits.swap, s.attempts["broll"], edits.parts)
            plan_key = (await self._run(act.APPLY_BROLL_SWAP, swap)).plan_key
            s.artifacts.plan = plan_key
        return plan_key

    async def _preview(
        self, inp: ProductionInput, script: ScriptResult, voice: VoiceResult, plan_key: str, output_key: str
    ) -> None:
        """The low-resolution whole cut of ``plan_key`` the b-roll reviewer watches."""
        s = self._status
        words, _ = await self._transcribed(inp, script, voice, enter=False)
        preview = await self._run(
            act.RENDER_PREVIEW,
            RenderRequest(
                production_id=inp.production_id,
                plan_key=plan_key,
                audio_key=voice.audio_key,
                words_key=words.words_key,
                niche=inp.niche,
                output_key=output_key,
            ),
        )
        s.artifacts.preview = preview.video_key
        s.outputs.preview = PreviewSummary(width=preview.width, height=preview.height, seconds=preview.gpu_seconds)
        self._add_cost(preview.gpu_seconds, preview.cost_usd)

    def _previewed(self, checkpoint: Checkpoint) -> bool:
        """A preview is for a person: none when the checkpoint is approved by the review policy."""
        assert self._input is not None
        if checkpoint not in self._input.auto_approve:
            return True
        return not workflow.patched(PATCH_PREVIEW_FOR_REVIEWERS)

    async def _transcribed(
        self, inp: ProductionInput, script: ScriptResult, voice: VoiceResult, enter: bool = True
    ) -> tuple[TranscribeResult, bool]:
        """The narration's word timings, transcribed once per narration; True when just transcribed."""
        if self._words is not None and self._words_audio == voice.audio_key:
            return self._words, False
        if enter:
            await self._enter(Stage.RENDER)
        words = await self._run(
            act.TRANSCRIBE,
            TranscribeRequest(inp.production_id, voice.audio_key, inp.language, script.script_key, voice.timing_key),
        )
        self._status.artifacts.words = words.words_key
        self._add_cost(words.gpu_seconds, words.cost_usd)
        self._words, self._words_audio = words, voice.audio_key
        return words, True

    async def _render(
        self,
        inp: ProductionInput,
        plan_key: str,
        voice: VoiceResult,
        words: TranscribeResult,
        rounds: int,
        enter: bool,
    ) -> RenderResult:
        s = self._status
        if enter:  # else the transcription just entered the render stage
            await self._enter(Stage.RENDER)
        render_req = RenderRequest(
            production_id=inp.production_id,
            plan_key=plan_key,
            audio_key=voice.audio_key,
            words_key=words.words_key,
            niche=inp.niche,
            # A final cut sent back keeps the earlier render: each round writes its own file.
            output_key=ProductionKeys(inp.production_id).video(rounds),
        )
        if workflow.patched(PATCH_RENDER_FANOUT):
            job = RenderJob(
                inp.production_id, plan_key, voice.audio_key, words.words_key, inp.niche, render_req.output_key
            )
            video = await self._recoverable(
                lambda: render_fanout(
                    job, inp.gpu_queue, GPU_RETRY, concurrency=inp.render_fanout, on_segment=self._segments_done
                )
            )
        else:
            video = await self._with_live_progress(self._run(act.RENDER_VIDEO, render_req))
        s.artifacts.video = video.video_key
        self._add_cost(video.gpu_seconds, video.cost_usd)
        s.outputs.render = RenderSummary(
            duration_s=video.duration_s,
            segments_total=video.segments_total,
            segments_rendered=video.segments_rendered,
            encoder=video.encoder,
            render_s=video.gpu_seconds,  # the render alone, for render seconds per video minute
        )
        if workflow.patched(PATCH_QUALITY_REPORT):
            await self._measure_quality(inp, plan_key, video, rounds)
        return video

    async def _measure_quality(self, inp: ProductionInput, plan_key: str, video: RenderResult, rounds: int) -> None:
        """The render's quality report, measured on the file: the final checkpoint shows it."""
        s = self._status
        key = ProductionKeys(inp.production_id).quality_report(rounds)
        boxes = render_boxes(video)  # the renderer's, where it reports them
        req = QualityRequest(inp.production_id, "long", video.video_key, plan_key, key, inp.niche, inp.quality, boxes)
        measured = await self._run(act.MEASURE_QUALITY, req)
        s.artifacts.quality, s.outputs.quality = measured.report.key, measured.report
        self._add_cost(measured.gpu_seconds, measured.cost_usd)

    async def _held_for_quality(self) -> str:
        """An auto-approved final checkpoint whose quality report failed waits for a person instead
        of publishing: ``needs_attention`` with the failing figures as the reason.  ``retry`` means
        they looked and publish it anyway; ``cancel`` drops it.  The note for the review record."""
        assert self._input is not None
        report = self._status.outputs.quality
        if report is None or report.passed or not self._input.quality_gate:
            return ""
        await self._enter(Checkpoint.FINAL.stage)
        detail = "the quality report failed: look at the figures, then retry to publish anyway (or cancel)"
        await self._needs_attention(report.reason(), detail=detail)
        return f"; published after {self._status.incidents[-1].retried_by} accepted the failed quality report"

    async def _final_stage(
        self, inp: ProductionInput, script: ScriptResult, plan_key: str
    ) -> tuple[ThumbnailResult, ReviewDecision]:
        s = self._status

        async def thumbs(attempt: int, feedback: list[str]) -> ThumbnailResult:
            await self._enter(Stage.THUMBNAIL)
            req = ThumbnailRequest(inp.production_id, inp.niche, script.script_key, plan_key, attempt, list(feedback))
            res = await self._run(act.MAKE_THUMBNAILS, req)
            s.artifacts.thumbnails = res.thumbnail_keys
            self._thumbnail_count = len(res.thumbnail_keys)
            return res

        return await self._reviewed(Checkpoint.FINAL, thumbs)

    # ------------------------------------------------------------------ building blocks

    def _notify(self, event: str, summary: str, data: dict[str, Any] | None = None) -> None:
        """Tell people (webhooks, e-mail) without waiting: delivery never holds up or fails a stage."""
        if self._input is None or not workflow.patched(PATCH_NOTIFY):
            return
        s = self._status
        n = Notification(
            event=event,
            summary=summary,
            production_id=s.production_id,
            channel=s.channel,
            title=s.title or s.topic,
            link=f"/productions/{s.production_id}",
            data=data or {},
            at=workflow.now().isoformat(),
        )
        self._outbox.append(start(act.NOTIFY, n, self._queues))

    async def _drain_notifications(self) -> None:
        """Before the workflow ends, let notifications in flight finish (they dead-letter, never raise)."""
        pending = [h for h in self._outbox if not h.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _add_service_cost(self, service: Literal["llm", "tts"], units: int, cost_usd: float | None) -> None:
        """Tokens (LLM) or characters (paid voice) and their price, summed over every attempt: a
        rejected script was paid for too.  Only state: no command, so recorded histories replay."""
        if not units:
            return
        out = self._status.outputs
        if service == "llm":
            out.llm_tokens = (out.llm_tokens or 0) + units
            if cost_usd is not None:
                out.llm_cost_usd = round((out.llm_cost_usd or 0.0) + cost_usd, 6)
        else:
            out.tts_characters = (out.tts_characters or 0) + units
            if cost_usd is not None:
                out.tts_cost_usd = round((out.tts_cost_usd or 0.0) + cost_usd, 6)

    def _add_cost(self, gpu_seconds: float, cost_usd: float) -> None:
        """GPU time and money so far, shown by the status query and the API."""
        out = self._status.outputs
        out.gpu_seconds = round((out.gpu_seconds or 0.0) + gpu_seconds, 2)
        out.cost_usd = round((out.cost_usd or 0.0) + cost_usd, 6)

    async def _reviewed(
        self,
        checkpoint: Checkpoint,
        produce: Callable[[int, list[str]], Awaitable[T]],
        carried: list[str] | None = None,
        revise: Callable[[_Revision], Awaitable[None]] | None = None,
    ) -> tuple[T, ReviewDecision]:
        """Run ``produce`` until a reviewer approves its result; each rejection's feedback feeds the redo.

        ``carried`` is feedback from a later checkpoint that sent the production back here.  Attempt
        numbers go on from earlier rounds, so a redo never overwrites an earlier attempt's files.
        A final rejection with ``redo_from`` (other than the thumbnails) returns the rejection.
        """
        assert self._input is not None
        feedback: list[str] = list(carried or [])
        attempt = first = self._status.attempts.get(checkpoint, 0)
        while True:
            attempt += 1
            self._status.attempts[checkpoint] = attempt
            result = await produce(attempt, feedback)
            decision = await self._checkpoint(checkpoint, attempt, revise)
            if decision.approved:
                return result, decision
            feedback.append(decision.feedback)
            if decision.sends_back_to() is not None and workflow.patched(PATCH_FINAL_REDO_FROM):
                return result, decision
            if attempt - first >= self._input.max_attempts:
                raise ReviewRejectedTooOften(
                    f"the {checkpoint} was rejected {attempt} times (the limit); last feedback: {decision.feedback!r}. "
                    "Start a new production with a different topic or raise TUBEFLOW_MAX_REVIEW_ATTEMPTS."
                )

    async def _checkpoint(
        self, checkpoint: Checkpoint, attempt: int, revise: Callable[[_Revision], Awaitable[None]] | None = None
    ) -> ReviewDecision:
        assert self._input is not None
        s = self._status
        if checkpoint in self._input.auto_approve:
            held = await self._held_for_quality() if checkpoint is Checkpoint.FINAL else ""
            decision = ReviewDecision(stage=checkpoint, approved=True, reviewer="policy")
            await self._store_review(
                self._review_record(decision, attempt, note="auto-approved by the niche's review policy" + held)
            )
            return decision
        await self._enter(checkpoint.stage, state=State.WAITING, checkpoint=checkpoint)
        title = s.title or s.topic
        what = {"checkpoint": checkpoint, "attempt": attempt, "to_review": TO_REVIEW[checkpoint]}
        self._notify("checkpoint_opened", f"{title}: {checkpoint} ready for review (attempt {attempt})", what)
        hours = self._input.reminder_hours
        remind = hours > 0 and workflow.patched(PATCH_NOTIFY)
        waited = 0.0
        while True:
            if remind:
                # A durable timer: the reminder comes after ``hours`` of waiting, across restarts.
                try:
                    await workflow.wait_condition(
                        lambda: self._pending is not None or self._cancel_reason is not None or self._revised(revise),
                        timeout=timedelta(hours=hours),
                    )
                except TimeoutError:
                    waited += hours
                    summary = f"{title}: the {checkpoint} has waited {waited:g} h for review"
                    self._notify("reminder", summary, {**what, "waiting_hours": waited})
                    continue
            else:
                await workflow.wait_condition(
                    lambda: self._pending is not None or self._cancel_reason is not None or self._revised(revise)
                )
            if self._cancel_reason is not None:
                raise ProductionCancelled(self._cancel_reason)
            if revise is not None and self._revision is not None:
                await self._apply_revision(checkpoint, self._revision, revise)
                continue
            taken = self._pending
            assert taken is not None
            s.checkpoint, s.state = None, State.RUNNING
            redo = taken.sends_back_to()
            record = self._review_record(taken, attempt, note=f"redo from {redo}" if redo else "", redo_from=redo or "")
            # Release the reviewer's update now (its answer already holds the record): the
            # checkpoint is closed, so nothing can race it, and the caller need not wait for the
            # database write below.
            self._pending = None
            await self._store_review(record)
            pronounce = audio_edits(taken).pronounce if checkpoint is Checkpoint.AUDIO else None
            if pronounce:
                # Kept in the channel's lexicon before the redo, so the next take (and video) says it right.
                await self._run(act.SAVE_PRONUNCIATIONS, PronunciationEdit(self._input.channel, pronounce))
            return taken

    def _revised(self, revise: Callable[[_Revision], Awaitable[None]] | None) -> bool:
        return revise is not None and self._revision is not None

    async def _apply_revision(
        self, checkpoint: Checkpoint, rev: _Revision, revise: Callable[[_Revision], Awaitable[None]]
    ) -> None:
        """Saved edits: the checkpoint closes while they are applied and the preview rendered, then reopens."""
        s = self._status
        s.checkpoint, s.state = None, State.RUNNING
        s.detail = f"applying {rev.decision.reviewer}'s b-roll edits and rendering the preview again"
        await self._snapshot()
        try:
            await revise(rev)
        finally:
            rev.done = True  # answers the reviewer's update, if the edits did not already
            self._revision = None
        if self._cancel_reason is not None:
            raise ProductionCancelled(self._cancel_reason)
        s.checkpoint, s.state = checkpoint, State.WAITING
        s.detail = (
            f"edits not applied: {rev.problem}"
            if rev.problem
            else f"preview rendered again with {rev.decision.reviewer}'s edits"
        )
        await self._snapshot()

    def _review_record(
        self, decision: ReviewDecision, attempt: int, note: str = "", redo_from: RedoFrom = ""
    ) -> ReviewRecord:
        record = ReviewRecord(
            stage=decision.stage,
            approved=decision.approved,
            reviewer=decision.reviewer,
            feedback=decision.feedback,
            at=workflow.now().isoformat(),
            attempt=attempt,
            note=note,
            redo_from=redo_from,
        )
        self._status.reviews.append(record)
        return record

    async def _store_review(self, record: ReviewRecord) -> None:
        await execute(act.RECORD_REVIEW, ReviewLog(self._status.production_id, record), self._queues)

    async def _enter(self, stage: Stage, state: State = State.RUNNING, checkpoint: Checkpoint | None = None) -> None:
        if self._cancel_reason is not None:
            raise ProductionCancelled(self._cancel_reason)
        s = self._status
        s.stage, s.state, s.checkpoint = stage, state, checkpoint
        s.progress = float(STAGE_PROGRESS.get(stage, s.progress))
        s.detail, s.step = "", None
        self._stage_entered = workflow.now()
        workflow.upsert_search_attributes([STAGE_SA.value_set(stage)])
        await self._snapshot()

    async def _snapshot(self) -> None:
        self._status.updated_at = workflow.now().isoformat()
        info = workflow.info()
        await execute(act.RECORD_SNAPSHOT, StateSnapshot(self._status, info.workflow_id, info.run_id), self._queues)

    async def _run(self, activity: ActivityDef[A, T], arg: A) -> T:
        """Run a stage's declared activity; when it fails for good, wait for an operator (``_recoverable``)."""
        return await self._recoverable(lambda: execute(activity, arg, self._queues))

    async def _recoverable(self, run: Callable[[], Awaitable[T]]) -> T:
        """Run one stage's work; when it fails for good, wait for an operator instead of ending.

        This is the one recovery mechanism of the workflow: every stage activity goes through it
        (``_run``), and so can any later step that must never lose reviewed work (publish).
        The operator fixes the cause and sends the ``retry`` update: the same step runs again with
        the same input, so everything approved before it is kept.  ``cancel`` ends the production.
        """
        while True:
            try:
                return await run()
            except ActivityError as e:
                if not is_cancelled_exception(e) and await self._waited_out(e):
                    continue  # the quota was reset / the account reconnected: the same step again
                if is_cancelled_exception(e) or not workflow.patched(PATCH_NEEDS_ATTENTION):
                    raise
                await self._needs_attention(_reason(e))
            except ChildWorkflowError as e:  # the Shorts, after the long-form was published
                if is_cancelled_exception(e) or not workflow.patched(PATCH_SHORTS_ATTENTION):
                    raise
                await self._needs_attention(_reason(e))

    async def _waited_out(self, e: ActivityError) -> bool:
        """YouTube's quota spent or the channel's authorization gone: wait durably, never fail.

        The quota waits on a timer until its reset (midnight Pacific, sent by the activity); a
        revoked authorization waits for the ``account_reconnected`` signal.  Either way the state
        is ``blocked`` with the reason, and ``cancel`` still ends the production.  True: run the
        step again (the publisher resumes from what it recorded, so nothing is uploaded twice).
        """
        cause = e.cause
        if not isinstance(cause, ApplicationError) or cause.type not in WAITABLE_ERRORS:
            return False
        if not workflow.patched(PATCH_PUBLISH_WAITS):
            return False
        s = self._status
        prior_state = s.state
        s.state, s.error = State.BLOCKED, cause.message
        if cause.type == "QuotaExhausted":
            reset = quota_reset_time(cause, workflow.now())
            wakeable = workflow.patched(PATCH_RETRY_WAKES_QUOTA_WAIT)
            s.detail = f"waiting for the YouTube quota reset at {reset.isoformat()}"
            if wakeable:
                s.detail += " (or `tubeflow retry` once the quota was raised or reset)"
            await self._snapshot()
            wait = max(reset + QUOTA_RESET_MARGIN - workflow.now(), timedelta(seconds=1))
            self._quota_wait_wakeable = wakeable
            try:
                await workflow.wait_condition(
                    lambda: self._cancel_reason is not None or (wakeable and self._retry is not None), timeout=wait
                )
            except TimeoutError:
                pass
            finally:
                self._quota_wait_wakeable = False
            request = self._retry
            if request is not None and self._cancel_reason is None:
                # One try now; if the quota is still spent the step raises QuotaExhausted again and
                # the production is blocked on a new timer (nothing was uploaded: the publisher resumes).
                s.state, s.error, s.detail = prior_state, None, f"{s.stage} again ({request.operator} retried)"
                self._retry = None  # releases the operator's update
                await self._snapshot()
                return True
        else:
            self._reconnected = False
            s.detail = "reconnect the channel's YouTube account (`tubeflow channel connect`); publishing continues then"
            await self._snapshot()
            await workflow.wait_condition(lambda: self._reconnected or self._cancel_reason is not None)
        if self._cancel_reason is not None:
            raise ProductionCancelled(self._cancel_reason)
        s.state, s.error, s.detail = prior_state, None, f"{s.stage} again"
        await self._snapshot()
        return True

    async def _needs_attention(self, reason: str, detail: str = "") -> None:
        s = self._status
        incident = Incident(stage=s.stage, reason=reason, at=workflow.now().isoformat())
        s.incidents.append(incident)
        prior_state, prior_checkpoint = s.state, s.checkpoint
        s.state, s.checkpoint, s.error = State.NEEDS_ATTENTION, None, reason
        s.detail = detail or f"{s.stage} failed: fix the cause, then retry (or cancel)"
        await self._snapshot()
        self._notify(
            "needs_attention",
            f"{s.title or s.topic}: {s.stage} failed and needs attention: {reason}",
            {"stage": s.stage},
        )
        await workflow.wait_condition(lambda: self._retry is not None or self._cancel_reason is not None)
        if self._cancel_reason is not None:
            raise ProductionCancelled(self._cancel_reason)
        request = self._retry
        assert request is not None
        incident.retried_by, incident.retried_at = request.operator, workflow.now().isoformat()
        s.state, s.checkpoint, s.error = prior_state, prior_checkpoint, None
        s.detail = f"retrying {s.stage} ({request.operator})"
        self._retry = None  # releases the operator's update
        await self._snapshot()

    async def _segments_done(self, done: int, total: int) -> None:
        """Fan-out render progress: the share of segments finished, written to the database."""
        s = self._status
        lo, hi = STAGE_PROGRESS.get(Stage.RENDER, 0), _next_progress(Stage.RENDER)
        s.progress = round(lo + (hi - lo) * done / max(total, 1), 1)
        began = self._stage_entered or workflow.now()
        elapsed = (workflow.now() - began).total_seconds()
        s.step = StageStep(done, total, "segments rendered", eta_s(elapsed, done, total))
        s.detail = step_detail(s.step)
        await self._snapshot()

    async def _live(self, work: Awaitable[T]) -> T:
        """A stage activity whose progress reports reach the database while it runs (new runs only)."""
        if workflow.patched(PATCH_STAGE_PROGRESS):
            return await self._with_live_progress(work)
        return await work

    async def _with_live_progress(self, work: Awaitable[T]) -> T:
        """Await ``work`` while writing progress reports to the database as they arrive."""
        task = asyncio.ensure_future(work)
        while not task.done():
            await workflow.wait_condition(lambda: self._progress_dirty or task.done())
            if self._progress_dirty and not task.done():
                self._progress_dirty = False
                await self._snapshot()
        return task.result()


def _next_progress(stage: Stage) -> int:
    order = list(STAGE_PROGRESS)
    i = order.index(stage) if stage in order else len(order) - 1
    return STAGE_PROGRESS[order[min(i + 1, len(order) - 1)]]


def quota_reset_time(cause: ApplicationError, now: datetime) -> datetime:
    """When the quota resets, as the activity said (ISO-8601); an hour from now if it did not say."""
    try:
        return datetime.fromisoformat(str(cause.details[0]))
    except (IndexError, ValueError, TypeError):
        return now + timedelta(hours=1)


def _reason(e: BaseException) -> str:
    """The innermost message: what a person needs, not the chain of wrappers."""
    while isinstance(e, (ActivityError, ChildWorkflowError)) and e.cause is not None:
        e = e.cause
    if isinstance(e, ApplicationError):
        return e.message
    return str(e)
