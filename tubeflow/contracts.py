"""Typed inputs and outputs that cross the Temporal boundary.

Everything here is a plain dataclass of JSON-friendly fields so the default data converter can
carry it, and so workflow histories stay readable in the Web UI.  Media never travels: only
storage keys.  Adding a field with a default is backwards compatible with running workflows;
renaming or removing one is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Literal, NewType, TypeAlias

from tubeflow.progress import StageStep
from tubeflow.quality_report import QualityReport, QualityThresholds


class Checkpoint(StrEnum):
    """Where a person reviews; the review stage of each is ``review_<checkpoint>``."""

    SCRIPT = "script"
    AUDIO = "audio"
    BROLL = "broll"
    FINAL = "final"

    @property
    def stage(self) -> Stage:
        return Stage(f"review_{self.value}")


class Stage(StrEnum):
    """A production's stages in pipeline order (the API and dashboard show them in this order)."""

    QUEUED = "queued"
    RESEARCH = "research"
    SCRIPT = "script"
    REVIEW_SCRIPT = "review_script"
    TTS = "tts"
    REVIEW_AUDIO = "review_audio"
    BROLL = "broll"
    REVIEW_BROLL = "review_broll"
    RENDER = "render"
    THUMBNAIL = "thumbnail"
    REVIEW_FINAL = "review_final"
    PUBLISH = "publish"
    SHORTS = "shorts"
    DONE = "done"


class State(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"  # at an open checkpoint
    NEEDS_ATTENTION = "needs_attention"  # a stage failed permanently; waits for retry or cancel
    BLOCKED = "blocked"  # publishing waits: YouTube quota until its reset, or the account until reconnected
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (State.COMPLETED, State.FAILED, State.CANCELLED)


class Role(StrEnum):
    """API key roles, each allowed what the ones before it are."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"

    def includes(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


class RedoTarget(StrEnum):
    """Where a rejection at the final checkpoint sends the production back to, in pipeline order.

    Everything from the target on is made again with the feedback and reviewed again at its own
    checkpoint; a rejection that names none remakes the thumbnails only.
    """

    SCRIPT = "script"  # the script, then the narration
    BROLL = "broll"
    RENDER = "render"
    THUMBNAIL = "thumbnail"

    def includes(self, step: RedoTarget) -> bool:
        """Redoing from here makes ``step`` again (it comes at or after this target)."""
        order = list(RedoTarget)
        return order.index(self) <= order.index(step)


# The enums travel as their plain strings, so histories written before they existed replay.
CHECKPOINTS: tuple[Checkpoint, ...] = tuple(Checkpoint)
STAGES: tuple[Stage, ...] = tuple(Stage)
TERMINAL_STATES: frozenset[State] = frozenset(s for s in State if s.finished)

# A name a person sent that is none of an enum's values.  A field a reviewer fills in is typed
# ``<Enum> | Unrecognised``: a known name decodes as the member, any other as the plain string it is,
# so the workflow refuses it with a message.  A field typed with the enum alone would fail decoding
# instead: an update would be rejected with "Failed decoding arguments", a signal dropped unrecorded.
Unrecognised = NewType("Unrecognised", str)
CheckpointName: TypeAlias = Checkpoint | Unrecognised
RedoFrom: TypeAlias = RedoTarget | Literal[""] | Unrecognised  # "": none named


def checkpoint_named(name: str) -> CheckpointName:
    """A checkpoint as a person typed it: an unknown one still goes to the workflow, which refuses it
    with the list of checkpoints (so every entry point answers alike)."""
    return Checkpoint(name) if name in CHECKPOINTS else Unrecognised(name)


def redo_target_named(name: str) -> RedoFrom:
    """A final rejection's redo target as a person typed it ("": none); an unknown one goes to the
    workflow, which refuses it with the list of targets."""
    if not name:
        return ""
    try:
        return RedoTarget(name)
    except ValueError:
        return Unrecognised(name)


# Progress percent reached when a stage *starts*; the render stage interpolates inside its range.
STAGE_PROGRESS: dict[Stage, int] = {
    Stage.QUEUED: 0,
    Stage.RESEARCH: 2,
    Stage.SCRIPT: 8,
    Stage.REVIEW_SCRIPT: 15,
    Stage.TTS: 18,
    Stage.REVIEW_AUDIO: 30,
    Stage.BROLL: 33,
    Stage.REVIEW_BROLL: 40,
    Stage.RENDER: 43,
    Stage.THUMBNAIL: 85,
    Stage.REVIEW_FINAL: 88,
    Stage.PUBLISH: 93,
    Stage.SHORTS: 96,
    Stage.DONE: 100,
}

# Search attributes registered on the dev server (temporal-dev.yaml) so operators can filter.
SA_CHANNEL = "TubeflowChannel"
SA_NICHE = "TubeflowNiche"
SA_STAGE = "TubeflowStage"
SA_API_KEY = "TubeflowApiKey"  # a video job's submitting key id: GET /jobs lists a key's own jobs


# Delivery attempts of one notification before its failed targets go to the dead letters.
NOTIFY_ATTEMPTS = 5


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
    # The channel's quality limits (None: the defaults), and whether a failed report holds an
    # auto-approved final checkpoint in needs_attention instead of publishing.
    quality: QualityThresholds | None = None
    quality_gate: bool = False


@dataclass
class ReviewDecision:
    """What a reviewer sends at a checkpoint.

    ``edits`` is the JSON object it has always been, one key per checkpoint: script -> {"script":
    <script dict>}; audio -> {"pronounce": {"<word>": "<respelling>" | "ipa:<phonemes>"}} (kept in
    the channel's lexicon); broll -> {"swap": {"<section>": "<candidate key>"}, "parts": {"<part>":
    [<keys in order>]}}; final ->
    {"thumbnail": <index>}.  ``tubeflow/review_edits.py`` reads it into that checkpoint's dataclass
    (the workflow's validator refuses what does not parse); it stays a plain object on the wire so a
    malformed edit reaches the validator and recorded histories replay.
    """

    stage: CheckpointName  # an unknown name is refused by the workflow with a message (see Unrecognised)
    approved: bool
    reviewer: str = "anonymous"
    feedback: str = ""
    edits: dict[str, Any] | None = None
    redo_from: RedoFrom = ""  # a rejection at final only; none named = the thumbnails

    def sends_back_to(self) -> RedoTarget | None:
        """The earlier stage a final rejection sends the production back to; None when only the
        thumbnails are remade (no target, or "thumbnail"), or for an approval."""
        target = self.redo_from
        if self.approved or not isinstance(target, RedoTarget) or target is RedoTarget.THUMBNAIL:
            return None
        return target


@dataclass
class ReviewRecord:
    stage: CheckpointName  # as the decision named it (an ignored one may name no checkpoint)
    approved: bool
    reviewer: str
    feedback: str
    at: str  # ISO-8601 from workflow.now()
    attempt: int
    note: str = ""  # "auto-approved by ...", "redo from <stage>", "ignored: <why>"
    redo_from: RedoFrom = ""  # the stage a final rejection sent the production back to
    ignored: bool = False  # a signal refused for a closed or unknown checkpoint; it changed nothing

    def __post_init__(self) -> None:
        # Records written before the field existed (an old worker's activity task or query answer,
        # the database) say so only in their note: the one place that reads the note's prefix.
        if not self.ignored and self.note.startswith("ignored: "):
            self.ignored = True

    @property
    def about(self) -> str:
        """The stage its feedback is about, the key its learning is filed under (``review:<about>``):
        a final rejection's redo target, the thumbnails when it named none, else the checkpoint."""
        if self.redo_from:
            return self.redo_from
        return RedoTarget.THUMBNAIL if self.stage == Checkpoint.FINAL else self.stage


@dataclass
class Artifacts:
    """Storage keys of what a production made so far; a field stays None until its stage ran."""

    facts: str | None = None
    script: str | None = None
    audio: str | None = None
    timing: str | None = None
    plan: str | None = None
    words: str | None = None
    video: str | None = None
    thumbnails: list[str] | None = None
    preview: str | None = None  # the low-resolution cut shown at the b-roll checkpoint
    quality: str | None = None  # the latest render's quality report (JSON)

    def to_dict(self) -> dict[str, Any]:
        """The JSON the API, dashboard and database have always had: only what exists."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Artifacts:
        return cls(**{f.name: d[f.name] for f in fields(cls) if f.name in d})


@dataclass
class RenderSummary:
    duration_s: float
    segments_total: int
    segments_rendered: int
    encoder: str
    render_s: float | None = None  # the render alone (GPU seconds), for render seconds per video minute


@dataclass
class PreviewSummary:
    width: int
    height: int
    seconds: float  # GPU seconds it took


@dataclass
class Outputs:
    """What a production reports besides keys: sources, durations, cost, where it was published."""

    sources: list[str] | None = None
    narration_s: float | None = None
    broll_warnings: list[str] | None = None
    gpu_seconds: float | None = None  # GPU worker time so far
    cost_usd: float | None = None  # that time at the workers' price
    llm_tokens: int | None = None  # prompt + completion tokens of every script attempt
    llm_cost_usd: float | None = None  # those tokens at TUBEFLOW_LLM_PRICE_*_PER_MTOK (None: not priced)
    tts_characters: int | None = None  # characters sent to a paid voice, every attempt
    tts_cost_usd: float | None = None  # at TUBEFLOW_AZURE_TTS_PRICE_PER_MCHAR
    render: RenderSummary | None = None
    thumbnail: str | None = None  # the chosen thumbnail's key
    published: str | None = None  # outbox folder or URL
    video_id: str | None = None
    shorts: list[str] | None = None  # where each Short was published
    preview: PreviewSummary | None = None
    quality: QualityReport | None = None  # the latest render's quality report
    shorts_quality: list[QualityReport] | None = None  # each Short's, in order

    def to_dict(self) -> dict[str, Any]:
        """The JSON the API, dashboard and database have always had: only what exists."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    def spent_usd(self) -> float:
        """Everything counted so far: GPU time, LLM tokens and paid-voice characters, where priced."""
        return round((self.cost_usd or 0.0) + (self.llm_cost_usd or 0.0) + (self.tts_cost_usd or 0.0), 6)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outputs:
        values = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        if isinstance(values.get("render"), dict):
            values["render"] = RenderSummary(**values["render"])
        if isinstance(values.get("preview"), dict):
            values["preview"] = PreviewSummary(**values["preview"])
        if isinstance(values.get("quality"), dict):
            values["quality"] = QualityReport.from_dict(values["quality"])
        if isinstance(values.get("shorts_quality"), list):
            values["shorts_quality"] = [QualityReport.from_dict(r) for r in values["shorts_quality"]]
        return cls(**values)


@dataclass
class ProductionStatus:
    production_id: str
    channel: str
    niche: str
    topic: str
    stage: Stage
    state: State
    progress: float  # percent 0..100
    checkpoint: Checkpoint | None = None  # the open checkpoint, if any
    detail: str = ""
    artifacts: Artifacts = field(default_factory=Artifacts)
    reviews: list[ReviewRecord] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)  # checkpoint -> attempts so far
    outputs: Outputs = field(default_factory=Outputs)
    error: str | None = None
    title: str = ""
    updated_at: str = ""
    # Stages that failed permanently and what became of them, oldest first (see Incident).
    incidents: list[Incident] = field(default_factory=list)
    # The running stage's own count and time left ("7 of 12 pictures picked"); None between stages.
    step: StageStep | None = None
    make_shorts: bool | None = None  # from the input: whether Shorts follow the video (None: not known)

    def to_dict(self) -> dict[str, Any]:
        """JSON for people and the API: artifacts and outputs hold only what exists, as before."""
        d = asdict(self)
        d["artifacts"], d["outputs"] = self.artifacts.to_dict(), self.outputs.to_dict()
        return d


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
    # The stage's own count and estimate (tubeflow/progress.py); total 0: the report has none.
    done: int = 0
    total: int = 0
    unit: str = ""
    eta_s: float | None = None


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
    llm_tokens: int = 0  # what writing it took (every attempt of a chat model; 0 offline)
    llm_cost_usd: float | None = None  # None: the model is not priced


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
    tts_characters: int = 0  # characters a paid voice (Azure) was sent; 0 for Piper / eSpeak
    tts_cost_usd: float = 0.0
    voice: str = ""  # the voice of the channel's chain that spoke ("" in results from before the chain)
    voice_notes: list[str] = field(default_factory=list)  # why the voices before it in the chain did not


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
    # part ('2', 'hook') -> every key it shows, in order (BrollReviewEdits.parts); applied before ``swaps``
    parts: dict[str, list[str]] = field(default_factory=dict)
    revision: int = 0  # > 0: a save before approval (the checkpoint stays open), written as its own plan


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

    ``event``: one of :class:`tubeflow.events.NotifyEvent` (checkpoint_opened, reminder, needs_attention,
    failed, published, digest, test, and a Short's platform_published | platform_needs_attention |
    platform_blocked | platform_waiting on TikTok or Instagram).
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
    text_layout_key: str = ""  # tubeflow.quality_report.TextLayout JSON: every drawn text and caption box


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
    quality: QualityThresholds | None = None  # as ProductionInput.quality (each Short gets its pace)
    platforms_off: list[str] = field(default_factory=list)  # TikTok/Instagram unticked at the final checkpoint
    platform_captions: dict[str, str] = field(default_factory=dict)  # platform -> the reviewer's caption
    platform_covers: dict[str, float] = field(default_factory=dict)  # platform -> cover frame, s into each Short


@dataclass
class ShortsResult:
    short_keys: list[str]
    published: list[str]
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0
    quality: list[QualityReport] = field(default_factory=list)  # each Short's report, in order
    cross_posts: list[CrossPostResult] = field(default_factory=list)  # TikTok / Instagram posts


@dataclass
class ShortSpec:
    index: int
    start: float  # on the narration timeline
    end: float
    title: str


@dataclass
class ShortsPlan:
    specs: list[ShortSpec]
    reframe: str = "blur"  # native | blur | crop, "+loop" to loop (the channel's shorts_layout, shorts_loop)


@dataclass
class CrossPostPlanRequest:
    """Which platforms besides YouTube the production's Shorts go to, and when (issue 24)."""

    production_id: str
    channel: str
    shorts: list[ShortSpec]
    platforms_off: list[str] = field(default_factory=list)  # unticked by the reviewer for this production
    captions: dict[str, str] = field(default_factory=dict)  # platform -> the reviewer's caption


@dataclass
class CrossPostSlot:
    platform: str  # tiktok | instagram
    index: int  # the Short's index
    at: str = ""  # ISO-8601 time its slot opens; "" = at once


@dataclass
class CrossPostPlan:
    platforms: list[str]
    slots: list[CrossPostSlot]


@dataclass
class CrossPostRequest:
    production_id: str
    channel: str
    platform: str
    index: int
    video_key: str
    script_key: str
    title: str = ""
    caption: str = ""  # the reviewer's caption for this platform; "" = built from the metadata
    cover_s: float = 1.0  # the cover frame, seconds into the Short (the reviewer's pick, within the Short)


@dataclass
class CrossPostResult:
    platform: str
    index: int
    post_id: str
    location: str


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
# arg: ReviewDecision (stage broll, edits) -> ProductionStatus: the b-roll edits are applied and the
# preview rendered again while the checkpoint stays open; refused unless it is open
UPDATE_REVISE = "revise"
UPDATE_RETRY = "retry"  # arg: RetryRequest -> ProductionStatus; validator refuses unless needs_attention
STATE_NEEDS_ATTENTION = State.NEEDS_ATTENTION
STATE_BLOCKED = State.BLOCKED
QUERY_STATUS = "status"  # -> ProductionStatus


def production_workflow_id(production_id: str) -> str:
    return f"production-{production_id}"


# ---------------------------------------------------------------- channel cadence

CADENCE_WORKFLOW = "ChannelCadenceWorkflow"
SIGNAL_RECONNECTED = "account_reconnected"  # no argument: the channel's YouTube account works again
# To a ShortsWorkflow (id shorts_workflow_id): arg the platform (tiktok | instagram)
SIGNAL_PLATFORM_RECONNECTED = "platform_reconnected"  # its account works again: posting continues
SIGNAL_PLATFORM_RETRY = "platform_retry"  # its posting failed for good and was fixed: try it again


def shorts_workflow_id(production_id: str) -> str:
    return f"{production_workflow_id(production_id)}-shorts"


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
class PlatformAnalyticsOutcome:
    """One platform's part of a collection run (TikTok, Instagram): a platform that could not be read
    (revoked token, rate limit, outage) is reported here and never stops YouTube or the other platform."""

    platform: str
    status: str  # ok | reconnect_needed | rate_limited | unavailable | failed
    detail: str = ""
    posts: int = 0  # published posts asked about
    rows: int = 0  # post-days stored


@dataclass
class AnalyticsOutcome:
    """One collection run: ok, or why nothing was read (missing_scope, reconnect_needed, quota, ...).

    ``status`` is YouTube's; each connected short-video platform has its own entry in ``platforms``
    (absent from runs recorded before platforms were collected, hence the default)."""

    channel: str
    status: str
    detail: str = ""
    start_day: str = ""
    end_day: str = ""
    videos: int = 0
    days: int = 0
    units: int = 0
    platforms: list[PlatformAnalyticsOutcome] = field(default_factory=list)
