"""Niche files: the bundled ones load, mistakes fail with file + field + what is allowed, the router isolates."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest

from niches.config import list_niches, load_niche
from niches.notes import read_notes
from niches.router import NicheRouter
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.settings import Settings

SETTINGS = Settings()


def test_bundled_niches_load_with_notes() -> None:
    assert {"science", "history", "financas"} <= set(list_niches(SETTINGS))
    fin = load_niche("financas", SETTINGS)
    assert fin.language == "pt" and fin.caption_style.uppercase and fin.auto_approve == ["broll"]
    assert load_niche("history", SETTINGS).auto_approve == ["audio", "broll"]
    for name in ("science", "history", "financas"):
        notes = read_notes(load_niche(name, SETTINGS).notes_dir)
        assert len(notes) >= 3
        for note in notes:
            assert len(note.facts) >= 5 and all(f.source.startswith("https://") for f in note.facts)
            # enough for a ~45-60 s script at ~150 words per minute
            assert sum(len(f.claim.split()) for f in note.facts) >= 100


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("language: english\n", "bad.yaml.language: 'english'; use an ISO 639 code"),
        ("target_minutes: 0\n", "bad.yaml.target_minutes: 0.0 is out of range; allowed 0.25..60"),
        ("target_minutes: lots\n", "bad.yaml.target_minutes: expected float, got 'lots'"),
        ("shorts_count: true\n", "bad.yaml.shorts_count: expected a number, got True"),
        ("voices: x\n", "bad.yaml: unknown field(s) ['voices']; allowed: ["),
        ("required_checkpoints: [script, thumbnail]\n", "unknown checkpoint(s) ['thumbnail']; use ['script', 'audio'"),
        ("broll_sources: [library, youtube]\n", "bad.yaml.broll_sources: 'youtube' is not allowed; use one of"),
        ("broll_keywords: space\n", "bad.yaml.broll_keywords: expected a list of non-empty strings"),
        ("palette: ['#12345']\n", "bad.yaml.palette[0]: '#12345' is not a colour; use #RRGGBB"),
        ("caption_style:\n  position: side\n", "bad.yaml.caption_style.position: 'side' is not allowed"),
        ("caption_style:\n  kind: neon\n", "bad.yaml.caption_style.kind: 'neon' is not allowed"),
        ("caption_style:\n  size: 3\n", "bad.yaml.caption_style: unknown field(s) ['size']"),
        ("caption_style: big\n", "bad.yaml.caption_style: expected a mapping"),
        ("shorts_reframe: zoom\n", "bad.yaml.shorts_reframe: 'zoom' is not allowed; use one of ['native', 'blur'"),
        ("prompt_fragments: [a]\n", "bad.yaml.prompt_fragments: expected a mapping of name: text"),
        ("music: missing.mp3\n", "bad.yaml.music:"),
        ("name: other\n", "bad.yaml.name: 'other' must match the file name 'bad'"),
        ("folder: /etc\n", "bad.yaml.folder: set automatically"),
        ("- a\n- b\n", "bad.yaml: expected a mapping of niche settings"),
        ("title: [unclosed\n", "bad.yaml: not valid YAML"),
    ],
)
def test_mistakes_name_file_field_and_allowed_values(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "bad.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_niche("bad", SETTINGS.with_overrides(niches_dir=str(tmp_path)))
    assert message in str(caught.value)


def test_unknown_niche_lists_the_available_ones(tmp_path: Path) -> None:
    (tmp_path / "cooking.yaml").write_text("title: Cooking\n", encoding="utf-8")
    settings = SETTINGS.with_overrides(niches_dir=str(tmp_path))
    assert load_niche("cooking", settings).folder == str(tmp_path / "cooking")
    with pytest.raises(ConfigError, match="unknown niche 'baking'; available: cooking"):
        load_niche("baking", settings)
    with pytest.raises(ConfigError, match="invalid niche name"):
        load_niche("../science", settings)


def test_notes_without_a_source_are_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("title: Bad\n", encoding="utf-8")
    notes = tmp_path / "bad" / "notes"
    notes.mkdir(parents=True)
    (notes / "t.md").write_text("# T\n- A claim with nowhere to check it.\n", encoding="utf-8")
    comp = NicheRouter(SETTINGS.with_overrides(niches_dir=str(tmp_path))).for_niche("bad")
    with pytest.raises(ConfigError, match=r"t.md:2: fact without a source"):
        comp.notes()


async def test_router_maps_channel_to_its_own_niche_components() -> None:
    channels = {"skyline": "science", "grana": "financas"}

    async def lookup(_db: object, channel: str) -> str:
        return channels[channel]

    router = NicheRouter(SETTINGS, lookup)
    no_db = cast(Database, None)  # the lookup above never touches the database
    sky = await router.for_channel(no_db, "skyline")
    grana = await router.for_channel(no_db, "grana", expected_niche="financas")
    assert sky.knowledge.niche == "science" and grana.knowledge.niche == "financas"
    assert grana.knowledge.language == "pt" and sky.knowledge.channel == "skyline"
    assert sky.notes_dir != grana.notes_dir and sky.media_dir != grana.media_dir
    assert sky.owns(sky.media_dir / "clip.mp4") and not sky.owns(grana.media_dir / "clip.mp4")
    assert not sky.owns(sky.media_dir / ".." / ".." / "financas" / "media" / "clip.mp4")
    with pytest.raises(PermanentError, match="belongs to niche 'science', not 'history'"):
        await router.for_channel(no_db, "skyline", expected_niche="history")


async def test_router_reads_the_channels_table(tmp_path: Path) -> None:
    from tubeflow.db import repo
    from tubeflow.db.engine import open_database

    db = await open_database(SETTINGS.with_overrides(home=tmp_path))
    try:
        await repo.create_channel(db, "pastpresent", "history")
        comp = await NicheRouter(SETTINGS).for_channel(db, "pastpresent")
        assert comp.niche.name == "history" and comp.knowledge.channel == "pastpresent"
        with pytest.raises(PermanentError, match="unknown channel"):
            await NicheRouter(SETTINGS).for_channel(db, "nobody")
    finally:
        await db.close()
