"""How many GPU activities one worker takes at once: one per NVENC card, RENDER_PARALLEL on the CPU."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import tiny_settings
from tubeflow.media import encoders
from tubeflow.media.encoders import NvencProbe, gpu_slots, nvenc_probed_by, select_encoder
from tubeflow.render_contracts import RenderJob


def test_cpu_encoding_takes_render_parallel_segments_at_once(tmp_path: Path) -> None:
    slots, why = gpu_slots(tiny_settings(tmp_path, force_cpu=True, render_parallel=3))
    assert slots == 3 and "CPU" in why and "TUBEFLOW_FORCE_CPU" in why


def test_the_probe_decides_unless_the_setting_says(tmp_path: Path) -> None:
    s = tiny_settings(tmp_path, force_cpu=False)
    choice = select_encoder(s)  # the real NVENC probe: fails here (no GPU), succeeds on an NVENC card
    slots, why = gpu_slots(s)
    assert (slots, choice.reason in why) == ((1 if choice.cuda else s.render_parallel), True)
    assert gpu_slots(tiny_settings(tmp_path, gpu_slots=5)) == (5, "TUBEFLOW_GPU_SLOTS")


def test_a_worker_with_working_nvenc_takes_one_encode_at_a_time(tmp_path: Path) -> None:
    """The NVENC branch (a fake card answers the probe): one slot, whole segments, the keys it always had."""
    from autoscaler.controller import policy_from_settings
    from gpu_activities.fanout import fingerprint

    card = NvencProbe(True, "fake card: test encode succeeded")
    job = RenderJob("p", "plan.json", "voice.wav", "words.json", "science", "video.mp4")
    cpu_four = tiny_settings(tmp_path, force_cpu=True, render_parallel=4)
    with nvenc_probed_by(lambda: card):
        four = tiny_settings(tmp_path, render_parallel=4)
        assert select_encoder(four).cuda
        assert gpu_slots(four) == (1, "NVENC encodes: one at a time (fake card: test encode succeeded)")
        assert gpu_slots(tiny_settings(tmp_path, gpu_slots=3)) == (3, "TUBEFLOW_GPU_SLOTS")  # the setting wins
        assert gpu_slots(cpu_four)[0] == 4  # forced onto the CPU: RENDER_PARALLEL at once, NVENC or not
        assert policy_from_settings(four, "local").tasks_per_worker == 1, "a local NVENC worker takes one"
        # One slot cuts no shorter segments: the fingerprint (the segments' storage folder) is the one
        # a single-activity render always had, whatever RENDER_PARALLEL says; on the CPU it differs.
        one = tiny_settings(tmp_path, render_parallel=1)
        assert fingerprint(job, four) == fingerprint(job, one)
        assert fingerprint(job, cpu_four) != fingerprint(
            job, tiny_settings(tmp_path, force_cpu=True, render_parallel=1)
        )
    assert encoders.nvenc_status() != card  # this machine's own answer is back
