"""The edits a reviewer sends with a decision, typed per checkpoint.

On the wire ``ReviewDecision.edits`` stays the JSON object it has always been (``{"script": {...}}``,
``{"pronounce": {...}}``, ``{"swap": {...}, "parts": {...}}``, ``{"thumbnail": 1}``): recorded histories carry it, and
a malformed edit must reach the workflow's validator to be refused with a message a person can act
on (a typed field would fail decoding instead).  This module is its one reader: each checkpoint's
dataclass names the keys it accepts (its fields), and ``applied_edits`` turns the object into it or
raises ``EditsRefused``.

What is accepted here is workflow behaviour: the validator also runs in signal handlers when a
history replays, so accepting or refusing something new is a workflow change (``workflow.patched``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.names import text_problem
from tubeflow.platforms import CAPTION_LIMITS, platform_problem
from tubeflow.script_schema import ScriptInvalid, validate_script
from tubeflow.youtube_limits import description_problem, tags_problem, title_problem

MAX_PRONUNCIATIONS = 50


class EditsRefused(ValueError):
    """Edits the checkpoint does not accept; the message says what to send instead."""


@dataclass(frozen=True)
class ScriptReviewEdits:
    script: dict[str, Any] | None = None  # the reviewer's whole script (script_schema-valid); None: unchanged


@dataclass(frozen=True)
class AudioReviewEdits:
    # word -> respelling ("RAY-lee"), "ipa:<phonemes>" or {"phoneme", "alphabet", "respelling"}; kept
    # in the channel's lexicon (the lexicon activity checks each entry's shape)
    pronounce: dict[str, str | dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class BrollReviewEdits:
    # plan part ("2", "2.1" for its second item, "hook") -> candidate key, passed on as sent: the swap
    # activity knows the plan and refuses a part or candidate it lacks
    swap: dict[str, Any] = field(default_factory=dict)
    # plan part ("2", "hook") -> every key it shows, in order: any picture of the plan or an upload of
    # the production.  Says removals, reordering, per-item swaps and uploads at once; parts not named
    # stay as planned.  Accepted only where the caller says so (``broll_layout``).
    parts: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.swap or self.parts)


@dataclass(frozen=True)
class FinalReviewEdits:
    thumbnail: int = 0  # index of the picked thumbnail
    # Hand edits of the published metadata (None: derived from the approved script), checked against
    # YouTube's limits (tubeflow.youtube_limits).  Accepted only where the caller says so
    # (``final_metadata``): what the validator accepts is workflow behaviour.
    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    # The Shorts' other platforms: the ones the reviewer unticked for this production, and hand
    # edits of a platform's caption.  Accepted only where the caller says so (``platforms``).
    platforms_off: list[str] | None = None
    platform_captions: dict[str, str] | None = None
    # platform -> the cover frame, as seconds into each Short (the platforms take a time, not an image;
    # the Shorts are cut after this checkpoint, so the reviewer picks a moment, 1 s if none).
    platform_covers: dict[str, float] | None = None


FINAL_METADATA_FIELDS = ("title", "description", "tags")
PLATFORM_EDIT_FIELDS = ("platforms_off", "platform_captions", "platform_covers")
MAX_COVER_S = 180.0  # the longest Short a platform takes (TikTok: 3 min); a later time is clamped to the Short
BROLL_LAYOUT_FIELDS = ("parts",)
MAX_BROLL_PARTS = 200
MAX_PICTURES_PER_PART = 50


ReviewEdits = ScriptReviewEdits | AudioReviewEdits | BrollReviewEdits | FinalReviewEdits
E = TypeVar("E", ScriptReviewEdits, AudioReviewEdits, BrollReviewEdits, FinalReviewEdits)


def applied_edits(
    checkpoint: Checkpoint,
    decision: ReviewDecision,
    thumbnails: int = 0,
    final_metadata: bool = False,
    broll_layout: bool = False,
    platforms: bool = False,
) -> ReviewEdits:
    """The decision's edits that take effect, typed for ``checkpoint`` (empty when there are none).

    An approval applies all its edits; a rejection only its pronunciations, taught before the redo
    so the next take says the word right.  Whatever else a rejection carries is neither read nor
    checked (as it never was).  ``thumbnails``: how many the final checkpoint offers;
    ``final_metadata``: whether it also accepts title, description and tags (off: as recorded
    histories were validated); ``broll_layout``: whether the b-roll checkpoint accepts ``parts``;
    ``platforms``: whether the final checkpoint accepts ``platforms_off``, ``platform_captions`` and
    ``platform_covers``.
    """
    kind, parse = _BY_CHECKPOINT[checkpoint]
    edits = decision.edits
    if not edits or not (decision.approved or "pronounce" in edits):
        return kind()
    allowed = {f.name for f in fields(kind)}
    if kind is FinalReviewEdits and not final_metadata:
        allowed -= set(FINAL_METADATA_FIELDS)
    if kind is BrollReviewEdits and not broll_layout:
        allowed -= set(BROLL_LAYOUT_FIELDS)
    if kind is FinalReviewEdits and not platforms:
        allowed -= set(PLATFORM_EDIT_FIELDS)
    unknown = set(edits) - allowed
    if unknown:
        why = ""
        if kind is FinalReviewEdits and unknown <= set(FINAL_METADATA_FIELDS):
            why = "; this production reached it before title, description and tags were editable: approve without them"
        raise EditsRefused(
            f"edits {sorted(unknown)} are not accepted at the {checkpoint} checkpoint (allowed: {sorted(allowed)}){why}"
        )
    return parse(edits, thumbnails)


def script_edits(decision: ReviewDecision) -> ScriptReviewEdits:
    return _typed(ScriptReviewEdits, applied_edits(Checkpoint.SCRIPT, decision))


def audio_edits(decision: ReviewDecision) -> AudioReviewEdits:
    return _typed(AudioReviewEdits, applied_edits(Checkpoint.AUDIO, decision))


def broll_edits(decision: ReviewDecision, layout: bool = False) -> BrollReviewEdits:
    return _typed(BrollReviewEdits, applied_edits(Checkpoint.BROLL, decision, broll_layout=layout))


def broll_revision(decision: ReviewDecision) -> BrollReviewEdits:
    """The edits of a b-roll revision (saved to re-render the preview, the checkpoint staying open):
    read like an approval's, and there must be some."""
    if decision.stage != Checkpoint.BROLL:
        raise EditsRefused(f"only the b-roll checkpoint takes saved edits, not {str(decision.stage)!r}")
    edits = broll_edits(ReviewDecision(Checkpoint.BROLL, True, edits=decision.edits), layout=True)
    if not edits:
        raise EditsRefused("nothing to save: send edits {'parts': {'<part>': [<keys in order>]}} or {'swap': ...}")
    return edits


def final_edits(
    decision: ReviewDecision, thumbnails: int, final_metadata: bool = False, platforms: bool = False
) -> FinalReviewEdits:
    return _typed(
        FinalReviewEdits, applied_edits(Checkpoint.FINAL, decision, thumbnails, final_metadata, platforms=platforms)
    )


def _typed(kind: type[E], edits: ReviewEdits) -> E:
    assert isinstance(edits, kind)
    return edits


def _script(edits: dict[str, Any], _: int) -> ScriptReviewEdits:
    if "script" not in edits:
        return ScriptReviewEdits()
    try:
        validate_script(edits["script"])
    except ScriptInvalid as e:
        raise EditsRefused(f"the edited script is invalid: {e}") from e
    return ScriptReviewEdits(script=edits["script"])


def _audio(edits: dict[str, Any], _: int) -> AudioReviewEdits:
    if "pronounce" not in edits:
        return AudioReviewEdits()
    words = edits["pronounce"]
    if not isinstance(words, dict) or not words or len(words) > MAX_PRONUNCIATIONS:
        raise EditsRefused(
            f"pronounce must map 1 to {MAX_PRONUNCIATIONS} words to respellings, e.g. {{'Rayleigh': 'RAY-lee'}}"
        )
    for word, how in words.items():
        if not str(word).strip() or not (isinstance(how, str) and how.strip() or isinstance(how, dict)):
            raise EditsRefused(f"pronounce: {word!r} needs a respelling ('RAY-lee') or a phoneme ('ipa:ˈreɪli')")
    return AudioReviewEdits(pronounce=dict(words))


def _broll(edits: dict[str, Any], _: int) -> BrollReviewEdits:
    swap = edits.get("swap", {})
    if not isinstance(swap, dict):
        raise EditsRefused("swap must map a part index to a candidate key")
    parts = edits.get("parts", {})
    shape = "parts must map a part ('2', 'hook') to the keys it shows, in order, e.g. {'2': ['<key>', '<key>']}"
    if not isinstance(parts, dict) or len(parts) > MAX_BROLL_PARTS:
        raise EditsRefused(shape)
    for name, keys in parts.items():
        if not (str(name) == "hook" or str(name).isdigit()):
            raise EditsRefused(f"parts: {name!r} is not a part; {shape}")
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise EditsRefused(f"parts[{name!r}]: {shape}")
        if not keys:
            raise EditsRefused(f"parts[{name!r}]: a part needs at least one picture")
        if len(keys) > MAX_PICTURES_PER_PART:
            raise EditsRefused(f"parts[{name!r}]: at most {MAX_PICTURES_PER_PART} pictures in one part")
    return BrollReviewEdits(swap=dict(swap), parts={str(k): list(v) for k, v in parts.items()})


def _final(edits: dict[str, Any], thumbnails: int) -> FinalReviewEdits:
    choice = edits.get("thumbnail", 0)
    if "thumbnail" in edits and (not isinstance(choice, int) or not 0 <= choice < thumbnails):
        raise EditsRefused(f"thumbnail must be an index from 0 to {thumbnails - 1}, not {choice!r}")
    for name, problem in (("title", title_problem), ("description", description_problem), ("tags", tags_problem)):
        if name in edits:
            refused = problem(edits[name])
            if refused:
                raise EditsRefused(refused)
    tags = edits.get("tags")
    off, captions = _platform_edits(edits)
    return FinalReviewEdits(
        thumbnail=int(choice),
        title=edits.get("title"),
        description=edits.get("description"),
        tags=list(tags) if tags is not None else None,
        platforms_off=off,
        platform_captions=captions,
        platform_covers=_platform_covers(edits),
    )


def _platform_edits(edits: dict[str, Any]) -> tuple[list[str] | None, dict[str, str] | None]:
    off = edits.get("platforms_off")
    if off is not None:
        if not isinstance(off, list):
            raise EditsRefused("platforms_off must list the platforms not to post to, e.g. ['tiktok']")
        for name in off:
            if (problem := platform_problem(name)) is not None:
                raise EditsRefused(f"platforms_off: {problem}")
    captions = edits.get("platform_captions")
    if captions is not None:
        if not isinstance(captions, dict):
            raise EditsRefused("platform_captions must map a platform to its caption, e.g. {'tiktok': '...'}")
        for name, text in captions.items():
            if (problem := platform_problem(name)) is not None:
                raise EditsRefused(f"platform_captions: {problem}")
            limit = CAPTION_LIMITS[name]
            if not isinstance(text, str) or not text.strip() or len(text) > limit:
                raise EditsRefused(f"platform_captions[{name!r}] must be text of 1 to {limit} characters")
            if (problem := text_problem(text)) is not None:
                raise EditsRefused(f"platform_captions[{name!r}]: {problem}")
    return (list(dict.fromkeys(off)) if off is not None else None), (dict(captions) if captions is not None else None)


def _platform_covers(edits: dict[str, Any]) -> dict[str, float] | None:
    covers = edits.get("platform_covers")
    if covers is None:
        return None
    if not isinstance(covers, dict):
        raise EditsRefused("platform_covers must map a platform to seconds into each Short, e.g. {'tiktok': 1.5}")
    for name, at in covers.items():
        if (problem := platform_problem(name)) is not None:
            raise EditsRefused(f"platform_covers: {problem}")
        number = isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at)
        if not number or not 0 <= at <= MAX_COVER_S:
            raise EditsRefused(
                f"platform_covers[{name!r}] must be seconds into the Short, from 0 to {MAX_COVER_S:g}, not {at!r}"
            )
    return {name: round(float(at), 3) for name, at in covers.items()}


_BY_CHECKPOINT: dict[Checkpoint, tuple[type[ReviewEdits], Callable[[dict[str, Any], int], ReviewEdits]]] = {
    Checkpoint.SCRIPT: (ScriptReviewEdits, _script),
    Checkpoint.AUDIO: (AudioReviewEdits, _audio),
    Checkpoint.BROLL: (BrollReviewEdits, _broll),
    Checkpoint.FINAL: (FinalReviewEdits, _final),
}
