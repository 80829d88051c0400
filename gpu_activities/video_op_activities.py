"""The standalone video operations behind the video job API (caption, img2vid, addaudio)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio import activity

from gpu_activities.adapter_base import Beat, GpuAdapter, run_with_heartbeat, send_progress
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.contracts import ProgressReport
from tubeflow.job_contracts import AddAudioJob, CaptionJob, Img2VidJob, VideoJobResult


class VideoOpActivities(GpuAdapter):
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
        await send_progress(ProgressReport(stage="started", fraction=0.0, worker=worker))
        t0 = time.monotonic()

        def work(cancel: threading.Event, beat: Beat) -> Any:
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
