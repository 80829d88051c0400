"""Temporal activity adapters for the GPU queue: thin wrappers over the plain render modules.

What they add: storage keys in and out (a GPU worker may be on another machine), FFmpeg work in
a thread with heartbeats from the event loop (a SIGKILLed worker is noticed within the heartbeat
timeout), the render's resume state in the heartbeat details (``{"segments": {i: key},
"total": n}``: a retry fetches those segments and encodes only the rest), live progress to the
parent workflow, and the mapping of permanent errors to non-retryable ApplicationErrors.
Storage transfers (S3 downloads of b-roll and segments, uploads of segments and the video) are
blocking calls: they run in the same worker thread as FFmpeg, never on the event loop, and the
loop keeps heartbeating while they run.  The fan-out render (one activity per segment, see
gpu_activities.fanout) lives here too.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from temporalio import activity

from niches.config import NicheConfig, load_niche
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import (
    SIGNAL_PROGRESS,
    ProgressReport,
    RenderRequest,
    RenderResult,
    TranscribeRequest,
    TranscribeResult,
)
from tubeflow.errors import MediaError, PermanentError
from tubeflow.job_contracts import AddAudioJob, CaptionJob, Img2VidJob, ShortRequest, VideoJobResult
from tubeflow.keys import (
    ProductionKeys,
    segment_index,
    segment_key,
    segments_listing,
    soundtrack_key,
    spoken_words_for,
    timing_for_voice,
)
from tubeflow.render_contracts import (
    JoinRequest,
    RenderJob,
    RenderLayout,
    SegmentRequest,
    SegmentResult,
    SoundtrackRequest,
    SoundtrackResult,
)
from tubeflow.render_plan import NarrationTiming, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import Storage, StorageError

if TYPE_CHECKING:  # the render modules load FFmpeg helpers; activities import them when they run
    from gpu_activities.render import RenderStats

log = logging.getLogger("tubeflow.gpu")
R = TypeVar("R")
HEARTBEAT_EVERY_S = 1.0  # the worker's throttle decides what reaches the server


class _Beat:
    """Heartbeat state shared between the FFmpeg thread (writer) and the event loop (sender)."""

    def __init__(self, details: dict[str, Any]) -> None:
        self.details = details
        self.lock = threading.Lock()
        self.dirty = asyncio.Event()
        self.loop = asyncio.get_running_loop()
        self.progress: ProgressReport | None = None

    def update(self, details: dict[str, Any], progress: ProgressReport | None = None) -> None:
        """Called from the worker thread."""
        with self.lock:
            self.details = details
            if progress is not None:
                self.progress = progress
        self.loop.call_soon_threadsafe(self.dirty.set)

    def snapshot(self) -> tuple[dict[str, Any], ProgressReport | None]:
        with self.lock:
            p, self.progress = self.progress, None
            return json.loads(json.dumps(self.details)), p


async def _send_progress(report: ProgressReport) -> None:
    """Best effort: a missing parent, a test environment or a network blip must not fail the render."""
    try:
        info = activity.info()
        assert info.workflow_id is not None  # caught below: an activity outside a workflow sends no progress
        handle = activity.client().get_workflow_handle(info.workflow_id)
        await handle.signal(SIGNAL_PROGRESS, report)
    except Exception as e:  # noqa: BLE001 - progress is advisory
        log.debug("progress signal not sent: %s", e)


async def run_with_heartbeat(fn: Callable[[threading.Event, _Beat], R], details: dict[str, Any] | None = None) -> R:
    """Run ``fn(cancel, beat)`` in a thread, heartbeating its latest details until it returns.

    If the activity is cancelled (or the worker shuts down), ``cancel`` is set so FFmpeg is
    killed instead of running on as an orphan.
    """
    beat = _Beat(details or {})
    cancel = threading.Event()
    task = asyncio.ensure_future(asyncio.to_thread(fn, cancel, beat))
    try:
        while True:
            waiter = asyncio.ensure_future(beat.dirty.wait())
            await asyncio.wait({task, waiter}, timeout=HEARTBEAT_EVERY_S, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            beat.dirty.clear()
            snap, progress = beat.snapshot()
            activity.heartbeat(snap)
            if progress is not None:
                await _send_progress(progress)
            if task.done():
                return task.result()
    except asyncio.CancelledError:
        cancel.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=10)
        except BaseException:  # noqa: BLE001 - already unwinding; FFmpeg was told to stop
            pass
        raise


class GpuActivities:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings = settings
        self.storage = storage

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.transcribe,
            self.render_video,
            self.render_preview,
            self.render_short,
            self.video_caption,
            self.video_img2vid,
            self.video_addaudio,
            self.render_layout,
            self.render_segment,
            self.render_soundtrack,
            self.join_render,
        ]

    # ------------------------------------------------------------------ helpers

    def workdir(self, name: str) -> Path:
        d = self.settings.home / "work" / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _niche(self, name: str) -> NicheConfig | None:
        try:
            return load_niche(name, self.settings) if name else None
        except PermanentError:
            raise

    def _music(self, key: str, niche: NicheConfig | None) -> Path | None:
        if key:
            return self.storage.fetch(key)
        if niche is not None and niche.music_path is not None and niche.music_path.is_file():
            return niche.music_path
        return None

    def _timing_for(self, audio_key: str) -> NarrationTiming | None:
        """TTS stores voice-vN.wav next to timing-vN.json; use it when it is there."""
        key = timing_for_voice(audio_key)
        if key is None or not self.storage.exists(key):
            return None
        return NarrationTiming.from_json(self.storage.get_text(key))

    # ------------------------------------------------------------------ transcription

    @implements(act.TRANSCRIBE)
    @permanent_errors
    async def transcribe(self, req: TranscribeRequest) -> TranscribeResult:
        from gpu_activities.align import align_to_script
        from gpu_activities.transcribe import align_script_words, estimate_timing, transcribe_words
        from tubeflow.media.probe import probe

        t0 = time.monotonic()
        key = ProductionKeys(req.production_id).words()

        def work(cancel: threading.Event, beat: _Beat) -> tuple[list[dict[str, Any]], str, float]:
            audio = self.storage.fetch(req.audio_key)
            if req.timing_key:
                timing: NarrationTiming | None = NarrationTiming.from_json(self.storage.get_text(req.timing_key))
            else:
                timing = self._timing_for(req.audio_key)
            script = json.loads(self.storage.get_text(req.script_key)) if req.script_key else None
            spoken_key = spoken_words_for(req.audio_key)
            if script is not None and self.storage.exists(spoken_key):
                # The voice engine said when each word was spoken (Azure, eSpeak): exact, and no Whisper run.
                spoken = json.loads(self.storage.get_text(spoken_key))
                words, stats = align_to_script(script, spoken, timing)
                device, rtf = f"tts word boundaries ({stats.anchored}/{stats.script_words} anchored)", 0.0
            else:
                result = transcribe_words(audio, req.language, self.settings, timing=timing)
                words, device, rtf = result.words, result.device, result.realtime_factor
                if script is not None and words:
                    # Whisper gives the timing only; the captions say what the script says.
                    words, stats = align_to_script(script, words, timing, probe(audio).duration_s)
                    device = f"{device} (script spelling, {stats.anchored}/{stats.script_words} words anchored)"
                elif script is not None:
                    timing = timing or estimate_timing(script, probe(audio).duration_s)
                    words = align_script_words(timing, script)
                    device = f"{device} (script alignment: Whisper heard no words)"
            self.storage.put_text(key, json.dumps(words), "application/json")
            return words, device, rtf

        words, device, rtf = await run_with_heartbeat(work)
        used = time.monotonic() - t0
        return TranscribeResult(
            words_key=key,
            word_count=len(words),
            device=device,
            realtime_factor=rtf,
            gpu_seconds=round(used, 2),
            cost_usd=self._cost(used),
        )

    # ------------------------------------------------------------------ long-form render

    def _resume_state(self, total_hint: int | None = None) -> dict[int, str]:
        details = activity.info().heartbeat_details
        if not details:
            return {}
        last = details[-1] if isinstance(details, (list, tuple)) else details
        if not isinstance(last, dict):
            return {}
        segs = last.get("segments") or {}
        return {int(i): str(k) for i, k in segs.items()}

    def _fetch_segments(self, keys: dict[int, str], workdir: Path) -> dict[int, Path]:
        """Local copies of segments a previous attempt uploaded; a missing one is simply redone."""
        out: dict[int, Path] = {}
        for i, key in keys.items():
            try:
                src = self.storage.fetch(key)
            except StorageError:
                log.warning("segment %s listed in heartbeat but missing in storage (%s): re-rendering", i, key)
                continue
            dest = workdir / "resumed" / Path(key).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if src.resolve() != dest.resolve():
                shutil.copyfile(src, dest)
            out[i] = dest
        return out

    def _cost(self, seconds: float) -> float:
        return round(seconds * self.settings.worker_price_per_hour / 3600.0, 6)

    def _render_fingerprint(self, req: RenderRequest) -> str:
        s = self.settings
        parts = [req.plan_key, req.audio_key, req.words_key, req.music_key, req.caption_style]
        parts += [str(v) for v in (s.width, s.height, s.fps, s.segment_seconds, s.video_quality, s.force_cpu)]
        if s.render_parallel > 1:  # cuts at segment_seconds / render_parallel: a different set of pieces
            parts.append(f"parallel={s.render_parallel}")
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]

    def _stored_segments(self, prefix: str) -> dict[int, str]:
        found: dict[int, str] = {}
        for key in self.storage.list(segments_listing(prefix)):
            index = segment_index(key)
            if index is not None:
                found[index] = key
        return found

    @implements(act.RENDER_VIDEO)
    @permanent_errors
    async def render_video(self, req: RenderRequest) -> RenderResult:
        from gpu_activities.render import render_production

        keys, fp = ProductionKeys(req.production_id), self._render_fingerprint(req)
        prefix = keys.render_segments(fp)
        work = self.workdir(req.production_id)
        from_heartbeat = self._resume_state()  # read before this attempt's first heartbeat replaces it
        segment_keys = {str(i): k for i, k in from_heartbeat.items()}
        lock = threading.Lock()  # segments finish on several threads when TUBEFLOW_RENDER_PARALLEL > 1

        def upload(i: int, path: Path, count: int, total: int, beat: _Beat) -> None:
            key = self.storage.put_file(keys.render_segment(fp, i), path, "video/mp4")
            with lock:
                segment_keys[str(i)] = key
                listed = dict(segment_keys)
            beat.update(
                {"segments": listed, "total": total},
                ProgressReport(stage="render", fraction=count / total, detail=f"segment {count} of {total}"),
            )

        def work_fn(cancel: threading.Event, beat: _Beat) -> Any:
            niche = self._niche(req.niche)
            plan = RenderPlan.from_json(self.storage.get_text(req.plan_key))
            words = json.loads(self.storage.get_text(req.words_key)) if req.words_key else []
            voice = self.storage.fetch(req.audio_key)
            music = self._music(req.music_key or plan.music_key, niche)
            # Heartbeats are throttled, so the last one can miss segments a killed attempt uploaded:
            # those are found in storage too (same fingerprint = same inputs and settings).
            resumed = {**self._stored_segments(prefix), **from_heartbeat}
            done = self._fetch_segments(resumed, work)
            segment_keys.clear()
            segment_keys.update({str(i): resumed[i] for i in done})
            stats = render_production(
                plan,
                voice,
                words,
                work / "video.mp4",
                work,
                self.settings,
                music=music,
                caption_style=niche.caption_style if niche else None,
                done_segments=done,
                on_segment=lambda i, p, c, t: upload(i, p, c, t, beat),
                resolve=self.storage.fetch,
                music_volume_db=niche.music_volume_db if niche else -18.0,
                cancel=cancel,
            )
            self.storage.put_file(req.output_key, work / "video.mp4", "video/mp4")
            return plan, stats

        t0 = time.monotonic()
        plan, stats = await run_with_heartbeat(work_fn, {"segments": dict(segment_keys), "total": 0})
        log.info(
            "rendered %s: %d/%d segments this attempt, %d frames, %s (%s), %.1f s",
            req.production_id, stats.segments_rendered, stats.segments_total, stats.frames_encoded,
            stats.encoder, stats.encoder_reason, time.monotonic() - t0,
        )  # fmt: skip
        return self._rendered(req.output_key, (plan.width, plan.height), stats, t0)

    @implements(act.RENDER_PREVIEW)
    @permanent_errors
    async def render_preview(self, req: RenderRequest) -> RenderResult:
        """The low-resolution whole cut shown at the b-roll checkpoint (see gpu_activities/preview.py)."""
        from gpu_activities.preview import preview_plan, preview_settings
        from gpu_activities.render import render_production

        work = self.workdir(f"{req.production_id}/preview/{Path(req.output_key).stem}")
        out = work / "preview.mp4"

        def work_fn(cancel: threading.Event, beat: _Beat) -> Any:
            niche = self._niche(req.niche)
            full = RenderPlan.from_json(self.storage.get_text(req.plan_key))
            plan = preview_plan(full)
            words = json.loads(self.storage.get_text(req.words_key)) if req.words_key else []
            voice = self.storage.fetch(req.audio_key)
            music = self._music(req.music_key or plan.music_key, niche)
            stats = render_production(
                plan, voice, words, out, work / "segments", preview_settings(self.settings, plan),
                music=music, caption_style=niche.caption_style if niche else None, resolve=self.storage.fetch,
                music_volume_db=niche.music_volume_db if niche else -18.0, cancel=cancel,
            )  # fmt: skip
            self.storage.put_file(req.output_key, out, "video/mp4")
            return plan, stats

        t0 = time.monotonic()
        plan, stats = await run_with_heartbeat(work_fn)
        result = self._rendered(req.output_key, (plan.width, plan.height), stats, t0)
        shutil.rmtree(work, ignore_errors=True)
        return result

    # ------------------------------------------------------------------ Shorts

    @implements(act.RENDER_SHORT)
    @permanent_errors
    async def render_short(self, req: ShortRequest) -> RenderResult:
        from gpu_activities.shorts import portrait_size, render_short
        from tubeflow.render_plan import ShortRange

        t0 = time.monotonic()
        name = Path(req.output_key).stem
        work = self.workdir(f"{req.production_id}/shorts/{name}")
        out = work / f"{name}.mp4"

        def work_fn(cancel: threading.Event, beat: _Beat) -> Any:
            niche = self._niche(req.niche)
            plan = RenderPlan.from_json(self.storage.get_text(req.plan_key))
            words = json.loads(self.storage.get_text(req.words_key)) if req.words_key else []
            voice = self.storage.fetch(req.audio_key)
            music = self._music(req.music_key or plan.music_key, niche)
            reframe = req.reframe or (niche.shorts_reframe if niche else "blur")
            stats = render_short(
                plan, voice, words, ShortRange(req.start_s, req.end_s), out, work, self.settings,
                reframe=reframe, caption_style=niche.caption_style if niche else None, music=music,
                music_volume_db=niche.music_volume_db if niche else -18.0, resolve=self.storage.fetch,
            )  # fmt: skip
            self.storage.put_file(req.output_key, out, "video/mp4")
            return plan, stats

        plan, stats = await run_with_heartbeat(work_fn)
        return self._rendered(req.output_key, portrait_size(plan.width, plan.height), stats, t0)

    # ------------------------------------------------------------------ fan-out render (one activity per segment)

    def _view(self, job: RenderJob, narration_s: float) -> Any:
        """Blocking: reads the plan and words from storage."""
        from gpu_activities.fanout import view_of

        niche = self._niche(job.niche)
        plan = RenderPlan.from_json(self.storage.get_text(job.plan_key))
        words = json.loads(self.storage.get_text(job.words_key)) if job.words_key else []
        style = niche.caption_style if niche else None
        return view_of(job, plan, words, narration_s, style, niche.shorts_reframe if niche else "blur")

    def _spent(self, t0: float) -> tuple[float, float]:
        used = time.monotonic() - t0
        return round(used, 2), self._cost(used)

    def _rendered(self, key: str, size: tuple[int, int], stats: RenderStats, t0: float) -> RenderResult:
        """What a whole-video render (long-form, preview, Short) reports: its stats, time and cost since t0."""
        seconds, cost = self._spent(t0)
        return RenderResult(
            video_key=key,
            duration_s=stats.duration_s,
            width=size[0],
            height=size[1],
            segments_total=stats.segments_total,
            segments_rendered=stats.segments_rendered,
            encoder=stats.encoder,
            frames_encoded=stats.frames_encoded,
            gpu_seconds=seconds,
            cost_usd=cost,
        )

    @implements(act.RENDER_LAYOUT)
    @permanent_errors
    async def render_layout(self, job: RenderJob) -> RenderLayout:
        """Cut the timeline once for every worker; probe all pictures; list pieces already in storage."""
        from gpu_activities.fanout import check_sources, fingerprint, segment_frames
        from tubeflow.media.probe import probe

        t0 = time.monotonic()

        def work(cancel: threading.Event, beat: _Beat) -> RenderLayout:
            voice = self.storage.fetch(job.audio_key)
            info = probe(voice, label=f"narration {Path(job.audio_key).name}")
            if not info.has_audio:
                raise MediaError(f"narration {Path(job.audio_key).name}: has no audio stream")
            view = self._view(job, info.duration_s)
            check_sources(view, self.storage.fetch)
            prefix = ProductionKeys(job.production_id).render_segments(fingerprint(job, self.settings))
            frames = segment_frames(view, self.settings)
            stored = sorted(i for i in self._stored_segments(prefix) if i < len(frames))
            w, h = view.size
            return RenderLayout(
                prefix=prefix, fps=view.plan.fps, width=w, height=h, frames=view.frames, segment_frames=frames,
                stored=stored, quality=self.settings.video_quality, narration_s=info.duration_s,
            )  # fmt: skip

        lay = await run_with_heartbeat(work)
        lay.gpu_seconds, lay.cost_usd = self._spent(t0)
        return lay

    @implements(act.RENDER_SEGMENT)
    @permanent_errors
    async def render_segment(self, req: SegmentRequest) -> SegmentResult:
        """One segment, unless any worker already stored it under the render's fingerprinted key."""
        from gpu_activities.fanout import render_segment

        t0 = time.monotonic()
        lay, key = req.layout, segment_key(req.layout.prefix, req.index)
        frames = lay.segment_frames[req.index] if 0 <= req.index < len(lay.segment_frames) else 0

        def work(cancel: threading.Event, beat: _Beat) -> SegmentResult:
            if self.storage.exists(key):
                return SegmentResult(req.index, key, frames, rendered=False)
            view = self._view(req.job, lay.narration_s)
            folder = self.workdir(f"{req.job.production_id}/segments/{Path(lay.prefix).name}/{req.index:04d}")
            path, encoder = render_segment(
                view, lay, req.index, self.storage.fetch, folder, self.settings, cancel=cancel
            )  # fmt: skip
            self.storage.put_file(key, path, "video/mp4")
            shutil.rmtree(folder, ignore_errors=True)
            return SegmentResult(req.index, key, frames, rendered=True, encoder=encoder)

        res = await run_with_heartbeat(work)
        res.gpu_seconds, res.cost_usd = self._spent(t0)
        if res.rendered:
            log.info("segment %d of %d: %d frames, %s", req.index + 1, len(lay.segment_frames), frames, res.encoder)
        return res

    @implements(act.RENDER_SOUNDTRACK)
    @permanent_errors
    async def render_soundtrack(self, req: SoundtrackRequest) -> SoundtrackResult:
        """Voice, ducked music and loudness for the whole timeline, once."""
        from gpu_activities.fanout import render_soundtrack

        t0 = time.monotonic()
        key = soundtrack_key(req.layout.prefix)

        def work(cancel: threading.Event, beat: _Beat) -> SoundtrackResult:
            if self.storage.exists(key):
                return SoundtrackResult(key, rendered=False)
            niche = self._niche(req.job.niche)
            view = self._view(req.job, req.layout.narration_s)
            music = self._music(req.job.music_key or view.plan.music_key, niche)
            out = self.workdir(f"{req.job.production_id}/soundtrack/{Path(req.layout.prefix).name}") / "soundtrack.m4a"
            stats = render_soundtrack(
                view, req.layout, self.storage.fetch(req.job.audio_key), out, music=music,
                music_volume_db=niche.music_volume_db if niche else -18.0, cancel=cancel,
            )  # fmt: skip
            self.storage.put_file(key, out, "audio/mp4")
            return SoundtrackResult(key, rendered=True, output_lufs=stats.output_lufs)

        res = await run_with_heartbeat(work)
        res.gpu_seconds, res.cost_usd = self._spent(t0)
        return res

    @implements(act.JOIN_RENDER)
    @permanent_errors
    async def join_render(self, req: JoinRequest) -> RenderResult:
        """Stream-copy the segments in order, mux the soundtrack, store the finished video."""
        from gpu_activities.fanout import join

        t0 = time.monotonic()
        lay = req.layout

        def work(cancel: threading.Event, beat: _Beat) -> None:
            folder = self.workdir(f"{req.job.production_id}/join/{Path(lay.prefix).name}")
            out = folder / Path(req.job.output_key).name
            segments = [self.storage.fetch(k) for k in req.segment_keys]
            join(lay, segments, self.storage.fetch(req.soundtrack_key), out, folder, cancel)
            self.storage.put_file(req.job.output_key, out, "video/mp4")
            shutil.rmtree(folder, ignore_errors=True)

        await run_with_heartbeat(work)
        gpu_seconds, cost = self._spent(t0)
        return RenderResult(
            video_key=req.job.output_key, duration_s=lay.frames / lay.fps, width=lay.width, height=lay.height,
            segments_total=len(lay.segment_frames), segments_rendered=0, gpu_seconds=gpu_seconds, cost_usd=cost,
        )  # fmt: skip

    # ------------------------------------------------------------------ standalone video ops

    def _job_dir(self, output_key: str) -> Path:
        scratch = Path(output_key).parent.as_posix().replace("/", "_") or "root"
        return self.workdir(f"jobs/{scratch}")  # not a storage key: a local scratch folder

    async def _video_op(self, job_output_key: str, run: Callable[[Path, Any], Any]) -> VideoJobResult:
        """Shared by the three video operations: the started report, live progress, timing and cost.

        ``run(out, progress)`` fetches the inputs, runs the operation with ``progress`` as its
        FFmpeg progress callback and uploads the output.  Progress goes out in the heartbeat
        details (``{"progress": {...}}``), which the API reads within a second (the worker's
        heartbeat throttle is 1 s); the one ``started`` signal tells the workflow which worker
        took this attempt (its ``started`` or ``resumed`` event).
        """
        from datetime import UTC, datetime

        from tubeflow.media.ffmpeg import FFmpegProgress

        out = self._job_dir(job_output_key) / Path(job_output_key).name
        worker = self.settings.worker_identity or activity.client().identity
        started_at = datetime.now(UTC).isoformat()
        await _send_progress(ProgressReport(stage="started", fraction=0.0, worker=worker))
        t0 = time.monotonic()

        def work(cancel: threading.Event, beat: _Beat) -> Any:
            def progress(p: FFmpegProgress) -> None:
                beat.update({"progress": {
                    "fraction": round(p.fraction, 4), "out_time_s": round(p.out_time_s, 3), "frames": p.frame,
                    "fps": p.fps, "speed": p.speed, "expected_s": round(p.expected_s, 3), "worker": worker,
                }})  # fmt: skip

            res = run(out, progress)
            self.storage.put_file(job_output_key, out, "video/mp4")
            return res

        res = await run_with_heartbeat(work, {"progress": {"fraction": 0.0, "worker": worker}})
        spent = round(time.monotonic() - t0, 3)
        return VideoJobResult(
            job_output_key, res.duration_s, res.encoder, started_at=started_at, worker=worker,
            gpu_seconds=spent, cost_usd=self._cost(spent),
        )  # fmt: skip

    @implements(act.VIDEO_CAPTION)
    @permanent_errors
    async def video_caption(self, job: CaptionJob) -> VideoJobResult:
        from gpu_activities.video_ops import caption

        def run(out: Path, progress: Any) -> Any:
            video, subs = self.storage.fetch(job.video_key), self.storage.fetch(job.subs_key)
            return caption(video, subs, out, self.settings, progress=progress)

        return await self._video_op(job.output_key, run)

    @implements(act.VIDEO_IMG2VID)
    @permanent_errors
    async def video_img2vid(self, job: Img2VidJob) -> VideoJobResult:
        from gpu_activities.video_ops import img2vid

        s = self.settings

        def run(out: Path, progress: Any) -> Any:
            image = self.storage.fetch(job.image_key)
            w, h, fps = job.width or s.width, job.height or s.height, job.fps or s.fps
            return img2vid(image, job.duration_s, job.zoom, out, w, h, fps, s, progress=progress)

        return await self._video_op(job.output_key, run)

    @implements(act.VIDEO_ADDAUDIO)
    @permanent_errors
    async def video_addaudio(self, job: AddAudioJob) -> VideoJobResult:
        from gpu_activities.video_ops import addaudio

        def run(out: Path, progress: Any) -> Any:
            video, audio = self.storage.fetch(job.video_key), self.storage.fetch(job.audio_key)
            return addaudio(video, audio, out, self.settings, mode=job.mode, fit=job.fit, progress=progress)

        return await self._video_op(job.output_key, run)


GPU_ACTIVITY_NAMES = (
    "transcribe",
    "render_video",
    "render_preview",
    "render_short",
    "video_caption",
    "video_img2vid",
    "video_addaudio",
    "render_layout",
    "render_segment",
    "render_soundtrack",
    "join_render",
)
