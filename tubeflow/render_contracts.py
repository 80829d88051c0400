"""Dataclasses crossing Temporal for the fan-out render (one activity per segment).

The workflow asks the GPU queue for a layout (how many segments, which are already in storage),
starts one ``render_segment`` activity per missing segment plus one ``render_soundtrack``, then a
``join_render`` that stream-copies the segments and muxes the soundtrack.  Like
tubeflow.contracts: JSON-friendly fields, storage keys only, new fields only with defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tubeflow.keys import segment_key, soundtrack_key  # noqa: F401  (re-exported: keys are named in tubeflow.keys)


@dataclass
class RenderJob:
    """What to render: the long-form video, or a Short cut from it when ``end_s`` > 0."""

    production_id: str
    plan_key: str
    audio_key: str
    words_key: str
    niche: str
    output_key: str
    music_key: str = ""
    caption_style: str = "default"
    start_s: float = 0.0
    end_s: float = 0.0  # 0 = the whole narration (long-form)
    reframe: str = ""  # Shorts only: native | blur | crop (+loop, render_plan.parse_reframe); "" = the niche's

    @property
    def is_short(self) -> bool:
        return self.end_s > 0


@dataclass
class RenderLayout:
    """Decided once by ``render_layout`` so every worker renders the same cut of the timeline."""

    prefix: str  # storage folder of this render's pieces, fingerprinted by its inputs and settings
    fps: int
    width: int  # output size (9:16 for a Short)
    height: int
    frames: int  # whole timeline
    segment_frames: list[int]  # frames of each segment, by index
    stored: list[int] = field(default_factory=list)  # segments already in storage: never rendered again
    quality: str = "balanced"
    narration_s: float = 0.0  # probed once: every piece clamps a Short's range the same way
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0

    def segment_start(self, index: int) -> int:
        return sum(self.segment_frames[:index])


@dataclass
class SegmentRequest:
    job: RenderJob
    layout: RenderLayout
    index: int


@dataclass
class SegmentResult:
    index: int
    key: str
    frames: int
    rendered: bool  # False: it was already in storage (another worker or attempt made it)
    encoder: str = ""
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


@dataclass
class SoundtrackRequest:
    job: RenderJob
    layout: RenderLayout


@dataclass
class SoundtrackResult:
    key: str
    rendered: bool
    output_lufs: float = 0.0
    gpu_seconds: float = 0.0
    cost_usd: float = 0.0


@dataclass
class JoinRequest:
    job: RenderJob
    layout: RenderLayout
    segment_keys: list[str]
    soundtrack_key: str
