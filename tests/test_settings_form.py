"""The settings form derives from the settings' specs: every setting says who it is for people, and
a new setting gets its input, its limits and its refusals from its declaration alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

import pytest

from api.routes_dashboard import templates
from api.settings_form import settings_form
from niches.config import NicheConfig
from tubeflow import channel_settings
from tubeflow.channel_settings import SPECS, ChannelSettings, SettingsInvalid, Spec, clean_value, field_errors, setting
from tubeflow.settings import Settings

FORM = '{% import "_settings_form.html" as forms %}{{ forms.settings_form(groups, "sky", editable) }}'


def render(groups: object, editable: bool = True) -> str:
    return templates.env.overlay(autoescape=True).from_string(FORM).render(groups=groups, editable=editable)


@pytest.mark.parametrize("name", [f.name for f in fields(ChannelSettings)])
def test_every_setting_has_a_label_and_help_for_people(name: str) -> None:
    f = next(f for f in fields(ChannelSettings) if f.name == name)
    spec = f.metadata.get("spec")
    assert isinstance(spec, Spec), f"{name}: declare it with setting(default, Spec(label, help, kind, group))"
    assert spec.label and spec.label[0].isupper() and "_" not in spec.label, spec.label
    assert len(spec.help) > 20 and spec.help.endswith("."), f"{name}: help is one sentence saying what it changes"
    assert spec.group, name
    if spec.kind in ("choice", "subset"):
        assert spec.choices and all(label for _v, label in spec.choices), name
    if spec.kind in ("number", "whole"):
        assert spec.low is not None and spec.high is not None, f"{name}: a number needs its range"
    if f.default in ("", None) or spec.kind in ("words", "slots"):
        assert spec.empty or spec.env_default, f"{name}: say what an empty value means (Spec.empty)"
    assert "None" not in spec.allowed_text() and "[]" not in spec.allowed_text()


def test_the_form_shows_labels_and_defaults_in_words_never_none_or_brackets() -> None:
    niche = NicheConfig(name="science", title="Science", language="en")
    html = render(settings_form(ChannelSettings(), Settings(), niche))
    for name, spec in SPECS.items():
        assert f'data-setting="{name}"' in html and spec.label in html, name
    assert re.search(r'<select id="set-privacy"', html) and 'type="checkbox" id="set-cadence"' in html
    assert re.search(r'type="number" id="set-priority" name="priority" value="3" min="1" max="5" step="1"', html)
    assert "default: the niche&#39;s (en)" in html and "Default: 24 hours (TUBEFLOW_REVIEW_REMINDER_HOURS)." in html
    shown = re.sub(r"<[^>]*>", " ", html)  # what a person reads (the script's data-initial is JSON)
    assert "None" not in shown and "[]" not in shown and 'value="None"' not in html and 'placeholder="None"' not in html
    viewer = render(settings_form(ChannelSettings(), Settings(), niche), editable=False)
    assert "<input" not in viewer and "<select" not in viewer
    assert "None" not in re.sub(r"<[^>]*>", " ", viewer) and "[]" not in re.sub(r"<[^>]*>", " ", viewer)


@dataclass(frozen=True)
class WithNewSettings(ChannelSettings):
    """What another engineer adds later: declarations only."""

    caption_style: str = setting(
        "bold",
        Spec("Caption style", "How the captions look on screen.", "choice", "Captions",
             choices=(("bold", "Bold"), ("boxed", "Boxed"))),
    )  # fmt: skip
    words_per_minute: float = setting(
        150.0, Spec("Pacing", "How fast the narration speaks.", "number", "Voice", low=100, high=220, unit="words/min")
    )
    loudness_check: bool = setting(True, Spec("Check loudness", "Refuse a render that is too loud.", "flag", "Quality"))
    voice_chain: list[str] = setting(
        [], Spec("Voice chain", "Voices tried in order.", "words", "Voice", empty="the niche's voice")
    )


def test_a_new_setting_gets_its_input_and_its_checks_from_its_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    specs = {f.name: f.metadata["spec"] for f in fields(WithNewSettings)}
    monkeypatch.setattr(channel_settings, "SPECS", specs)
    html = render(settings_form(WithNewSettings(), Settings(), None))
    assert '<select id="set-caption_style"' in html and ">Boxed<" in html
    assert re.search(
        r'type="number" id="set-words_per_minute" name="words_per_minute" value="150" min="100" max="220"', html
    )
    assert 'type="checkbox" id="set-loudness_check"' in html and "checked" in html
    assert 'class="tags" data-for="set-voice_chain"' in html and "default: the niche&#39;s voice" in html
    assert "<legend>Captions</legend>" in html
    assert clean_value("words_per_minute", "180") == 180.0
    with pytest.raises(SettingsInvalid, match=r"words_per_minute=300.*a number of words/min 100\.\.220") as e:
        clean_value("words_per_minute", 300)
    assert e.value.field == "words_per_minute"
    assert field_errors({"caption_style": "shiny", "loudness_check": "maybe", "voice_chain": ["a"]}).keys() == {
        "caption_style",
        "loudness_check",
    }
