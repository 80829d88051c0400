"""GPU activity adapters with Temporal's ActivityEnvironment (real activity code, real FFmpeg),
and VideoJobWorkflow on the test dev server."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from gpu_activities.activities import GPU_ACTIVITY_NAMES, GpuActivities
from gpu_activities.render import layout
from tests.conftest import tiny_settings
from tests.mediagen import color_bars_clip, corrupt_file, still_image, tone_wav
from tests.test_render import NARRATION_S, WORDS, make_plan
from tubeflow.contracts import QUERY_STATUS, RenderRequest, RenderResult, TranscribeRequest
from tubeflow.job_contracts import CaptionJob, Img2VidJob, ShortRequest, VideoJobInput, VideoJobResult, VideoJobStatus
from tubeflow.media.probe import probe
from tubeflow.render_contracts import (
    JoinRequest,
    RenderJob,
    RenderLayout,
    SegmentRequest,
    SegmentResult,
    SoundtrackRequest,
)
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage
from workflows.video_job import VideoJobWorkflow


def _setup(tmp: Path) -> tuple[Settings, LocalStorage, RenderRequest]:
    s = tiny_settings(tmp, force_cpu=True)
    store = LocalStorage(s.resolved_storage_dir())
    src = tmp / "src"
    files = {
        "a": still_image(src / "a.png", seed=1),
        "b": still_image(src / "b.jpg", 640, 480, seed=2),
        "c": still_image(src / "c.png", seed=4),
        "clip": color_bars_clip(src / "clip.mp4", 1.5),
    }
    keys = {name: store.put_file(f"media/{p.name}", p) for name, p in files.items()}
    plan = make_plan({name: Path(k) for name, k in keys.items()})
    store.put_text("productions/p1/plan-v1.json", plan.to_json())
    store.put_file("productions/p1/voice-v1.wav", tone_wav(src / "voice.wav", NARRATION_S))
    store.put_text("productions/p1/words.json", json.dumps(WORDS))
    req = RenderRequest("p1", "productions/p1/plan-v1.json", "productions/p1/voice-v1.wav",
                        "productions/p1/words.json", "", "productions/p1/video.mp4")  # fmt: skip
    return s, store, req


def test_activity_list_matches_names(tmp_path: Path) -> None:
    acts = GpuActivities(tiny_settings(tmp_path), LocalStorage(tmp_path / "st"))
    names = [fn.__temporal_activity_definition.name for fn in acts.all()]  # type: ignore[attr-defined]
    assert tuple(names) == GPU_ACTIVITY_NAMES


async def test_render_video_heartbeats_segments_and_resumes_from_details(tmp_path: Path) -> None:
    s, store, req = _setup(tmp_path)
    acts = GpuActivities(s, store)
    beats: list[dict[str, Any]] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *d: beats.append(d[0])
    first = await env.run(acts.render_video, req)
    total = first.segments_total
    assert total >= 3 and first.segments_rendered == total and store.exists(req.output_key)
    final = beats[-1]
    assert final["total"] == total and sorted(int(i) for i in final["segments"]) == list(range(total))
    assert all(store.exists(k) for k in final["segments"].values())
    # A retry after the worker died half way: the heartbeat details list the first half only,
    # and the worker's local work folder is gone (new machine).
    half = {i: k for i, k in final["segments"].items() if int(i) < total // 2}
    import shutil

    shutil.rmtree(s.home / "work")
    for i, k in final["segments"].items():  # the second half never reached storage
        if i not in half:
            store.delete(k)
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(retry.info, heartbeat_details=[{"segments": half, "total": total}], attempt=2)
    again = await retry.run(acts.render_video, req)
    segs = layout(make_plan({k: Path(k) for k in "abc"} | {"clip": Path("clip")}), NARRATION_S, s).segments
    assert again.segments_rendered == total - len(half)
    assert again.frames_encoded == sum(seg.frames for seg in segs if str(seg.index) not in half)
    info = probe(store.fetch(req.output_key))
    assert info.video_frames == round((NARRATION_S + 0.5) * s.fps) and info.has_audio
    # Heartbeats are throttled, so a killed attempt may have uploaded segments its last heartbeat
    # did not list: those are found in storage and not encoded again.
    shutil.rmtree(s.home / "work")
    third = ActivityEnvironment()
    third.info = dataclasses.replace(third.info, heartbeat_details=[], attempt=3)
    once_more = await third.run(acts.render_video, req)
    assert once_more.segments_rendered == 0 and once_more.frames_encoded == 0
    assert probe(store.fetch(req.output_key)).video_frames == info.video_frames


async def test_corrupt_media_is_non_retryable(tmp_path: Path) -> None:
    s, store, req = _setup(tmp_path)
    store.put_file("media/clip.mp4", corrupt_file(tmp_path / "junk.mp4"))
    with pytest.raises(ApplicationError) as e:
        await ActivityEnvironment().run(GpuActivities(s, store).render_video, req)
    assert e.value.non_retryable and e.value.type == "MediaError" and "clip.mp4" in str(e.value)


async def test_transcribe_falls_back_to_script_when_nothing_is_heard(tmp_path: Path) -> None:
    s, store, _ = _setup(tmp_path)
    script = {
        "hook": "Sky is blue.",
        "sections": [{"heading": "h", "narration": "Air scatters light.", "broll_cues": []}],
    }
    store.put_text("productions/p1/script-v1.json", json.dumps(script))
    res = await ActivityEnvironment().run(
        GpuActivities(s, store).transcribe,
        TranscribeRequest("p1", "productions/p1/voice-v1.wav", "en", "productions/p1/script-v1.json"),
    )
    words = json.loads(store.get_text(res.words_key))
    assert [w["word"] for w in words] == "Sky is blue. Air scatters light.".split() and "script" in res.device
    assert words[-1]["end"] <= NARRATION_S


async def test_render_short_activity(tmp_path: Path) -> None:
    s, store, req = _setup(tmp_path)
    short = ShortRequest("p1", req.plan_key, req.audio_key, req.words_key, "", 1.0, 4.0, "productions/p1/short-1.mp4",
                         reframe="crop")  # fmt: skip
    res = await ActivityEnvironment().run(GpuActivities(s, store).render_short, short)
    info = probe(store.fetch(res.video_key))
    assert (info.width, info.height) == (180, 320) and abs(info.duration_s - 3.5) <= 1 / s.fps


async def test_video_job_workflow(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    s = tiny_settings(tmp_path, force_cpu=True)
    store = LocalStorage(s.resolved_storage_dir())
    img = store.put_file("uploads/pic.png", still_image(tmp_path / "pic.png", seed=5))
    bad = store.put_file("uploads/bad.mp4", corrupt_file(tmp_path / "bad.mp4"))
    store.put_text("uploads/subs.srt", "1\n00:00:00,000 --> 00:00:01,000\nhi\n")
    client = temporal_env.client
    async with Worker(client, task_queue=s.gpu_queue, workflows=[VideoJobWorkflow],
                      activities=GpuActivities(s, store).all()):  # fmt: skip
        job = VideoJobInput(f"job-{uuid.uuid4().hex[:6]}", "img2vid", img2vid=Img2VidJob(img, "jobs/out.mp4", 1.0, 1.2),
                            gpu_queue=s.gpu_queue)  # fmt: skip
        handle = await client.start_workflow(VideoJobWorkflow.run, job, id=job.job_id, task_queue=s.gpu_queue)
        result = await handle.result()
        assert isinstance(result, VideoJobResult) and probe(store.fetch("jobs/out.mp4")).video_frames == s.fps
        status = await handle.query(QUERY_STATUS, result_type=VideoJobStatus)
        got = (status.state, status.progress, status.output_key, status.resume_count)
        assert got == ("completed", 1.0, "jobs/out.mp4", 0)
        assert status.started_at and status.finished_at >= status.started_at
        cap = CaptionJob(bad, "uploads/subs.srt", "jobs/x.mp4")
        bad_job = VideoJobInput(f"job-{uuid.uuid4().hex[:6]}", "caption", caption=cap, gpu_queue=s.gpu_queue)
        h2 = await client.start_workflow(VideoJobWorkflow.run, bad_job, id=bad_job.job_id, task_queue=s.gpu_queue)
        with pytest.raises(WorkflowFailureError):
            await h2.result()
        st2 = await h2.query(QUERY_STATUS, result_type=VideoJobStatus)
        assert st2.state == "failed" and "bad.mp4" in st2.error and st2.resume_count == 0


# ------------------------------------------------------------------------------ fan-out render pieces


async def _fan_out(acts: GpuActivities, job: RenderJob) -> tuple[RenderLayout, list[SegmentResult], RenderResult]:
    """What the workflow does, in order; each piece in its own ActivityEnvironment (a worker of its own)."""
    lay = await ActivityEnvironment().run(acts.render_layout, job)
    segs = [await ActivityEnvironment().run(acts.render_segment, SegmentRequest(job, lay, i))
            for i in reversed(range(len(lay.segment_frames)))]  # fmt: skip
    sound = await ActivityEnvironment().run(acts.render_soundtrack, SoundtrackRequest(job, lay))
    keys = [r.key for r in sorted(segs, key=lambda r: r.index)]
    joined = await ActivityEnvironment().run(acts.join_render, JoinRequest(job, lay, keys, sound.key))
    return lay, segs, joined


async def test_fan_out_pieces_join_into_the_single_activity_render(tmp_path: Path) -> None:
    import numpy as np

    from tests.test_render import _frame

    s, store, req = _setup(tmp_path)
    acts = GpuActivities(s.with_overrides(gpu_slots=1), store)
    # One encode in flight on both sides: the single activity then cuts exactly where the fan-out does
    # (a segment per TUBEFLOW_SEGMENT_SECONDS), so the two must agree frame for frame.
    single = await ActivityEnvironment().run(
        GpuActivities(s.with_overrides(render_parallel=1), store).render_video, req
    )
    job = RenderJob(req.production_id, req.plan_key, req.audio_key, req.words_key, "", "productions/p1/fanout.mp4")
    lay, segs, joined = await _fan_out(acts, job)
    assert lay.stored == [] and len(lay.segment_frames) == single.segments_total >= 3
    assert all(r.rendered for r in segs) and sum(r.frames for r in segs) == lay.frames
    a, b = store.fetch(single.video_key), store.fetch(joined.video_key)
    ia, ib = probe(a), probe(b)
    assert ib.video_frames == ia.video_frames == lay.frames and ib.has_audio
    assert abs(ia.duration_s - ib.duration_s) < 1e-3 and (joined.width, joined.height) == (s.width, s.height)
    # Segments encoded in reverse order, each by a "different worker", give the same pictures.
    for f in (0, lay.segment_frames[0] + 1, lay.frames - 2):
        assert np.abs(_frame(a, f) - _frame(b, f)).mean() < 1.0, f
    # Everything is in storage now: a second layout lists every segment, and a segment activity
    # on any worker (its local files gone) returns the stored piece without encoding.
    import shutil

    shutil.rmtree(s.home / "work")
    again = await ActivityEnvironment().run(acts.render_layout, job)
    assert again.prefix == lay.prefix and again.stored == list(range(len(lay.segment_frames)))
    seg = await ActivityEnvironment().run(acts.render_segment, SegmentRequest(job, again, 1))
    assert not seg.rendered and seg.key == segs[-2].key
    sound = await ActivityEnvironment().run(acts.render_soundtrack, SoundtrackRequest(job, again))
    assert not sound.rendered


async def test_fan_out_short_is_portrait_and_clamped(tmp_path: Path) -> None:
    s, store, req = _setup(tmp_path)
    job = RenderJob(req.production_id, req.plan_key, req.audio_key, req.words_key, "", "productions/p1/short-0.mp4",
                    start_s=1.0, end_s=40.0, reframe="crop")  # fmt: skip
    lay, segs, joined = await _fan_out(GpuActivities(s, store), job)
    info = probe(store.fetch(joined.video_key))
    assert (info.width, info.height) == (180, 320) == (lay.width, lay.height)
    assert abs(info.duration_s - (NARRATION_S - 1.0 + 0.5)) <= 1 / s.fps  # clamped to the narration
    assert len(segs) >= 2 and info.video_frames == lay.frames and info.has_audio


async def test_fan_out_layout_refuses_corrupt_media_before_encoding(tmp_path: Path) -> None:
    s, store, req = _setup(tmp_path)
    store.put_file("media/clip.mp4", corrupt_file(tmp_path / "junk.mp4"))
    job = RenderJob(req.production_id, req.plan_key, req.audio_key, req.words_key, "", req.output_key)
    with pytest.raises(ApplicationError) as e:
        await ActivityEnvironment().run(GpuActivities(s, store).render_layout, job)
    assert e.value.non_retryable and e.value.type == "MediaError" and "clip.mp4" in str(e.value)
