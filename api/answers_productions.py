"""Answers of the productions API: lists, one production's view, reviews, the live feed's catch-up."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from api.answers import Answer, Link, Stored
from api.answers_quality import QualityReportOut
from tubeflow.contracts import Checkpoint, Incident, ReviewRecord, Stage, State


class ChannelOut(Answer):
    id: int
    name: str
    niche: str
    created_at: str
    settings: dict[str, Any] = Field(description="the channel's own settings as stored (GET /api/channels/{name})")


class ArtifactKeys(Stored):
    """Storage keys of what the production made so far (``tubeflow.contracts.Artifacts``): only what exists."""

    facts: str | None = None
    script: str | None = None
    audio: str | None = None
    timing: str | None = None
    plan: str | None = None
    words: str | None = None
    video: str | None = None
    thumbnails: list[str] | None = None
    preview: str | None = None
    quality: str | None = None


class ArtifactLinks(Answer):
    """The same artifacts as links the dashboard and clients open."""

    facts: Link | None = None
    script: Link | None = None
    audio: Link | None = None
    timing: Link | None = None
    plan: Link | None = None
    words: Link | None = None
    video: Link | None = None
    thumbnails: list[Link] | None = None
    preview: Link | None = None
    quality: Link | None = None


class RenderSummaryOut(Stored):
    duration_s: float
    segments_total: int
    segments_rendered: int
    encoder: str
    render_s: float | None = None


class PreviewSummaryOut(Stored):
    width: int
    height: int
    seconds: float


class OutputsOut(Stored):
    """What a production reports besides keys (``tubeflow.contracts.Outputs``): only what exists."""

    sources: list[str] | None = None
    narration_s: float | None = None
    broll_warnings: list[str] | None = None
    gpu_seconds: float | None = None
    cost_usd: float | None = None
    llm_tokens: int | None = None
    llm_cost_usd: float | None = None
    tts_characters: int | None = None
    tts_cost_usd: float | None = None
    render: RenderSummaryOut | None = None
    thumbnail: str | None = None
    published: str | None = None
    video_id: str | None = None
    shorts: list[str] | None = None
    preview: PreviewSummaryOut | None = None
    quality: QualityReportOut | None = None
    shorts_quality: list[QualityReportOut] | None = None


class ProductionRow(Answer):
    """A production as the database's last snapshot has it (lists, the review queue)."""

    id: str
    channel: str
    topic: str
    niche: str
    workflow_id: str
    run_id: str
    stage: str
    state: str
    progress: float = Field(description="percent, 0..100")
    checkpoint: str | None
    detail: str
    title: str
    error: str | None
    artifacts: ArtifactKeys
    outputs: OutputsOut
    created_at: str
    updated_at: str
    finished_at: str | None
    cost_usd: float


class ProductionPage(Answer):
    items: list[ProductionRow]
    limit: int
    offset: int


class ProductionStarted(Answer):
    id: str


class BrollItem(Answer):
    """A picture or clip of the render plan (``tubeflow.render_plan.MediaItem``) with its URL."""

    key: str
    kind: str
    source: str
    cue: str
    start: float
    end: float
    media_duration: float
    score: float
    description: str
    reason: str = Field(default="", description="why it scored what it did, in words (older plans: empty)")
    poster: str = Field(default="", description="clips: storage key of a still from their middle")
    focus_x: float = Field(default=0.5, description="where the picture's subject is, a fraction of its width")
    focus_y: float = Field(default=0.5, description="where the picture's subject is, a fraction of its height")
    card: dict[str, Any] = Field(
        default_factory=dict, description="a title card: where it drew text, and its portrait twin for Shorts"
    )
    url: str
    poster_url: str | None = Field(default=None, description="clips: the poster's URL, when there is one")


class BrollUpload(Answer):
    """A reviewer's own picture, probed and stored: name ``key`` in a part's list of the b-roll edits."""

    item: BrollItem


class BrollPart(Answer):
    index: int
    label: str
    start: float
    end: float
    items: list[BrollItem]
    candidates: list[BrollItem] = Field(description="alternatives a reviewer may swap in")


class ReviewMaterial(Answer):
    """What the open checkpoint shows the reviewer; which fields are there depends on ``kind``:
    script (``script``, ``sources``; on a redo ``previous_attempt`` and ``diff``), audio (``audio``,
    ``duration_s``, ``voice``, ``voice_notes``), broll (``parts``, ``warnings``, ``preview``), final
    (``video``, ``thumbnails``, ``metadata``), or ``error`` when the material cannot be read."""

    kind: str
    script: dict[str, Any] | None = None
    sources: list[dict[str, Any]] | None = Field(default=None, description="the sources the script's narration cites")
    uncited_sources: list[dict[str, Any]] | None = Field(
        default=None, description="the script's sources its narration does not cite: not published"
    )
    previous_attempt: int | None = Field(default=None, description="script redo: the attempt the diff is against")
    diff: dict[str, Any] | None = Field(
        default=None, description="script redo: title, hook and sections added/removed/changed, with word diffs"
    )
    audio: Link | None = None
    duration_s: float | None = None
    voice: str | None = Field(default=None, description="which voice of the channel's chain spoke")
    voice_notes: list[str] | None = Field(default=None, description="why the voices before it in the chain did not")
    parts: list[BrollPart] | None = None
    warnings: list[str] | None = None
    preview: Link | None = None
    video: Link | None = None
    thumbnails: list[Link] | None = None
    metadata: dict[str, Any] | None = Field(default=None, description="the upload's title, description and tags")
    quality: QualityReportOut | None = Field(default=None, description="the final cut's measured quality report")
    error: str | None = None


class ReviewRow(Answer):
    """A recorded decision, as the database keeps it."""

    id: int
    production_id: str
    stage: str
    approved: bool
    reviewer: str
    feedback: str
    attempt: int
    at: str
    note: str


class StageStepOut(Answer):
    """The running stage's own count and time left (``tubeflow.progress.StageStep``)."""

    done: int
    total: int
    unit: str = Field(description="what is counted: 'pictures picked', 'narration words voiced', 'segments rendered'")
    eta_s: float | None = Field(description="seconds still needed at the pace so far; null before the first item")


class ProductionView(Answer):
    """One production: the workflow's live status (or the database's last snapshot, ``source``),
    with links, the open checkpoint's material and the review history."""

    production_id: str
    channel: str
    niche: str
    topic: str
    stage: Stage
    state: State
    progress: float = Field(description="percent, 0..100")
    checkpoint: Checkpoint | None
    detail: str
    artifacts: ArtifactLinks
    reviews: list[ReviewRecord]
    attempts: dict[str, int] = Field(description="checkpoint -> attempts so far")
    outputs: OutputsOut
    error: str | None
    title: str
    updated_at: str
    incidents: list[Incident] = Field(description="stages that failed for good and what became of them")
    step: StageStepOut | None = Field(None, description="how far the running stage is; null between stages")
    make_shorts: bool | None = Field(None, description="whether Shorts follow the video; null when not known")
    id: str
    artifact_keys: ArtifactKeys
    stage_index: int
    workflow_id: str
    workflow_url: str = Field(description="the workflow in Temporal's web UI")
    source: Literal["workflow", "database"]
    review: ReviewMaterial | None = Field(description="what the open checkpoint holds; null when none is open")
    review_history: list[ReviewRow]


class ReviewAnswer(Answer):
    """Where the production stands once the workflow accepted the decision."""

    id: str
    stage: Stage
    state: State
    progress: float
    checkpoint: Checkpoint | None


class Cancelling(Answer):
    id: str
    cancelling: bool


class RetryAnswer(Answer):
    id: str
    stage: Stage
    state: State
    progress: float


class EventOut(Stored):
    """A stored event; its payload's fields (stage, state, progress, checkpoint...) sit at the top level."""

    id: int
    production_id: str | None
    kind: str
    at: str


class Missed(Answer):
    last_id: int = Field(description="the newest event id read: pass it as ?since= next time")
    finished: list[EventOut] = Field(description="the latest ending of each production that finished or failed")
