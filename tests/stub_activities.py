"""Stub activities under the real names, for testing the workflows' logic in seconds.

As in the Temporal samples (samples-python tests/hello/hello_activity_test.py): the real
workflows on a real dev server, with each activity replaced by a fast function registered under
its declared name and types (tubeflow.activity_defs, so mypy holds the stubs to the same
contract as the real adapters).  Every call is recorded, so a test can say what the workflow
asked for; the full-media tests in test_production_workflow.py cover the real activities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from temporalio.exceptions import ApplicationError

from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.contracts import (
    BrollRequest,
    BrollResult,
    BrollSwap,
    CrossPostPlan,
    CrossPostPlanRequest,
    CrossPostRequest,
    CrossPostResult,
    CrossPostSlot,
    Notification,
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
    ShortSpec,
    ShortsPlan,
    StateSnapshot,
    ThumbnailRequest,
    ThumbnailResult,
    TranscribeRequest,
    TranscribeResult,
    VoiceRequest,
    VoiceResult,
)
from tubeflow.job_contracts import ShortRequest
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

REFUSED_KEY = "not-in-the-plan.jpg"  # a b-roll edit naming it is refused, as the real activity refuses it
BROKEN_NICHE = "broken"  # research fails permanently for this niche (its first try), as for an unknown one


class StubActivities:
    """Records each call per production id; results name their inputs so tests can follow them."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[str, Any]]] = defaultdict(list)
        self.platforms: list[str] = []  # TikTok / Instagram accounts the stub channel has

    def of(self, production_id: str, name: str) -> list[Any]:
        return [arg for n, arg in self.calls[production_id] if n == name]

    def _call(self, production_id: str, name: str, arg: Any) -> None:
        self.calls[production_id].append((name, arg))

    def main(self) -> list[Callable[..., Any]]:
        return [
            self.research,
            self.write_script,
            self.save_script_edit,
            self.synthesize_voice,
            self.gather_broll,
            self.apply_broll_swap,
            self.make_thumbnails,
            self.publish,
            self.plan_shorts,
            self.plan_cross_posts,
            self.cross_post,
            self.record_snapshot,
            self.record_review,
            self.notify,
        ]

    def gpu(self) -> list[Callable[..., Any]]:
        return [
            self.transcribe,
            self.render_video,
            self.render_short,
            self.render_preview,
            self.render_layout,
            self.render_segment,
            self.render_soundtrack,
            self.join_render,
            self.measure_quality,
        ]

    @implements(act.RESEARCH)
    async def research(self, req: ResearchRequest) -> ResearchResult:
        self._call(req.production_id, "research", req)
        if req.niche == BROKEN_NICHE and len(self.of(req.production_id, "research")) == 1:
            raise ApplicationError(f"unknown niche {req.niche!r}", type="ConfigError", non_retryable=True)
        return ResearchResult(f"p/{req.production_id}/facts.json", 3, ["https://example.org/sky"])

    @implements(act.WRITE_SCRIPT)
    async def write_script(self, req: ScriptRequest) -> ScriptResult:
        self._call(req.production_id, "write_script", req)
        return ScriptResult(f"p/{req.production_id}/script-v{req.attempt}.json", f"Title v{req.attempt}", 3, 120)

    @implements(act.SAVE_SCRIPT_EDIT)
    async def save_script_edit(self, edit: ScriptEdit) -> ScriptResult:
        self._call(edit.production_id, "save_script_edit", edit)
        key = f"p/{edit.production_id}/script-v{edit.attempt}-edited.json"
        return ScriptResult(key, edit.script["title"], len(edit.script["sections"]), 100)

    @implements(act.SYNTHESIZE_VOICE)
    async def synthesize_voice(self, req: VoiceRequest) -> VoiceResult:
        self._call(req.production_id, "synthesize_voice", req)
        p = f"p/{req.production_id}"
        return VoiceResult(f"{p}/voice-v{req.attempt}.wav", f"{p}/timing-v{req.attempt}.json", 12.5)

    @implements(act.GATHER_BROLL)
    async def gather_broll(self, req: BrollRequest) -> BrollResult:
        self._call(req.production_id, "gather_broll", req)
        return BrollResult(f"p/{req.production_id}/plan-v{req.attempt}.json", 4, 1, ["one still generated"])

    @implements(act.APPLY_BROLL_SWAP)
    async def apply_broll_swap(self, req: BrollSwap) -> BrollResult:
        self._call(req.production_id, "apply_broll_swap", req)
        if any(REFUSED_KEY in keys for keys in req.parts.values()):
            raise ApplicationError(
                f"b-roll edit: {REFUSED_KEY!r} is not a picture of this plan", type="PermanentError", non_retryable=True
            )
        suffix = f"-e{req.revision}" if req.revision else "-swapped"
        return BrollResult(f"p/{req.production_id}/plan-v{req.attempt}{suffix}.json", 4, 1)

    @implements(act.MAKE_THUMBNAILS)
    async def make_thumbnails(self, req: ThumbnailRequest) -> ThumbnailResult:
        self._call(req.production_id, "make_thumbnails", req)
        return ThumbnailResult([f"p/{req.production_id}/thumb-{i}.jpg" for i in range(3)])

    @implements(act.PUBLISH)
    async def publish(self, req: PublishRequest) -> PublishResult:
        self._call(req.production_id, "publish", req)
        suffix = f"-short-{req.extra['index']}" if req.kind == "short" else ""
        return PublishResult(f"outbox/{req.production_id}{suffix}", f"vid{suffix}")

    @implements(act.PLAN_SHORTS)
    async def plan_shorts(self, inp: ShortsInput) -> ShortsPlan:
        self._call(inp.production_id, "plan_shorts", inp)
        return ShortsPlan([ShortSpec(0, 0.0, 5.0, "first"), ShortSpec(1, 5.0, 9.0, "second")])

    @implements(act.PLAN_CROSS_POSTS)
    async def plan_cross_posts(self, req: CrossPostPlanRequest) -> CrossPostPlan:
        """No other platform unless a test connects some (``self.platforms``)."""
        self._call(req.production_id, "plan_cross_posts", req)
        platforms = [p for p in self.platforms if p not in req.platforms_off]
        return CrossPostPlan(platforms, [CrossPostSlot(p, s.index) for p in platforms for s in req.shorts])

    @implements(act.CROSS_POST)
    async def cross_post(self, req: CrossPostRequest) -> CrossPostResult:
        self._call(req.production_id, "cross_post", req)
        return CrossPostResult(req.platform, req.index, f"{req.platform}-{req.index}", "")

    @implements(act.RECORD_SNAPSHOT)
    async def record_snapshot(self, snap: StateSnapshot) -> None:
        self._call(snap.status.production_id, "record_snapshot", snap.status)

    @implements(act.RECORD_REVIEW)
    async def record_review(self, log: ReviewLog) -> None:
        self._call(log.production_id, "record_review", log.record)

    @implements(act.TRANSCRIBE)
    async def transcribe(self, req: TranscribeRequest) -> TranscribeResult:
        self._call(req.production_id, "transcribe", req)
        return TranscribeResult(f"p/{req.production_id}/words.json", 30, gpu_seconds=1.5, cost_usd=0.0015)

    @implements(act.RENDER_VIDEO)
    async def render_video(self, req: RenderRequest) -> RenderResult:
        self._call(req.production_id, "render_video", req)
        return RenderResult(req.output_key, 12.5, 320, 180, 7, 7, gpu_seconds=10.0, cost_usd=0.01)

    @implements(act.RENDER_SHORT)
    async def render_short(self, req: ShortRequest) -> RenderResult:
        self._call(req.production_id, "render_short", req)
        return RenderResult(req.output_key, req.end_s - req.start_s, 180, 320, 1, 1, gpu_seconds=2.0, cost_usd=0.002)

    # The fan-out render (workflows/render_fanout.py): three segments of one GPU second each.

    @implements(act.RENDER_LAYOUT)
    async def render_layout(self, job: RenderJob) -> RenderLayout:
        self._call(job.production_id, "render_layout", job)
        return RenderLayout(f"p/{job.production_id}/pieces", 15, 320, 180, 45, [15, 15, 15])

    @implements(act.RENDER_SEGMENT)
    async def render_segment(self, req: SegmentRequest) -> SegmentResult:
        self._call(req.job.production_id, "render_segment", req.index)
        key = f"{req.layout.prefix}/seg-{req.index}.mp4"
        return SegmentResult(req.index, key, 15, True, "libx264", gpu_seconds=1.0, cost_usd=0.001)

    @implements(act.RENDER_SOUNDTRACK)
    async def render_soundtrack(self, req: SoundtrackRequest) -> SoundtrackResult:
        self._call(req.job.production_id, "render_soundtrack", req.job)
        return SoundtrackResult(f"{req.layout.prefix}/sound.m4a", True, gpu_seconds=0.5, cost_usd=0.0005)

    @implements(act.JOIN_RENDER)
    async def join_render(self, req: JoinRequest) -> RenderResult:
        self._call(req.job.production_id, "join_render", req)
        n = len(req.segment_keys)
        return RenderResult(req.job.output_key, 3.0, 320, 180, n, 0, gpu_seconds=0.5, cost_usd=0.0005)

    @implements(act.MEASURE_QUALITY)
    async def measure_quality(self, req: QualityRequest) -> QualityResult:
        """A clean report judged by the real thresholds code (cuts every second, -14 LUFS)."""
        from gpu_activities.quality import VideoMeasurements, report_from
        from tubeflow.quality_report import QualityThresholds

        self._call(req.production_id, "measure_quality", req)
        cuts = [(float(t), 20.0) for t in range(1, 12)]
        m = VideoMeasurements(12.5, 320, 180, -14.0, -3.0, [], [], [], cuts)
        th = (req.thresholds or QualityThresholds()).for_video(req.video)
        report = report_from(m, video=req.video, thresholds=th)
        report.key = req.output_key
        return QualityResult(report)  # no GPU time: the tests that sum it predate the report

    @implements(act.NOTIFY)
    async def notify(self, n: Notification) -> dict[str, str]:
        self._call(n.production_id, "notify", n)
        return {}

    @implements(act.RENDER_PREVIEW)
    async def render_preview(self, req: RenderRequest) -> RenderResult:
        self._call(req.production_id, "render_preview", req)
        return RenderResult(req.output_key, 12.5, 160, 90, 1, 1, gpu_seconds=0.5, cost_usd=0.0005)
