"""Channel settings: every bad value names the field and what is allowed; slots land on the right instants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.cadence import start_times
from tubeflow.channel_settings import (
    FIELD_NAMES,
    SettingsInvalid,
    next_free_slot,
    parse_assignments,
    parse_settings,
    slot_times,
    updated,
)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("privacy", "secret", "private, unlisted, public"),
        ("timezone", "Mars/Olympus", "IANA time zone"),
        ("publish_slots", "someday 17:00", "mon,wed,fri 17:00"),
        ("publish_slots", "mon 25:00", "days HH:MM"),
        ("category", "99", "27 (Education)"),
        ("priority", "0", "1 (highest) .. 5"),
        ("priority", "2.5", "1 (highest) .. 5"),
        ("made_for_kids", "maybe", "true or false"),
        ("required_checkpoints", "script,vibes", "script, audio, broll, final"),
        ("language", "english", "ISO 639"),
        ("playlist", "x", "playlist id"),
        ("default_tags", "a" * 600, "500 characters"),
        ("shorts_spacing_hours", "-1", "0..168"),
        ("shorts_layout", "zoom", "native, blur, crop"),
        ("caption_style", "neon", "karaoke, word-pop, boxed, classic"),
        ("caption_position", "left", "top, middle, bottom"),
        ("shorts_loop", "often", "true or false"),
    ],
)
def test_bad_values_name_the_field_and_the_allowed_values(key: str, value: str, allowed: str) -> None:
    with pytest.raises(SettingsInvalid) as err:
        updated({}, {key: value})
    assert f"{key}={value!r}" in str(err.value) and allowed in str(err.value)


def test_unknown_setting_lists_the_settings() -> None:
    with pytest.raises(SettingsInvalid, match="unknown channel setting 'categry'") as err:
        updated({}, {"categry": "27"})
    assert all(name in str(err.value) for name in FIELD_NAMES)
    with pytest.raises(SettingsInvalid, match="key=value"):
        parse_assignments(["privacy"])


def test_values_from_the_command_line_become_typed_settings() -> None:
    stored = updated(
        {},
        parse_assignments(
            [
                "publish_slots=Mon,Wed,Fri 17:00; sat 9:30",
                "privacy=public",
                "made_for_kids=no",
                "default_tags=space, sky",
                "required_checkpoints=final,script",
                "priority=1",
                "shorts_spacing_hours=6",
            ]
        ),
    )
    cs = parse_settings(stored)
    assert cs.publish_slots == ["mon,wed,fri 17:00", "sat 09:30"]
    assert (cs.privacy, cs.made_for_kids, cs.priority, cs.shorts_spacing_hours) == ("public", False, 1, 6.0)
    assert cs.default_tags == ["space", "sky"] and cs.required_checkpoints == ["script", "final"]
    assert cs.synthetic_disclosure is True  # the disclosure is on unless turned off
    # Resetting a field returns it to the default (the niche decides again).
    assert parse_settings(updated(stored, {"required_checkpoints": "niche"})).required_checkpoints is None
    assert "privacy" not in updated(stored, {"privacy": None, "publish_slots": None})
    # One bad value refuses the whole change: nothing half-applied.
    with pytest.raises(SettingsInvalid):
        updated(stored, {"privacy": "private", "priority": "9"})


def test_slots_follow_the_channel_time_zone_across_daylight_saving() -> None:
    cs = parse_settings({"publish_slots": "mon-fri 17:00", "timezone": "America/New_York"})
    # 2026-03-06 is a Friday (EST, UTC-5); DST starts Sunday 2026-03-08 (EDT, UTC-4).
    got = slot_times(cs, datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))
    assert got == [datetime(2026, 3, 6, 22, tzinfo=UTC), datetime(2026, 3, 9, 21, tzinfo=UTC)]


def test_next_free_slot_skips_taken_ones() -> None:
    cs = parse_settings({"publish_slots": "mon,wed,fri 17:00", "timezone": "Europe/Lisbon"})
    now = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Monday, after the 17:00 slot
    wed, fri = datetime(2026, 12, 2, 17, tzinfo=UTC), datetime(2026, 12, 4, 17, tzinfo=UTC)
    assert next_free_slot(cs, now, set()) == wed
    assert next_free_slot(cs, now, {wed}) == fri
    assert next_free_slot(parse_settings({}), now, set()) is None  # no slots: publish at once


def test_cadence_starts_lead_time_before_each_slot() -> None:
    cs = parse_settings({"publish_slots": "mon,wed 17:00", "lead_time_hours": "50"})
    specs = start_times(cs)
    # Monday 17:00 - 50 h = Saturday 15:00; Wednesday 17:00 - 50 h = Monday 15:00.  Temporal: 0 = Sunday.
    got = sorted((s.day_of_week[0].start, s.hour[0].start, s.minute[0].start) for s in specs)
    assert got == [(1, 15, 0), (6, 15, 0)]


def test_shorts_layout_and_captions_are_laid_over_the_niche() -> None:
    from niches.channel_profile import effective_niche
    from niches.config import CaptionStyle, NicheConfig

    niche = NicheConfig("n", "N", caption_style=CaptionStyle(font_size=70, position="middle"), shorts_reframe="crop")
    assert effective_niche(niche, parse_settings({})) is niche  # nothing set: the niche decides
    cs = parse_settings(updated({}, {"shorts_layout": "native", "caption_style": "word-pop", "shorts_loop": "yes"}))
    eff = effective_niche(niche, cs)
    assert eff.shorts_reframe == "native" and cs.shorts_loop is True
    style = eff.caption_style
    assert (style.kind, style.position, style.font_size) == ("word-pop", "middle", 70)
    top = effective_niche(niche, parse_settings({"caption_position": "top"}))
    assert (top.caption_style.kind, top.caption_style.position) == ("karaoke", "top")
