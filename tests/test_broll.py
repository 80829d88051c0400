"""B-roll planning on real files: a temp library (with a corrupt file), generated stills, swaps,
redo after feedback, and the stock source against a local Pexels-speaking server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from activities import broll
from activities.broll import LibrarySource, Query, apply_swaps, build_plan, tokens
from activities.stills import draw_still, seed_for
from niches.config import NicheConfig

try:  # tests/ as a package (pythonpath or __init__) or as the rootdir-inserted folder
    from tests.fake_stock import FakeStock, tiny_mp4
except ImportError:  # pragma: no cover
    from fake_stock import FakeStock, tiny_mp4  # type: ignore[no-redef,import-not-found]
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.media.probe import probe
from tubeflow.render_plan import NarrationTiming, PartTiming, RenderPlan, shot_count, shot_target
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

SCRIPT: dict[str, Any] = {
    "title": "Why the sky is blue",
    "hook": "Look up. Why blue?",
    "sections": [
        {"heading": "Sunlight", "narration": "Sunlight holds every colour.", "broll_cues": ["sunlight through clouds"]},
        {
            "heading": "Scattering",
            "narration": "Air molecules scatter blue light most.",
            "broll_cues": ["air molecules", "prism splitting light"],
            "short_candidate": True,
        },
    ],
    "description": "d",
    "tags": ["sky"],
}


def timing() -> NarrationTiming:
    return NarrationTiming(
        duration_s=21.0,
        sample_rate=22050,
        parts=[
            PartTiming(0, "hook", 0.0, 3.0, "Look up. Why blue?", None),
            PartTiming(1, "section", 3.35, 9.0, "Sunlight holds every colour.", 0),
            PartTiming(2, "section", 9.35, 21.0, "Air molecules scatter blue light most.", 1),
        ],
    )


def niche(folder: Path, **kw: object) -> NicheConfig:
    (folder / "media").mkdir(parents=True, exist_ok=True)
    base: dict[str, object] = {"name": "test", "title": "Test", "folder": str(folder), "broll_keywords": ["sky"]}
    base.update(kw)
    return NicheConfig(**base)  # type: ignore[arg-type]


def picture(path: Path, colour: tuple[int, int, int] = (40, 90, 160)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 180), colour).save(path)
    return path


@pytest.fixture
def library(tmp_path: Path) -> NicheConfig:
    n = niche(tmp_path / "niche")
    media = n.media_dir
    picture(media / "sunlight-clouds.jpg")
    picture(media / "blue-sky.png", (90, 150, 230))
    tiny_mp4(media / "clips" / "air-molecules.mp4")
    (media / "prism-light.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated jpeg, not an image")
    (media / "empty-sky.mp4").write_bytes(b"")
    (media / "notes.txt").write_text("not media, ignored")
    return n


def test_tokens_stem_and_drop_noise() -> None:
    assert tokens("Black_holes-2.jpg") == {"black", "hole", "jpg"}
    assert tokens("images of the sky") == {"sky"}


def test_corrupt_library_files_are_skipped_with_named_warnings(settings: Settings, library: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    plan, warnings = build_plan(settings, storage, library, SCRIPT, timing(), "p1", 1, [])

    assert any("prism-light.jpg" in w and "skipped" in w for w in warnings)
    assert any("empty-sky.mp4" in w and "empty" in w for w in warnings)
    assert plan.warnings == warnings
    assert not any("notes.txt" in w for w in warnings)
    keys = [m.key for p in plan.parts for m in p.items + p.candidates]
    assert not any("prism" in k or "empty-sky" in k for k in keys)


def test_plan_tiles_the_narration_and_uploads_everything(settings: Settings, library: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    plan, _ = build_plan(settings, storage, library, SCRIPT, timing(), "p1", 1, [])

    assert (plan.width, plan.height, plan.fps) == (320, 180, 15)
    assert plan.duration_s == 21.0
    assert [p.index for p in plan.parts] == [0, 1, 2]
    assert plan.parts[0].start == 0.0 and plan.parts[-1].end == 21.0
    for a, b in zip(plan.parts, plan.parts[1:], strict=False):
        assert a.end == b.start  # no gap where the screen would be empty
    assert plan.max_shot_s == 3.5  # the default pace: enough pictures that none stays longer
    for p in plan.parts:
        assert len(p.items) == shot_count(p.end - p.start, plan.max_shot_s) and 2 <= len(p.candidates) <= 3
        assert p.items[0].start == p.start and p.items[-1].end == p.end
        for m in p.items:
            assert 1.0 <= m.end - m.start <= shot_target(plan.max_shot_s) + 1e-3
        for m in p.items + p.candidates:
            assert m.key.startswith("productions/p1/broll/")
            info = probe(storage.fetch(m.key))  # every key is a readable picture in storage
            assert info.has_video
    shown = [m.key for p in plan.parts for m in p.items]
    assert len(shown) == len(set(shown)) == 2 + 3 + 5  # none repeated within the video
    assert plan.parts[2].short_candidate and not plan.parts[1].short_candidate
    # Ranked by meaning (descriptions are the file names here): the sunlight picture illustrates the
    # hook or the sunlight part, the molecules part gets the molecules clip.
    assert any("sunlight-clouds" in m.key for p in plan.parts[:2] for m in p.items)
    clip = [m for m in plan.parts[2].items if m.kind == "video"]
    assert clip and clip[0].source == "library" and clip[0].media_duration == pytest.approx(1.0, abs=0.1)
    gen = [m for p in plan.parts for m in p.items if m.source == "generated"]
    assert gen, "parts the library cannot cover get generated stills"
    assert Image.open(storage.fetch(gen[0].key)).size == (320, 180)
    # The plan survives its own JSON round trip (the GPU worker reads it that way).
    assert RenderPlan.from_json(plan.to_json()) == plan


def test_the_channel_pace_decides_how_many_pictures(
    settings: Settings, library: NicheConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A faster channel gets more pictures per part (never one twice), asked from its sources, and
    each still carries where its subject is, for the render's push."""
    storage = LocalStorage(settings.home / "store")
    asked: list[int] = []
    real_find = broll.LibrarySource.find

    def counting(self: broll.LibrarySource, query: broll.Query, count: int, avoid: set[str]) -> list[broll.Found]:
        asked.append(count)
        return real_find(self, query, count, avoid)

    monkeypatch.setattr(broll.LibrarySource, "find", counting)
    plan, _ = build_plan(settings, storage, library, SCRIPT, timing(), "pace", 1, [], max_shot_s=2.0)
    assert (plan.max_shot_s, plan.shorts_max_shot_s) == (2.0, 2.0)
    counts = [shot_count(p.end - p.start, 2.0) for p in plan.parts]
    assert [len(p.items) for p in plan.parts] == counts and counts == [3, 5, 9]
    assert asked == [(n + broll.CANDIDATES) * 2 for n in counts]  # enough for the pace, plus alternatives
    shown = [m.key for p in plan.parts for m in p.items]
    assert len(shown) == len(set(shown))
    stills = [m for p in plan.parts for m in p.items if m.kind == "image"]
    assert stills and any((m.focus_x, m.focus_y) != (0.5, 0.5) for m in stills)
    assert all(0.0 <= m.focus_x <= 1.0 and 0.0 <= m.focus_y <= 1.0 for m in stills)


def test_empty_library_gives_generated_stills_only(settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(settings.home / "store")
    plan, warnings = build_plan(settings, storage, niche(tmp_path / "n"), SCRIPT, timing(), "p2", 1, [])
    assert warnings == []
    assert {m.source for m in plan.all_items()} == {"generated"}
    assert {m.cue for m in plan.parts[2].items} <= {"air molecules", "prism splitting light"}


def test_redo_with_feedback_changes_pictures(settings: Settings, library: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    first, _ = build_plan(settings, storage, library, SCRIPT, timing(), "p3", 1, [])
    storage.put_text("productions/p3/plan-v1.json", first.to_json())
    second, _ = build_plan(settings, storage, library, SCRIPT, timing(), "p3", 2, ["more blue sky please"])
    first_bytes = [storage.get_bytes(m.key) for m in first.all_items()]
    second_bytes = [storage.get_bytes(m.key) for m in second.all_items()]
    assert first_bytes != second_bytes
    # Feedback words steer the library: "blue sky" now leads a part.
    assert any("blue-sky" in p.items[0].key for p in second.parts)
    # Last attempt's plain cue match steps aside for something new but stays offered.
    assert any("sunlight-clouds" in m.key for m in first.all_items())
    assert all("sunlight-clouds" not in m.key for m in second.all_items())
    assert any("sunlight-clouds" in c.key for p in second.parts for c in p.candidates)


def test_generated_stills_are_deterministic_per_seed() -> None:
    pal = ["#0b132b", "#5bc0be", "#ffd166"]
    a = draw_still("cue", (320, 180), pal, seed_for("x", 1))
    b = draw_still("cue", (320, 180), pal, seed_for("x", 1))
    c = draw_still("cue", (320, 180), pal, seed_for("x", 2))
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_apply_swaps(settings: Settings, library: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    plan, _ = build_plan(settings, storage, library, SCRIPT, timing(), "p4", 1, [])
    part = plan.parts[1]
    old, cand = part.items[0], part.candidates[1]
    swapped = apply_swaps(plan, {"1": cand.key})
    new_part = swapped.parts[1]
    assert new_part.items[0].key == cand.key
    assert (new_part.items[0].start, new_part.items[0].end) == (old.start, old.end)
    assert old.key in [c.key for c in new_part.candidates]
    assert plan.parts[1].items[0].key == old.key  # the input plan is not modified

    with pytest.raises(PermanentError, match="parts \\[0, 1, 2\\]"):
        apply_swaps(plan, {"9": cand.key})
    with pytest.raises(PermanentError, match="not a candidate of part 1"):
        apply_swaps(plan, {"1": "productions/p4/broll/nope.jpg"})
    with pytest.raises(PermanentError, match=f"has {len(part.items)} item"):
        apply_swaps(plan, {f"1.{len(part.items)}": cand.key})
    hook = apply_swaps(plan, {"hook": plan.parts[0].candidates[0].key})
    assert hook.parts[0].items[0].key == plan.parts[0].candidates[0].key


def test_library_find_ranks_by_relevance(library: NicheConfig) -> None:
    lib = LibrarySource(library.media_dir)
    q = Query(part=1, cues=["air molecules"], text="air molecules. Air molecules scatter blue light most.")
    found = lib.find(q, 5, set())
    assert found[0].name.endswith("air-molecules.mp4") and found[0].kind == "video"
    assert all(f.score > 0 for f in found)
    assert len(lib.warnings) == 2


def test_timing_for_other_script_is_refused(settings: Settings, tmp_path: Path) -> None:
    short = {**SCRIPT, "sections": SCRIPT["sections"][:1]}
    with pytest.raises(PermanentError, match="redo the audio"):
        build_plan(settings, LocalStorage(tmp_path / "s"), niche(tmp_path / "n"), short, timing(), "p5", 1, [])


# ---------------------------------------------------------------- stock


@pytest.fixture
def stock(tmp_path: Path) -> Iterator[FakeStock]:
    with FakeStock(tmp_path) as fake:
        yield fake


def stock_settings(settings: Settings, fake: FakeStock, key: str | None = None) -> Settings:
    return settings.with_overrides(broll="pexels", stock_api_key=key or fake.api_key, stock_base_url=fake.base_url)


def test_stock_source_downloads_and_credits(settings: Settings, tmp_path: Path, stock: FakeStock) -> None:
    storage = LocalStorage(tmp_path / "store")
    n = niche(tmp_path / "n", broll_sources=["stock", "generated"])
    # Both sections ask for the same first cue, as real scripts often do.
    script = {
        **SCRIPT,
        "sections": [SCRIPT["sections"][0], {**SCRIPT["sections"][1], "broll_cues": ["sunlight through clouds"]}],
    }
    plan, warnings = build_plan(stock_settings(settings, stock), storage, n, script, timing(), "s1", 1, [])
    assert warnings == []
    items = plan.all_items()
    assert {m.source for m in items} == {"stock"}
    assert any(m.kind == "video" for m in items) and any(m.kind == "image" for m in items)
    for m in items:
        assert probe(storage.fetch(m.key)).has_video
    assert all(auth == stock.api_key for path, auth, _ in stock.requests if not path.startswith("/files/"))
    searches = [(path, params["query"][0]) for path, _, params in stock.requests if not path.startswith("/files/")]
    assert ("/v1/search", "cloud sunlight") in searches
    assert len(searches) == len(set(searches)), "a query already answered in this plan is not asked again"
    credits = storage.get_text("productions/s1/broll/credits.json")
    assert "on Pexels" in credits


def test_stock_wrong_key_is_permanent(settings: Settings, tmp_path: Path, stock: FakeStock) -> None:
    n = niche(tmp_path / "n", broll_sources=["stock", "generated"])
    s = stock_settings(settings, stock, key="wrong")
    with pytest.raises(PermanentError, match="TUBEFLOW_STOCK_API_KEY"):
        build_plan(s, LocalStorage(tmp_path / "s"), n, SCRIPT, timing(), "s2", 1, [])


def test_stock_throttling_is_transient_with_retry_after(settings: Settings, tmp_path: Path, stock: FakeStock) -> None:
    stock.mode = "throttle"
    n = niche(tmp_path / "n", broll_sources=["stock", "generated"])
    with pytest.raises(TransientError, match="429") as err:
        build_plan(stock_settings(settings, stock), LocalStorage(tmp_path / "s"), n, SCRIPT, timing(), "s3", 1, [])
    assert err.value.retry_after_s == 7.0


def test_stock_broken_downloads_fall_back_to_stills(settings: Settings, tmp_path: Path, stock: FakeStock) -> None:
    stock.mode = "broken_files"
    n = niche(tmp_path / "n", broll_sources=["stock", "generated"])
    storage = LocalStorage(tmp_path / "s")
    plan, warnings = build_plan(stock_settings(settings, stock), storage, n, SCRIPT, timing(), "s4", 1, [])
    assert warnings and all("skipped stock picture" in w for w in warnings)
    assert all(len(p.items) >= 1 and len(p.candidates) >= 2 for p in plan.parts)
    assert {m.source for m in plan.all_items()} == {"generated"}


def test_pexels_without_key_is_a_config_error(settings: Settings, tmp_path: Path) -> None:
    s = settings.with_overrides(broll="pexels")
    with pytest.raises(ConfigError, match="TUBEFLOW_STOCK_API_KEY"):
        build_plan(s, LocalStorage(tmp_path / "s"), niche(tmp_path / "n"), SCRIPT, timing(), "s5", 1, [])


def test_stock_sources_come_from_the_registry(settings: Settings, tmp_path: Path) -> None:
    from activities.broll import StockSource, _sources
    from activities.stock_pixabay import PixabayClient

    n = niche(tmp_path / "n", broll_sources=["library", "pixabay", "generated"])
    sources, _, warnings = _sources(settings, n, "s6", 1, "")  # listed without a key: skipped, saying so
    assert warnings == ["niche test lists pixabay b-roll but TUBEFLOW_PIXABAY_API_KEY is not set; skipped"]
    assert not any(isinstance(x, StockSource) for x in sources)
    needs = r"TUBEFLOW_BROLL=pixabay needs TUBEFLOW_PIXABAY_API_KEY \(a Pixabay API key\)"
    with pytest.raises(ConfigError, match=needs):
        _sources(settings.with_overrides(broll="pixabay"), niche(tmp_path / "m"), "s6", 1, "")
    asked, _, _ = _sources(settings.with_overrides(broll="pixabay", pixabay_api_key="k"), n, "s6", 1, "")
    [pixabay] = [x for x in asked if isinstance(x, StockSource)]
    assert pixabay.name == "pixabay" and isinstance(pixabay.client, PixabayClient)
    with pytest.raises(ConfigError, match="must be 'library', 'pexels' or 'pixabay', not 'flickr'"):
        _sources(settings.with_overrides(broll="flickr"), n, "s6", 1, "")


def test_a_learned_no_more_clips_of_x_keeps_x_out_of_later_plans(settings: Settings, library: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    before, _ = build_plan(settings, storage, library, SCRIPT, timing(), "q1", 1, [])
    keys = [m.key for p in before.parts for m in (*p.items, *p.candidates)]
    assert any("air-molecules" in k for k in keys)
    # Another production, with the note learned from an earlier review: the clip is neither used nor offered.
    after, warnings = build_plan(
        settings,
        storage,
        library,
        SCRIPT,
        timing(),
        "q2",
        1,
        [],
        learned=["No more stock clips of air molecules, please"],
    )
    keys = [m.key for p in after.parts for m in (*p.items, *p.candidates)]
    assert keys and not any("air-molecules" in k for k in keys)
    assert any("avoiding air molecules" in w for w in warnings)


def test_feedback_naming_what_to_drop_does_not_ask_for_more_of_it(settings: Settings, library: NicheConfig) -> None:
    storage = LocalStorage(settings.home / "store")
    plan, _ = build_plan(settings, storage, library, SCRIPT, timing(), "q3", 2, ["avoid blue sky pictures"])
    assert all("blue-sky" not in m.key for p in plan.parts for m in (*p.items, *p.candidates))
