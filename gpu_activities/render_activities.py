"""Rendering the long-form video: the single activity (``render_video``, kept for productions
started before the fan-out) and the fan-out (layout, one activity per segment, soundtrack, join;
see gpu_activities.fanout)."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from temporalio import activity

from gpu_activities.adapter_base import Beat, GpuAdapter, log, run_with_heartbeat
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import (
    ProgressReport,
    RenderRequest,
    RenderResult,
)
from tubeflow.errors import MediaError
from tubeflow.keys import ProductionKeys, segment_key, soundtrack_key, text_layout_key
from tubeflow.render_contracts import (
    JoinRequest,
    RenderJob,
    RenderLayout,
    SegmentRequest,
    SegmentResult,
    SoundtrackRequest,
    SoundtrackResult,
)
from tubeflow.render_plan import RenderPlan
from tubeflow.storage import StorageError


class RenderActivities(GpuAdapter):
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

    def _render_fingerprint(self, req: RenderRequest) -> str:
        s = self.settings
        parts = [req.plan_key, req.audio_key, req.words_key, req.music_key, req.caption_style]
        parts += [str(v) for v in (s.width, s.height, s.fps, s.segment_seconds, s.video_quality, s.force_cpu)]
        if s.render_parallel > 1:  # cuts at segment_seconds / render_parallel: a different set of pieces
            parts.append(f"parallel={s.render_parallel}")
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]

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

        def upload(i: int, path: Path, count: int, total: int, beat: Beat) -> None:
            key = self.storage.put_file(keys.render_segment(fp, i), path, "video/mp4")
            with lock:
                segment_keys[str(i)] = key
                listed = dict(segment_keys)
            beat.update(
                {"segments": listed, "total": total},
                ProgressReport(stage="render", fraction=count / total, detail=f"segment {count} of {total}"),
            )

        def work_fn(cancel: threading.Event, beat: Beat) -> Any:
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
                caption_style=self._caption_style(plan, niche),
                done_segments=done,
                on_segment=lambda i, p, c, t: upload(i, p, c, t, beat),
                resolve=self.storage.fetch,
                music_volume_db=niche.music_volume_db if niche else -18.0,
                cancel=cancel,
            )
            self.storage.put_file(req.output_key, work / "video.mp4", "video/mp4")
            self._store_text_layout(req.output_key, stats)
            return plan, stats

        t0 = time.monotonic()
        plan, stats = await run_with_heartbeat(work_fn, {"segments": dict(segment_keys), "total": 0})
        log.info(
            "rendered %s: %d/%d segments this attempt, %d frames, %s (%s), %.1f s",
            req.production_id, stats.segments_rendered, stats.segments_total, stats.frames_encoded,
            stats.encoder, stats.encoder_reason, time.monotonic() - t0,
        )  # fmt: skip
        return self._rendered(req.output_key, (plan.width, plan.height), stats, t0)

    # ------------------------------------------------------------------ fan-out render (one activity per segment)

    def _view(self, job: RenderJob, narration_s: float) -> Any:
        """Blocking: reads the plan and words from storage."""
        from gpu_activities.fanout import view_of

        niche = self._niche(job.niche)
        plan = RenderPlan.from_json(self.storage.get_text(job.plan_key))
        words = json.loads(self.storage.get_text(job.words_key)) if job.words_key else []
        style = self._caption_style(plan, niche)
        return view_of(job, plan, words, narration_s, style, niche.shorts_reframe if niche else "native")

    @implements(act.RENDER_LAYOUT)
    @permanent_errors
    async def render_layout(self, job: RenderJob) -> RenderLayout:
        """Cut the timeline once for every worker; probe all pictures; list pieces already in storage."""
        from gpu_activities.fanout import check_sources, fingerprint, segment_frames, text_layout_file
        from tubeflow.media.probe import probe

        t0 = time.monotonic()

        def work(cancel: threading.Event, beat: Beat) -> RenderLayout:
            voice = self.storage.fetch(job.audio_key)
            info = probe(voice, label=f"narration {Path(job.audio_key).name}")
            if not info.has_audio:
                raise MediaError(f"narration {Path(job.audio_key).name}: has no audio stream")
            view = self._view(job, info.duration_s)
            check_sources(view, self.storage.fetch)
            # Where the render will draw text and captions: stored now, beside the video to be.
            folder = self.workdir(f"{job.production_id}/layout/{Path(job.output_key).stem}")
            self.storage.put_file(text_layout_key(job.output_key), text_layout_file(view, folder, self.settings),
                                  "application/json")  # fmt: skip
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

        def work(cancel: threading.Event, beat: Beat) -> SegmentResult:
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

        def work(cancel: threading.Event, beat: Beat) -> SoundtrackResult:
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

        def work(cancel: threading.Event, beat: Beat) -> None:
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
            text_layout_key=text_layout_key(req.job.output_key),
        )  # fmt: skip
