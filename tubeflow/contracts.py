"""Typed inputs and outputs that cross the Temporal boundary.

Everything here is a plain dataclass of JSON-friendly fields so the default data converter can
carry it, and so workflow histories stay readable in the Web UI.  Media never travels: only
storage keys.  Adding a field with a default is backwards compatible with running workflows;
renaming or removing one is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Stage names, in pipeline order.  Checkpoint stages are "review_<checkpoint>".
CHECKPOINTS: tuple[str, ...] = ("script", "audio", "broll", "final")
STAGES: tuple[str, ...] = (
    "queued",
    "research",
    "script",
    "review_script",
    "tts",
    "review_audio",
    "broll",
    "review_broll",
    "render",
    "thumbnail",
    "review_final",
    "publish",
    "shorts",
    "done",
)
# Progress percent reached when a stage *starts*; the render stage interpolates inside its range.
STAGE_PROGRESS: dict[str, int] = {
    "queued": 0,
    "research": 2,
    "script": 8,
    "review_script": 15,
    "tts": 18,
    "review_audio": 30,
    "broll": 33,
    "review_broll": 40,
    "render": 43,
    "thumbnail": 85,
    "review_final": 88,
    "publish": 93,
    "shorts": 96,
    "done": 100,
}

# Search attributes registered on the dev server (temporal-dev.yaml) so operators can filter.
SA_CHANNEL = "TubeflowChannel"
SA_NICHE = "TubeflowNiche"
SA_STAGE = "TubeflowStage"
SA_API_KEY = "TubeflowApiKey"  # a video job's submitting key id: GET /jobs lists a key's own jobs


# Delivery attempts of one notification before its failed targets go to the dead letters.
NOTIFY_ATTEMPTS = 5
# What a rejection at the final checkpoint may send back to be redone (then reviewed again downstream).
FINAL_REDO_TARGETS: tuple[str, ...] = ("script", "broll", "render", "thumbnail")


# ---------------------------------------------------------------- workflow input / state


@dataclass
class ProductionInput:
    production_id: str
    channel: str
    niche: str
    topic: str
    max_attempts: int = 3
    make_shorts: bool = True
    # Checkpoints the niche's review policy skips (auto-approved and recorded as such).
    auto_approve: list[str] = field(default_factory=list)
    # Queue names travel in the input because workflow code must not read the environment.
    main_queue: str = "tubeflow-main"
    gpu_queue: str = "tubeflow-gpu"
    language: str = "en"
    # Segment activities in flight at once for this production's renders (0 = all: the fleet decides).
    render_fanout: int = 0
    # Remind the reviewers when a checkpoint has waited this long (the channel's or the global setting; 0 = never).
    reminder_hours: float = 0.0


@dataclass
class ReviewDecision:
    """What a reviewer sends at a checkpoint.

    ``edits`` by checkpoint: script -> {"script": <script dict>}; audio -> {"pronounce": {"<word>":
    "<respelling>" | "ipa:<phonemes>"}} (kept in the channel's lexicon); broll -> {"swap":
    {"<section>": "<candidate key>"}}; final -> {"thumbnail": <index>}.
    """

    stage: str  # a checkpoint name: script | audio | broll | final
    approved: bool
    reviewer: str = "anonymous"
    feedback: str = ""
    edits: dict[str, Any] | None = None
    # A rejection at final redoes from this stage (FINAL_REDO_TARGETS); empty = the thumbnails.
    redo_from: str = ""


@dataclass
class ReviewRecord:
    stage: str
    approved: bool
    reviewer: str
    feedback: str
    at: str  # ISO-8601 from workflow.now()
    attempt: int
    note: str = ""
    redo_from: str = ""  # a final rejection's target stage


@dataclass
class ProductionStatus:
    production_id: str
    channel: str
    niche: str
    topic: str
    stage: str
    state: str  # running | waiting | needs_attention | completed | failed | cancelled
    progress: float  # percent 0..100
    checkpoint: str | None = None  # the open checkpoint, if any
    detail: str = ""
    artifacts: dict[str, Any] = field(default_factory=dict)  # name -> key (or list of keys)
    reviews: list[ReviewRecord] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    title: str = ""
    updated_at: str = ""
    # Stages that failed permanently and what became of them, oldest first (see Incident).
    incidents: list[Incident] = field(default_factory=list)


@dataclass
class Incident:
    """A stage that failed after its retries: the production waited in ``needs_attention`` for an operator."""

    stage: str
    reason: str
    at: str  # ISO-8601 from workflow.now()
    retried_by: str = ""  # who asked to continue (empty while still waiting)
    retried_at: str = ""


@dataclass
class RetryRequest:
    """An operator's "continue": the failed stage runs again, everything before it is kept."""

    operator: str = "anonymous"
    note: str = ""


@dataclass
class ProgressReport:
    """Sent by long activities (render) to the workflow so the query shows live progress."""

    stage: str
    fraction: float  # 0..1 within the stage
    detail: str = ""
    worker: str = ""  # the reporting worker's identity (a video job's "started" report names it)


# ---------------------------------------------------------------- activities (main queue)


@dataclass
class ResearchRequest:
    production_id: str
    channel: str
    niche: str
    topic: str


@dataclass
class ResearchResult:
    facts_key: str  # JSON list of {"claim", "source", "confidence", "origin"}
    fact_count: int
    sources: list[str] = field(default_factory=list)


@dataclass
class ScriptRequest:
    production_id: str
    channel: str
    niche: str
    topic: str
    facts_key: str
    attempt: int = 1
    feedback: list[str] = field(default_factory=list)


@dataclass
class ScriptResult:
    script_key: str  # JSON, see tubeflow.script_schema
    title: str
    section_count: int
    word_count: int


@dataclass
class ScriptEdit:
    production_id: str
    attempt: int
    script: dict[str, Any]


@dataclass
class VoiceRequest:
    production_id: str
    niche: str
    script_key: str
    attempt: int = 1
    feedback: list[str] = field(default_factory=list)
    channel: str = ""  # whose pronunciation lexicon applies


@dataclass
class PronunciationEdit:
    """Words the audio reviewer taught the voice; merged into the channel's lexicon."""

    channel: str
    entries: dict[str, Any]  # word -> respelling | "ipa:..." | {"phoneme", "alphabet", "respelling"}


@dataclass
class VoiceResult:
    audio_key: str  # WAV, mono
    timing_key: str  # JSON {"duration_s", "sections": [{"index", "start", "end"}], "words"?: [...]}
    duration_s: float


@dataclass
class BrollRequest:
    production_id: str
    channel: str
    niche: str
    script_key: str
    timing_key: str
    attempt: int = 1
    feedback: list[str] = field(default_factory=list)


@dataclass
class BrollResult:
    plan_key: str  # JSON render plan, see gpu_activities.plan
    item_count: int
    generated_count: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class BrollSwap:
    production_id: str
    plan_key: str
    swaps: dict[str, str]  # plan part index as str ('0' = hook, 'P.J' = item J of part P) -> candidate key
    attempt: int = 1


@dataclass
class ThumbnailRequest:
    production_id: str
    niche: str
    script_key: str
    plan_key: str
    attempt: int = 1
    feedback: list[str] = field(default_factory=list)


@dataclass
class ThumbnailResult:
    thumbnail_keys: list[str]


@dataclass
class PublishRequest:
    production_id: str
    channel: str
    video_key: str
    thumbnail_key: str
    script_key: str
    kind: str = "long"  # long | short
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PublishResult:
    location: str  # outbox folder (relative to the outbox root) or a YouTube URL
    video_id: str


@dataclass
class Notification:
    """One event for the people around a production (webhooks, e-mail); see activities/notify.py.

    ``event``: checkpoint_opened | reminder | needs_attention | failed | published | digest | test.
    """

    event: str
    summary: str  # one line a person reads in Slack or a mail subject
    production_id: str = ""
    channel: str = ""
    title: str = ""
    link: str = ""  # the dashboard page (path; made absolute with TUBEFLOW_PUBLIC_BASE_URL)
    data: dict[str, Any] = field(default_factory=dict)
    at: str = ""  # ISO-8601 from workflow.now()


@dataclass
class StateSnapshot:
    """Written to the database at every stage change, so lists never need Temporal."""

    status: ProductionStatus
    workflow_id: str
    run_id: str


@dataclass
class ReviewLog:
    production_id: str
    record: ReviewRecord


# ---------------------------------------------------------------- activities (GPU queue)


@dataclass
class TranscribeRequest:
    production_id: str
    audio_key: str
    language: str = "en"
    script_key: str = ""  # lets the aligner fall back to script text when Whisper hears nothing
    timing_key: str = ""  # narration parts: clip boundaries for batched GPU decoding, and the fallback


@dataclass
class TranscribeResult:
    words_key: str  # JSON list of {"word", "start", "end"}
    word_count: int
    device: str = "cpu"
    realtime_factor: float = 0.0
    gpu_seconds: float = 0.0  # worker time this attempt used
    cost_usd: float = 0.0  # gpu_seconds at the worker's price


@dataclass
class RenderRequest:
    production_id: str
    plan_key: str
    audio_key: str
    words_key: str
    niche: str
    output_key: str  # where the finished MP4 goes
    music_key: str = ""
    caption_style: str = "default"


@dataclass
class RenderResult:
    video_key: str
    duration_s: float
    width: int
    height: int
    segments_total: int
    segments_rendered: int  # rendered by this attempt (the rest were resumed)
    encoder: str = "libx264"
    frames_encoded: int = 0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


@dataclass
class ShortsInput:
    production_id: str
    channel: str
    niche: str
    script_key: str
    plan_key: str
    audio_key: str
    words_key: str
    video_key: str
    thumbnail_key: str = ""
    gpu_queue: str = "tubeflow-gpu"
    render_fanout: int = 0  # as ProductionInput.render_fanout


@dataclass
class ShortsResult:
    short_keys: list[str]
    published: list[str]
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


@dataclass
class ShortSpec:
    index: int
    start: float  # on the narration timeline
    end: float
    title: str


@dataclass
class ShortsPlan:
    specs: list[ShortSpec]
    reframe: str = "blur"  # blur | crop (per niche)


# ---------------------------------------------------------------- names used by clients
# The CLI, the API and the dashboard talk to workflows through these names only.
PRODUCTION_WORKFLOW = "ProductionWorkflow"
SHORTS_WORKFLOW = "ShortsWorkflow"
VIDEO_JOB_WORKFLOW = "VideoJobWorkflow"
SIGNAL_APPROVE = "approve"  # arg: ReviewDecision (fire-and-forget; a wrong stage is logged, not lost)
SIGNAL_REJECT = "reject"  # arg: ReviewDecision
UPDATE_REVIEW = "review"  # arg: ReviewDecision -> ProductionStatus; validator refuses a closed checkpoint
SIGNAL_PROGRESS = "report_progress"  # arg: ProgressReport, sent by long activities
SIGNAL_CANCEL = "cancel"  # arg: str reason
UPDATE_RETRY = "retry"  # arg: RetryRequest -> ProductionStatus; validator refuses unless needs_attention
STATE_NEEDS_ATTENTION = "needs_attention"  # a stage failed permanently; waits for retry or cancel
STATE_BLOCKED = "blocked"  # publishing waits: YouTube quota until its reset, or the account until reconnected
QUERY_STATUS = "status"  # -> ProductionStatus


def production_workflow_id(production_id: str) -> str:
    return f"production-{production_id}"


# ---------------------------------------------------------------- channel cadence

CADENCE_WORKFLOW = "ChannelCadenceWorkflow"
SIGNAL_RECONNECTED = "account_reconnected"  # no argument: the channel's YouTube account works again


def cadence_schedule_id(channel: str) -> str:
    return f"tubeflow-cadence-{channel}"


@dataclass
class CadenceInput:
    channel: str
    main_queue: str = "tubeflow-main"


@dataclass
class CadencePlan:
    """What one cadence run decided: a production to start, or why none (back-pressure, no topic)."""

    production: ProductionInput | None
    reason: str = ""
    priority: int = 3
    topic_source: str = ""  # backlog | suggestion


ANALYTICS_WORKFLOW = "ChannelAnalyticsWorkflow"


def analytics_schedule_id(channel: str) -> str:
    return f"tubeflow-analytics-{channel}"


@dataclass
class AnalyticsInput:
    channel: str


@dataclass
class AnalyticsOutcome:
    """One collection run: ok, or why nothing was read (missing_scope, reconnect_needed, quota, ...)."""

    channel: str
    status: str
    detail: str = ""
    start_day: str = ""
    end_day: str = ""
    videos: int = 0
    days: int = 0
    units: int = 0
