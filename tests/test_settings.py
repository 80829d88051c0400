"""Every TUBEFLOW_* value is checked when a process starts: a typo stops it at once, in one line.

Before, ``TUBEFLOW_TTS=pipr`` was accepted and failed when a production reached the voice stage,
and ``TUBEFLOW_API_PORT=88a1`` ended in a long traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from tubeflow.settings import PREFIX, Settings, SettingsError, _field_types, describe


def refused(env: dict[str, str]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    return caught.value


def test_a_bad_choice_names_the_variable_the_value_and_the_options() -> None:
    e = refused({"TUBEFLOW_TTS": "pipr"})
    assert str(e) == "TUBEFLOW_TTS='pipr': choose one of piper, espeak, azure"
    e = refused({"TUBEFLOW_VIDEO_QUALITY": "balancd"})
    assert str(e) == "TUBEFLOW_VIDEO_QUALITY='balancd': choose one of fast, balanced, quality"


def test_a_choice_ignores_case_and_spaces_and_keeps_the_canonical_spelling() -> None:
    s = Settings.from_env({"TUBEFLOW_TTS": " Azure ", "TUBEFLOW_LOG_LEVEL": "warning", "TUBEFLOW_STORAGE": "S3"})
    assert (s.tts, s.log_level, s.storage) == ("azure", "WARNING", "s3")


def test_a_bad_int_names_the_kind() -> None:
    e = refused({"TUBEFLOW_API_PORT": "88a1"})
    assert str(e) == "TUBEFLOW_API_PORT='88a1': expected a whole number"
    assert "TUBEFLOW_FPS='29.97'" in str(refused({"TUBEFLOW_FPS": "29.97"}))


def test_a_bad_float_names_the_kind() -> None:
    e = refused({"TUBEFLOW_SEGMENT_SECONDS": "ten"})
    assert str(e) == "TUBEFLOW_SEGMENT_SECONDS='ten': expected a number"
    assert "expected a number" in str(refused({"TUBEFLOW_API_RATE_PER_S": "nan"}))
    assert Settings.from_env({"TUBEFLOW_SEGMENT_SECONDS": "7"}).segment_seconds == 7.0


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off ", False),
    ],
)
def test_a_bool_takes_the_usual_spellings(raw: str, value: bool) -> None:
    assert Settings.from_env({"TUBEFLOW_FORCE_CPU": raw}).force_cpu is value


def test_a_bad_bool_is_refused_not_read_as_false() -> None:
    e = refused({"TUBEFLOW_AUTOSCALER_SPOT": "maybe"})
    assert str(e) == "TUBEFLOW_AUTOSCALER_SPOT='maybe': expected a boolean: 1/0, true/false, yes/no or on/off"


def test_every_mistake_is_reported_at_once() -> None:
    e = refused({"TUBEFLOW_TTS": "pipr", "TUBEFLOW_API_PORT": "88a1", "TUBEFLOW_FORCE_CPU": "ja"})
    assert [p.split("=")[0] for p in e.problems] == ["TUBEFLOW_API_PORT", "TUBEFLOW_TTS", "TUBEFLOW_FORCE_CPU"]
    assert "\n" not in str(e)


def test_every_default_passes_its_own_check() -> None:
    """The defaults, written back as variables (what the local provider hands its workers), read back equal."""
    defaults = Settings()
    env = {PREFIX + f.name.upper(): str(getattr(defaults, f.name)) for f in fields(Settings)}
    assert Settings.from_env(env) == defaults
    for name, kind in _field_types().items():
        if get_origin(kind) is Literal:
            assert getattr(defaults, name) in get_args(kind), name
    assert len(describe()) == len(fields(Settings))


def _tubeflow() -> list[str]:
    """The installed `tubeflow` script next to this interpreter (``python -m cli`` where none is installed)."""
    script = Path(sys.executable).parent / "tubeflow"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli"]


@pytest.mark.parametrize(
    ("variable", "value", "args", "allowed"),
    [
        ("TUBEFLOW_API_PORT", "88a1", ["api"], "expected a whole number"),
        ("TUBEFLOW_TTS", "pipr", ["channel", "list"], "choose one of piper, espeak, azure"),
        ("TUBEFLOW_VIDEO_QUALITY", "balancd", ["status"], "choose one of fast, balanced, quality"),
    ],
)
def test_the_tubeflow_command_stops_with_one_line_and_exit_code_2(
    tmp_path: Path, variable: str, value: str, args: list[str], allowed: str
) -> None:
    repo = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "TUBEFLOW_HOME": str(tmp_path), variable: value, "COLUMNS": "60"}
    env["PYTHONPATH"] = os.pathsep.join([repo, *filter(None, [os.environ.get("PYTHONPATH")])])
    r = subprocess.run([*_tubeflow(), *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines() == [f"error: {variable}={value!r}: {allowed}"]  # COLUMNS=60 does not wrap it
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert not (tmp_path / "tubeflow.db").exists(), "nothing started"
