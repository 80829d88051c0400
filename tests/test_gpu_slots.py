"""How many GPU activities one worker takes at once: one per NVENC card, RENDER_PARALLEL on the CPU."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import tiny_settings
from tubeflow.media.encoders import gpu_slots, select_encoder


def test_cpu_encoding_takes_render_parallel_segments_at_once(tmp_path: Path) -> None:
    slots, why = gpu_slots(tiny_settings(tmp_path, force_cpu=True, render_parallel=3))
    assert slots == 3 and "CPU" in why and "TUBEFLOW_FORCE_CPU" in why


def test_the_probe_decides_unless_the_setting_says(tmp_path: Path) -> None:
    s = tiny_settings(tmp_path, force_cpu=False)
    choice = select_encoder(s)  # the real NVENC probe: fails here (no GPU), succeeds on an NVENC card
    slots, why = gpu_slots(s)
    assert (slots, choice.reason in why) == ((1 if choice.cuda else s.render_parallel), True)
    assert gpu_slots(tiny_settings(tmp_path, gpu_slots=5)) == (5, "TUBEFLOW_GPU_SLOTS")
