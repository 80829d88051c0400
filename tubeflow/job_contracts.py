"""Dataclasses for the GPU queue's own jobs: the standalone video operations and Shorts renders.

Like tubeflow.contracts: JSON-friendly fields only, storage keys instead of files, new fields
only with defaults (running workflows must keep decoding them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VIDEO_OPS = ("caption", "img2vid", "addaudio")


@dataclass
class CaptionJob:
    video_key: str
    subs_key: str  # .srt or .ass
    output_key: str


# What img2vid accepts, in one place: the API validates requests with these and the render
# enforces them, so a request the API takes (202) is one the render can do.
IMG2VID_MIN_ZOOM = 1.0
IMG2VID_MAX_ZOOM = 2.0  # beyond 2x a still's detail runs out and the overscanned crop turns soft
IMG2VID_MAX_DURATION_S = 600.0


@dataclass
class Img2VidJob:
    image_key: str
    output_key: str
    duration_s: float = 5.0
    zoom: float = 1.2
    width: int = 0  # 0 = TUBEFLOW_WIDTH
    height: int = 0
    fps: int = 0


@dataclass
class AddAudioJob:
    video_key: str
    audio_key: str
    output_key: str
    mode: str = "replace"  # replace | mix
    fit: str = "shortest"  # shortest | loop


@dataclass
class VideoJobResult:
    output_key: str
    duration_s: float
    encoder: str
    started_at: str = ""  # when the worker began the attempt that succeeded (ISO, UTC)
    worker: str = ""  # that worker's identity
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0  # gpu_seconds at the worker's TUBEFLOW_WORKER_PRICE_PER_HOUR


@dataclass
class VideoJobInput:
    job_id: str
    op: str  # caption | img2vid | addaudio
    caption: CaptionJob | None = None
    img2vid: Img2VidJob | None = None
    addaudio: AddAudioJob | None = None
    gpu_queue: str = "tubeflow-gpu"
    max_attempts: int = 3
    time_limit_s: float = 3600.0  # one attempt's limit (TUBEFLOW_VIDEO_JOB_TIME_LIMIT_S)
    heartbeat_timeout_s: float = 60.0  # how soon a lost worker is noticed
    api_key_id: str = ""  # who submitted it (GET /jobs lists a key's own jobs)
    callback_url: str = ""


@dataclass
class CallbackRequest:
    """One signed POST of a job's final event to the client's ``callback_url``."""

    url: str
    api_key_id: str
    event: str  # complete | error
    body: str  # the JSON body, exactly as signed
    delivery_id: str


@dataclass
class JobEvent:
    """One durable event of a job, numbered from 1: what the live stream replays after a reconnect.

    ``type`` is queued | started | checkpoint | resumed | complete | error; ``data`` holds the
    event's JSON fields (see README, "Video job events").  Progress is not stored here (it would
    flood the history); the stream synthesises it from the heartbeats.
    """

    id: int
    type: str
    at: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class VideoJobStatus:
    job_id: str
    op: str
    state: str = "queued"  # queued | running | retrying | completed | failed
    progress: float = 0.0  # 0..1
    started_at: str = ""
    finished_at: str = ""
    resume_count: int = 0  # attempts after the first (a worker died, FFmpeg was killed)
    output_key: str = ""
    error: str = ""
    created_at: str = ""  # the workflow started (the API accepted the job)
    queued_at: str = ""  # the GPU activity was first scheduled
    running_since: str = ""  # the current attempt's worker started it
    workers: list[str] = field(default_factory=list)  # every worker that ran an attempt, in order
    events: list[JobEvent] = field(default_factory=list)
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0
    duration_s: float = 0.0
    callback: str = ""  # "" (none asked) | pending | delivered | failed: <why>


@dataclass
class ShortRequest:
    """One Short cut from a finished production (see gpu_activities.shorts)."""

    production_id: str
    plan_key: str
    audio_key: str
    words_key: str
    niche: str
    start_s: float
    end_s: float
    output_key: str
    music_key: str = ""
    reframe: str = ""  # native | blur | crop (+loop); "" = the niche's shorts_reframe
