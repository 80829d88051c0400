"""Every activity, declared once: its name, input and result types, queue, timeouts and retries.

The workflows call activities only through these declarations (``workflows/activity_calls.py``)
and the adapters register under them (:func:`implements`), so a misspelt activity or a wrong
argument type is a type-checker error on either side instead of a retried failure at run time;
``tests/test_activity_defs.py`` checks that each one is registered on exactly one worker with
the same types.  Sandbox-safe: only dataclasses from :mod:`tubeflow.contracts` and temporalio.

The names are on the wire (recorded in every running workflow's history): never rename one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from temporalio import activity
from temporalio.common import RetryPolicy

from tubeflow.contracts import (
    NOTIFY_ATTEMPTS,
    AnalyticsInput,
    AnalyticsOutcome,
    BrollRequest,
    BrollResult,
    BrollSwap,
    CadencePlan,
    CrossPostPlan,
    CrossPostPlanRequest,
    CrossPostRequest,
    CrossPostResult,
    Notification,
    PronunciationEdit,
    PublishRequest,
    PublishResult,
    RenderRequest,
    RenderResult,
    ResearchRequest,
    ResearchResult,
    ReviewLog,
    ScriptEdit,
    ScriptRequest,
    ScriptResult,
    ShortsInput,
    ShortsPlan,
    StateSnapshot,
    ThumbnailRequest,
    ThumbnailResult,
    TranscribeRequest,
    TranscribeResult,
    VoiceRequest,
    VoiceResult,
)
from tubeflow.job_contracts import (
    AddAudioJob,
    CallbackRequest,
    CaptionJob,
    Img2VidJob,
    ShortRequest,
    VideoJobResult,
)
from tubeflow.quality_report import QualityRequest, QualityResult
from tubeflow.render_contracts import (
    JoinRequest,
    RenderJob,
    RenderLayout,
    SegmentRequest,
    SegmentResult,
    SoundtrackRequest,
    SoundtrackResult,
)

A = TypeVar("A")
R = TypeVar("R")
S = TypeVar("S")


class Queue(StrEnum):
    """Which worker runs an activity: the always-on main worker or the autoscaled GPU workers."""

    MAIN = "main"
    GPU = "gpu"


# Permanent failures arrive as non-retryable ApplicationErrors (tubeflow/activity_errors.py), so
# the policies need no list of error types.
CPU_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)
GPU_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
    maximum_attempts=10,
)
# Database bookkeeping retries until the database is back: losing a snapshot loses a stage change.
BOOKKEEPING_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# VideoJobWorkflow retries the activity itself, so its status can count the resumes.
ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)


@dataclass(frozen=True)
class ActivityDef(Generic[A, R]):
    """One activity as both sides see it. ``arg`` is ``type(None)`` for an activity without input."""

    name: str
    arg: type[A]
    result: type[R]
    queue: Queue
    timeout: timedelta  # start-to-close, per attempt
    retry: RetryPolicy
    heartbeat: timedelta | None = None  # set for long work that heartbeats (renders)
    # Further positional inputs, only for plan_cadence_production (older than this module); a new
    # activity takes one dataclass, so adding a field never changes its signature.
    more_args: tuple[type[Any], ...] = ()

    @property
    def takes_input(self) -> bool:
        return self.arg is not type(None)


def implements(
    d: ActivityDef[A, R],
) -> Callable[[Callable[[S, A], Awaitable[R]]], Callable[[S, A], Awaitable[R]]]:
    """Register an adapter method under ``d``'s name; the type checker holds it to ``d``'s types."""

    def register(fn: Callable[[S, A], Awaitable[R]]) -> Callable[[S, A], Awaitable[R]]:
        return activity.defn(name=d.name)(fn)

    return register


CPU = timedelta(minutes=15)
BOOKKEEPING = timedelta(seconds=30)

# ---------------------------------------------------------------- main queue
RESEARCH = ActivityDef("research", ResearchRequest, ResearchResult, Queue.MAIN, CPU, CPU_RETRY)
WRITE_SCRIPT = ActivityDef("write_script", ScriptRequest, ScriptResult, Queue.MAIN, CPU, CPU_RETRY)
SAVE_SCRIPT_EDIT = ActivityDef("save_script_edit", ScriptEdit, ScriptResult, Queue.MAIN, CPU, CPU_RETRY)
SYNTHESIZE_VOICE = ActivityDef("synthesize_voice", VoiceRequest, VoiceResult, Queue.MAIN, CPU, CPU_RETRY)
GATHER_BROLL = ActivityDef("gather_broll", BrollRequest, BrollResult, Queue.MAIN, CPU, CPU_RETRY)
APPLY_BROLL_SWAP = ActivityDef("apply_broll_swap", BrollSwap, BrollResult, Queue.MAIN, CPU, CPU_RETRY)
MAKE_THUMBNAILS = ActivityDef("make_thumbnails", ThumbnailRequest, ThumbnailResult, Queue.MAIN, CPU, CPU_RETRY)
PUBLISH = ActivityDef("publish", PublishRequest, PublishResult, Queue.MAIN, CPU, CPU_RETRY)
# TikTok / Instagram: the platforms and slots of a production's Shorts, and one Short's post on one.
PLAN_CROSS_POSTS = ActivityDef(
    "plan_cross_posts", CrossPostPlanRequest, CrossPostPlan, Queue.MAIN, BOOKKEEPING, BOOKKEEPING_RETRY
)
# Heartbeats while a chunked upload runs: a killed worker's post is retried (and resumed) within 20 s.
CROSS_POST = ActivityDef(
    "cross_post", CrossPostRequest, CrossPostResult, Queue.MAIN, timedelta(minutes=30), CPU_RETRY,
    heartbeat=timedelta(seconds=20),
)  # fmt: skip
PLAN_SHORTS = ActivityDef("plan_shorts", ShortsInput, ShortsPlan, Queue.MAIN, timedelta(minutes=2), CPU_RETRY)
RECORD_SNAPSHOT = ActivityDef("record_snapshot", StateSnapshot, type(None), Queue.MAIN, BOOKKEEPING, BOOKKEEPING_RETRY)
RECORD_REVIEW = ActivityDef("record_review", ReviewLog, type(None), Queue.MAIN, BOOKKEEPING, BOOKKEEPING_RETRY)
CONSOLIDATE_KNOWLEDGE: ActivityDef[None, dict[str, int]] = ActivityDef(
    "consolidate_knowledge", type(None), dict, Queue.MAIN, timedelta(minutes=30), CPU_RETRY
)
SAVE_PRONUNCIATIONS = ActivityDef("save_pronunciations", PronunciationEdit, int, Queue.MAIN, CPU, CPU_RETRY)
# (channel, the cadence run's workflow id) -> what to start; the configuration errors are named
# because they are raised inside the planning module, not mapped by permanent_errors.
PLAN_CADENCE_PRODUCTION = ActivityDef(
    "plan_cadence_production",
    str,
    CadencePlan,
    Queue.MAIN,
    timedelta(minutes=2),
    RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=5,
        non_retryable_error_types=["PermanentError", "ConfigError", "NotFoundError", "SettingsInvalid"],
    ),
    more_args=(str,),
)

# A channel's daily YouTube Analytics read (workflows/analytics.py): slow, rate-limited API.
COLLECT_CHANNEL_ANALYTICS = ActivityDef(
    "collect_channel_analytics",
    AnalyticsInput,
    AnalyticsOutcome,
    Queue.MAIN,
    timedelta(minutes=20),
    RetryPolicy(
        initial_interval=timedelta(seconds=10),
        maximum_interval=timedelta(minutes=10),
        maximum_attempts=6,
        non_retryable_error_types=["PermanentError", "ConfigError", "NotFoundError"],
    ),
)

# A video job's result POSTed to the caller's URL (activities/callbacks.py); the status counts it.
VIDEO_JOB_CALLBACK = ActivityDef(
    "video_job_callback",
    CallbackRequest,
    int,
    Queue.MAIN,
    BOOKKEEPING,
    RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        maximum_attempts=8,
    ),
)

# Notifications: fire-and-forget from ProductionWorkflow, and the daily digest (workflows/digest.py).
# A notification is retried a few times, then dead-lettered by the activity itself: never an error
# in the workflow, and never a wait longer than half a minute between tries.
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=NOTIFY_ATTEMPTS,
)
NOTIFY = ActivityDef("notify", Notification, dict, Queue.MAIN, timedelta(minutes=2), NOTIFY_RETRY)
BUILD_DIGEST = ActivityDef("build_digest", str, Notification, Queue.MAIN, timedelta(minutes=5), CPU_RETRY)

# ---------------------------------------------------------------- GPU queue
HEARTBEAT = timedelta(seconds=60)
# Heartbeats, so a lost worker is noticed within the heartbeat timeout, not after 30 min.
TRANSCRIBE = ActivityDef(
    "transcribe", TranscribeRequest, TranscribeResult, Queue.GPU, timedelta(minutes=30), GPU_RETRY, HEARTBEAT
)
RENDER_VIDEO = ActivityDef(
    "render_video", RenderRequest, RenderResult, Queue.GPU, timedelta(hours=3), GPU_RETRY, HEARTBEAT
)
# The low-resolution cut of the whole video at the b-roll checkpoint.
RENDER_PREVIEW = ActivityDef(
    "render_preview", RenderRequest, RenderResult, Queue.GPU, timedelta(minutes=30), GPU_RETRY, HEARTBEAT
)
RENDER_SHORT = ActivityDef(
    "render_short", ShortRequest, RenderResult, Queue.GPU, timedelta(minutes=30), GPU_RETRY, HEARTBEAT
)
VIDEO_CAPTION = ActivityDef(
    "video_caption", CaptionJob, VideoJobResult, Queue.GPU, timedelta(hours=1), ONE_ATTEMPT, HEARTBEAT
)
VIDEO_IMG2VID = ActivityDef(
    "video_img2vid", Img2VidJob, VideoJobResult, Queue.GPU, timedelta(hours=1), ONE_ATTEMPT, HEARTBEAT
)
VIDEO_ADDAUDIO = ActivityDef(
    "video_addaudio", AddAudioJob, VideoJobResult, Queue.GPU, timedelta(hours=1), ONE_ATTEMPT, HEARTBEAT
)
# One render fanned out over GPU workers (workflows/render_fanout.py), which passes its own retry policy.
SEGMENT_LIMIT = timedelta(minutes=30)
RENDER_LAYOUT = ActivityDef("render_layout", RenderJob, RenderLayout, Queue.GPU, SEGMENT_LIMIT, GPU_RETRY, HEARTBEAT)
RENDER_SEGMENT = ActivityDef(
    "render_segment", SegmentRequest, SegmentResult, Queue.GPU, SEGMENT_LIMIT, GPU_RETRY, HEARTBEAT
)
RENDER_SOUNDTRACK = ActivityDef(
    "render_soundtrack", SoundtrackRequest, SoundtrackResult, Queue.GPU, SEGMENT_LIMIT, GPU_RETRY, HEARTBEAT
)
JOIN_RENDER = ActivityDef("join_render", JoinRequest, RenderResult, Queue.GPU, timedelta(hours=1), GPU_RETRY, HEARTBEAT)
# The quality report of a rendered video (long-form or Short): one decode of the file.
MEASURE_QUALITY = ActivityDef(
    "measure_quality", QualityRequest, QualityResult, Queue.GPU, timedelta(minutes=30), GPU_RETRY, HEARTBEAT
)
# VideoJobWorkflow's operation -> its activity (the keys are tubeflow.job_contracts.VIDEO_OPS).
VIDEO_OP_ACTIVITIES: dict[str, ActivityDef[Any, VideoJobResult]] = {
    "caption": VIDEO_CAPTION,
    "img2vid": VIDEO_IMG2VID,
    "addaudio": VIDEO_ADDAUDIO,
}

ALL: tuple[ActivityDef[Any, Any], ...] = (
    RESEARCH,
    WRITE_SCRIPT,
    SAVE_SCRIPT_EDIT,
    SYNTHESIZE_VOICE,
    GATHER_BROLL,
    APPLY_BROLL_SWAP,
    MAKE_THUMBNAILS,
    PUBLISH,
    PLAN_CROSS_POSTS,
    CROSS_POST,
    PLAN_SHORTS,
    RECORD_SNAPSHOT,
    RECORD_REVIEW,
    CONSOLIDATE_KNOWLEDGE,
    SAVE_PRONUNCIATIONS,
    PLAN_CADENCE_PRODUCTION,
    COLLECT_CHANNEL_ANALYTICS,
    VIDEO_JOB_CALLBACK,
    NOTIFY,
    BUILD_DIGEST,
    RENDER_PREVIEW,
    TRANSCRIBE,
    RENDER_VIDEO,
    RENDER_SHORT,
    VIDEO_CAPTION,
    VIDEO_IMG2VID,
    VIDEO_ADDAUDIO,
    RENDER_LAYOUT,
    RENDER_SEGMENT,
    RENDER_SOUNDTRACK,
    JOIN_RENDER,
    MEASURE_QUALITY,
)
