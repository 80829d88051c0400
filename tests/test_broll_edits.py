"""A reviewer's b-roll edits applied to a real plan (issue 22: the b-roll checkpoint shows the whole cut).

Plain modules only: the plan of tests/test_broll.py's library (stills, a clip, a corrupt file) is
re-laid part by part (reorder, remove, swap, a reviewer's upload), the wire form of the edits is
parsed as the workflow's validator parses it, clips get a poster from their middle, and every
score says why in words.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageChops

from activities.broll import HISTORY_PENALTY, Query, build_plan, record_history
from activities.broll_edits import apply_edits, apply_layout, store_upload, upload_item
from tests.mediagen import color_bars_clip, corrupt_file
from tests.test_broll import SCRIPT, library, niche, picture, timing  # noqa: F401  (library is a fixture)
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.errors import MediaError, PermanentError
from tubeflow.keys import ProductionKeys
from tubeflow.media.ffmpeg import ffmpeg_exe, poster_command
from tubeflow.media.probe import probe
from tubeflow.render_plan import RenderPlan
from tubeflow.review_edits import EditsRefused, applied_edits, broll_edits, broll_revision
from tubeflow.settings import Settings
from tubeflow.storage import LocalStorage

from niches.config import NicheConfig  # isort: skip


@pytest.fixture
def planned(settings: Settings, library: NicheConfig) -> tuple[LocalStorage, RenderPlan]:  # noqa: F811
    storage = LocalStorage(settings.home / "store")
    plan, _ = build_plan(settings, storage, library, SCRIPT, timing(), "p1", 1, [])
    return storage, plan


def keys(plan: RenderPlan, part: int) -> list[str]:
    return [m.key for m in plan.parts[part].items]


def test_reorder_remove_and_swap_in_one_layout(planned: tuple[LocalStorage, RenderPlan]) -> None:
    _, plan = planned
    part = plan.parts[2]
    assert len(part.items) >= 2, "the long part shows several pictures"
    first, second = part.items[0], part.items[1]
    candidate = part.candidates[0]
    # Swap the first for a candidate, move the second to the front, drop the rest.
    edited = apply_layout(plan, {"2": [second.key, candidate.key]}, {})
    new = edited.parts[2]
    assert [m.key for m in new.items] == [second.key, candidate.key]
    # The part's time is shared equally, end to end, in the new order.
    half = round(part.start + (part.end - part.start) / 2, 3)
    assert [(m.start, m.end) for m in new.items] == [(part.start, half), (half, part.end)]
    # What left the screen is offered first (so it can be put back), with no time of its own.
    dropped = [m.key for m in part.items if m.key not in (second.key,)]
    assert [c.key for c in new.candidates[: len(dropped)]] == dropped
    assert all(c.start == c.end == 0.0 for c in new.candidates)
    assert candidate.key not in [c.key for c in new.candidates]
    # Everything known about a picture travels with it: score, reason, poster, description.
    assert new.items[1].reason == candidate.reason and new.items[1].description == candidate.description
    assert new.items[0].score == second.score
    # Other parts and the input plan are untouched.
    assert keys(edited, 0) == keys(plan, 0) and keys(edited, 1) == keys(plan, 1)
    assert keys(plan, 2)[0] == first.key
    # "hook" names part 0; a picture from another part's alternatives may be used.
    other = plan.parts[1].candidates[0].key
    hooked = apply_layout(plan, {"hook": [other, *keys(plan, 0)]}, {})
    assert keys(hooked, 0) == [other, *keys(plan, 0)]
    assert RenderPlan.from_json(hooked.to_json()) == hooked


def test_a_layout_the_plan_cannot_take_says_what_to_change(planned: tuple[LocalStorage, RenderPlan]) -> None:
    _, plan = planned
    with pytest.raises(PermanentError, match="needs at least one picture"):
        apply_layout(plan, {"1": []}, {})
    with pytest.raises(PermanentError, match=r"plan has parts \[0, 1, 2\]"):
        apply_layout(plan, {"7": keys(plan, 1)}, {})
    with pytest.raises(PermanentError, match="not a picture of this plan nor an upload"):
        apply_layout(plan, {"1": ["productions/p1/broll/nope.jpg"]}, {})
    shown_in_2 = keys(plan, 2)[0]
    with pytest.raises(PermanentError, match=r"on screen twice \(parts 1 and 2\)"):
        apply_layout(plan, {"1": [shown_in_2]}, {})
    # Moving it is fine: listed in part 1 and taken out of part 2 in the same edit.
    moved = apply_layout(plan, {"1": [shown_in_2], "2": keys(plan, 2)[1:]}, {})
    assert keys(moved, 1) == [shown_in_2] and shown_in_2 not in keys(moved, 2)


def test_a_reviewers_upload_is_probed_stored_with_a_poster_and_usable(
    planned: tuple[LocalStorage, RenderPlan], tmp_path: Path
) -> None:
    storage, plan = planned
    clip = color_bars_clip(tmp_path / "my clip.mp4", seconds=3.0, audio=False)
    item = store_upload(storage, "p1", "my clip.mp4", clip)
    assert item.key.startswith(ProductionKeys("p1").broll_uploads_prefix) and item.key.endswith("-my_clip.mp4")
    assert (item.kind, item.source) == ("video", "upload")
    assert item.media_duration == pytest.approx(3.0, abs=0.1)
    assert item.reason and "uploaded by the reviewer" in item.description
    assert storage.exists(item.key) and storage.exists(item.poster)
    still = Image.open(storage.fetch(item.poster))
    assert still.format == "JPEG" and still.size == (320, 180)

    edited = apply_edits(storage, "p1", plan, {"1": [item.key, *keys(plan, 1)]}, {})
    shown = edited.parts[1].items[0]
    assert (shown.key, shown.kind, shown.poster) == (item.key, "video", item.poster)
    assert probe(storage.fetch(shown.key)).has_video

    # Someone else's key, or a key outside this production's uploads, is refused.
    with pytest.raises(PermanentError, match="nor an upload of this production"):
        upload_item(storage, "p2", item.key)
    photo = store_upload(storage, "p1", "../../etc/passwd.png", picture(tmp_path / "p.png"))
    assert photo.kind == "image" and not photo.poster and photo.key.endswith("-passwd.png")
    assert "/etc/" not in photo.key


def test_corrupt_or_non_picture_uploads_are_refused_with_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    storage = LocalStorage(settings.home / "store")
    with pytest.raises(MediaError, match="'broken.mp4'"):
        store_upload(storage, "p1", "broken.mp4", corrupt_file(tmp_path / "broken.mp4"))
    jpeg = tmp_path / "half.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0 a truncated jpeg, not an image")
    with pytest.raises(MediaError, match="'half.jpg'"):
        store_upload(storage, "p1", "half.jpg", jpeg)
    text = tmp_path / "notes.txt"
    text.write_text("just words")
    with pytest.raises(MediaError, match="is not a picture: b-roll takes a still image"):
        store_upload(storage, "p1", "notes.txt", text)
    assert storage.list(ProductionKeys("p1").broll_uploads_prefix) == []  # nothing refused is stored


def test_clips_get_a_poster_from_their_middle(planned: tuple[LocalStorage, RenderPlan], tmp_path: Path) -> None:
    storage, plan = planned
    clips = [m for p in plan.parts for m in [*p.items, *p.candidates] if m.kind == "video"]
    assert clips and all(m.poster and storage.exists(m.poster) for m in clips)
    assert all(not m.poster for p in plan.parts for m in p.items if m.kind == "image")
    cmd = str(poster_command(Path("/w/c.mp4"), Path("/w/c.jpg"), 3.0))
    assert "-ss 1.5 -i /w/c.mp4" in cmd and "-frames:v 1" in cmd
    # Not the first frame: testsrc2 moves, so the middle differs from frame 0.
    clip = color_bars_clip(tmp_path / "bars.mp4", seconds=4.0, audio=False)
    item = store_upload(storage, "p1", "bars.mp4", clip)
    import subprocess

    first = tmp_path / "first.png"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(clip), "-frames:v", "1", str(first)], check=True)
    poster = Image.open(storage.fetch(item.poster)).convert("RGB")
    diff = ImageChops.difference(poster, Image.open(first).convert("RGB")).getbbox()
    assert diff is not None


def test_every_score_comes_with_its_reason(settings: Settings, tmp_path: Path) -> None:
    n = niche(tmp_path / "niche")
    picture(n.media_dir / "prism-splitting-light.jpg")
    picture(n.media_dir / "office-meeting.jpg", (200, 120, 40))
    storage = LocalStorage(settings.home / "store")
    q = Query(part=1, cues=["prism splitting light"], text="prism splitting light. Light bends.", recent_videos=5)
    from activities.broll import LibrarySource

    found = {f.name.split("-", 1)[1]: f for f in LibrarySource(n.media_dir).find(q, 5, set())}
    assert found["prism-splitting-light.jpg"].reason.startswith("matches 'light', 'prism'")
    assert found["office-meeting.jpg"].reason.startswith("no words in common with the cue")
    # The channel just used the prism picture: the penalty and its reason.
    uid = next(f.uid for f in found.values() if "prism" in f.name)
    again = {f.uid: f for f in LibrarySource(n.media_dir).find(q, 5, {uid})}[uid]
    assert again.score == pytest.approx(found["prism-splitting-light.jpg"].score - HISTORY_PENALTY, abs=1e-3)
    assert "used in the last 5 videos (-1.0)" in again.reason

    # In a plan: every picture on screen and offered carries its reason; a repeat says so.
    record_history(storage, "chan", "earlier", [uid], 5)
    plan, _ = build_plan(settings, storage, n, SCRIPT, timing(), "p9", 1, [], "chan")
    every = [m for p in plan.parts for m in [*p.items, *p.candidates]]
    assert all(m.reason for m in every)
    assert any("generated title card (-0.06" in m.reason for m in every if m.source == "generated")
    prism = [m for m in every if "prism" in m.key]
    assert prism and all("used in the last 5 videos (-1.0)" in m.reason for m in prism)


def test_old_plans_without_reasons_or_posters_still_load(planned: tuple[LocalStorage, RenderPlan]) -> None:
    _, plan = planned
    old = json.loads(plan.to_json())
    for p in old["parts"]:
        for m in [*p["items"], *p["candidates"]]:
            m.pop("reason"), m.pop("poster")
    loaded = RenderPlan.from_dict(old)
    assert all(m.reason == "" and m.poster == "" for m in loaded.all_items())
    assert apply_layout(loaded, {"1": keys(loaded, 1)[::-1]}, {}).parts[1].items


def test_the_wire_form_of_broll_edits() -> None:
    def approve(edits: dict[str, object]) -> ReviewDecision:
        return ReviewDecision(Checkpoint.BROLL, True, "bo", edits=edits)

    layout = {"parts": {"2": ["k2", "k1"], "hook": ["k0"]}, "swap": {"1": "k9"}}
    # Recorded histories were validated without ``parts``: refused unless the workflow says so.
    with pytest.raises(EditsRefused, match=r"\['parts'\] are not accepted"):
        applied_edits(Checkpoint.BROLL, approve(layout))
    edits = broll_edits(approve(layout), layout=True)
    assert edits.parts == {"2": ["k2", "k1"], "hook": ["k0"]} and edits.swap == {"1": "k9"}
    assert broll_edits(approve({"swap": {"1": "k9"}})).swap == {"1": "k9"}  # the old form as before
    assert not broll_edits(approve({}), layout=True)
    refused: list[tuple[dict[str, object], str]] = [
        ({"parts": ["k1"]}, "parts must map a part"),
        ({"parts": {"two": ["k1"]}}, "'two' is not a part"),
        ({"parts": {"2": "k1"}}, r"parts\['2'\]"),
        ({"parts": {"2": []}}, "at least one picture"),
        ({"parts": {"2": [""]}}, r"parts\['2'\]"),
    ]
    for bad, why in refused:
        with pytest.raises(EditsRefused, match=why):
            broll_edits(approve(bad), layout=True)
    # A saved revision is read like an approval's edits, whatever ``approved`` says, and needs some.
    revision = broll_revision(ReviewDecision(Checkpoint.BROLL, False, "bo", edits={"parts": {"1": ["a"]}}))
    assert revision.parts == {"1": ["a"]}
    with pytest.raises(EditsRefused, match="nothing to save"):
        broll_revision(ReviewDecision(Checkpoint.BROLL, False, "bo", edits={}))
    with pytest.raises(EditsRefused, match="only the b-roll checkpoint"):
        broll_revision(ReviewDecision(Checkpoint.FINAL, False, "bo", edits={"parts": {"1": ["a"]}}))
