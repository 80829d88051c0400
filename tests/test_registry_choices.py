"""The validated choice settings and the adapter registries name the same engines.

Why: ``tubeflow/settings.py`` refuses an unknown ``TUBEFLOW_TTS``/``TUBEFLOW_BROLL``/``TUBEFLOW_PUBLISHER``
when the process starts, but the core cannot import the registries that hold the engines (they live
a floor up).  A new engine is a module, a registry line and its name in the setting's ``Literal``:
this test fails when one of the three is forgotten, instead of a production failing hours later.
"""

from __future__ import annotations

from typing import get_args

from activities.publishers import PLATFORMS
from activities.stock_sources import STOCK_SOURCES
from activities.tts_engines import ENGINES
from tubeflow.settings import BrollSource, PublisherKind, TtsEngine


def test_every_tts_engine_is_a_setting_choice_and_back() -> None:
    assert set(get_args(TtsEngine)) == set(ENGINES)


def test_every_publishing_platform_is_a_setting_choice_and_back() -> None:
    assert set(get_args(PublisherKind)) == set(PLATFORMS)


def test_every_stock_source_is_a_broll_choice_and_back() -> None:
    stock_names = {name for source in STOCK_SOURCES for name in source.names()}
    assert set(get_args(BrollSource)) == {"library"} | stock_names
