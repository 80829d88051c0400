"""The one module that names storage keys.

Every key a production, a video job or an upload writes is spelled here, so the layout of the store
is readable in one place and a rename cannot miss a reader.  Nothing else builds keys with
f-strings or string replacement: code asks ``ProductionKeys(pid).timing(2)``.  Pure string
functions, safe to import from workflow code (Temporal's sandbox); the workflows depend on the
exact strings (they travel in histories), so changing a spelling here is a workflow change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRODUCTIONS = "productions"
JOBS = "jobs"
CHANNELS = "channels"
UPLOADS = "uploads/"  # the prefix every API upload key starts with

_VERSIONED = re.compile(r"^(?P<prefix>.+)/(?P<kind>voice|timing)-v(?P<attempt>\d+)\.(?:wav|json)$")
_AUDIO_SUFFIX = re.compile(r"\.[^./]+$")
_SEGMENT = re.compile(r".*/seg-(?P<index>\d{4})\.mp4")
_EDITED_SCRIPT = re.compile(r"^(?P<prefix>.+/script-v\d+)-edited\.json$")


@dataclass(frozen=True)
class ProductionKeys:
    """Where one production's files live: ``productions/<id>/...``."""

    production_id: str

    @property
    def prefix(self) -> str:
        return f"{PRODUCTIONS}/{self.production_id}"

    @property
    def listing_prefix(self) -> str:
        """For ``Storage.list``: everything of this production and nothing of ``<id>x``."""
        return f"{self.prefix}/"

    def facts(self) -> str:
        return f"{self.prefix}/facts.json"

    def script(self, attempt: int, suffix: str = "") -> str:
        """``suffix`` marks a derived version (``-edited``) of the same attempt."""
        return f"{self.prefix}/script-v{attempt}{suffix}.json"

    def voice(self, attempt: int) -> str:
        return f"{self.prefix}/voice-v{attempt}.wav"

    def voice_words(self, attempt: int) -> str:
        """When each word was spoken, as the voice engine reported it (Azure, eSpeak)."""
        return f"{self.prefix}/voice-v{attempt}.words.json"

    def voice_spoken(self, attempt: int) -> str:
        """What the voice actually read, when it differs from the script's parts (for the reviewer)."""
        return f"{self.prefix}/voice-v{attempt}.spoken.json"

    def timing(self, attempt: int) -> str:
        return f"{self.prefix}/timing-v{attempt}.json"

    def plan(self, attempt: int, suffix: str = "") -> str:
        """The b-roll/render plan; ``suffix`` ``-swapped`` for a plan with pictures swapped at review."""
        return f"{self.prefix}/plan-v{attempt}{suffix}.json"

    def edited_plan(self, attempt: int, revision: int) -> str:
        """The plan as the reviewer edited it at the checkpoint, before approving (one per save)."""
        return self.plan(attempt, f"-e{revision}")

    def broll(self, name: str) -> str:
        return f"{self.prefix}/broll/{name}"

    def broll_poster(self, name: str) -> str:
        """A still from the middle of the clip stored as ``broll(name)``, shown before it plays."""
        return f"{self.prefix}/broll/posters/{name}.jpg"

    def broll_upload(self, token: str, filename: str) -> str:
        """A picture a reviewer uploaded at the b-roll checkpoint (``filename`` already made safe)."""
        return f"{self.broll_uploads_prefix}{token}-{filename}"

    @property
    def broll_uploads_prefix(self) -> str:
        """Where reviewers' b-roll uploads live: an edit may name a key under it."""
        return f"{self.prefix}/broll/upload/"

    def broll_credits(self) -> str:
        return self.broll("credits.json")

    def music(self, name: str) -> str:
        return f"{self.prefix}/music/{name}"

    def thumbnail(self, attempt: int, option: int) -> str:
        return f"{self.prefix}/thumbnails/v{attempt}-{option}.jpg"

    def words(self) -> str:
        """The caption words (script spelling, narration timing)."""
        return f"{self.prefix}/words.json"

    def render_segments(self, fingerprint: str) -> str:
        """Folder of rendered segments for one set of render inputs (a resumed render finds them)."""
        return f"{self.prefix}/render/{fingerprint}"

    def render_segment(self, fingerprint: str, index: int) -> str:
        return segment_key(self.render_segments(fingerprint), index)

    def video(self, round_: int = 1) -> str:
        """The rendered video; a final cut sent back keeps the earlier render: each round has its own file."""
        return f"{self.prefix}/video.mp4" if round_ == 1 else f"{self.prefix}/video-r{round_}.mp4"

    def preview(self, attempt: int, revision: int = 0) -> str:
        """The low-resolution whole cut shown at the b-roll checkpoint, one per b-roll attempt and
        one more for each time the reviewer saved edits and had it rendered again (``revision``)."""
        if revision:
            return f"{self.prefix}/preview-v{attempt}-e{revision}.mp4"
        return f"{self.prefix}/preview-v{attempt}.mp4"

    def short(self, index: int) -> str:
        return f"{self.prefix}/shorts/short-{index}.mp4"

    def quality_report(self, round_: int = 1) -> str:
        """The quality report (JSON) of the render of round ``round_`` (as :meth:`video`)."""
        return f"{self.prefix}/quality.json" if round_ == 1 else f"{self.prefix}/quality-r{round_}.json"

    def short_quality_report(self, index: int) -> str:
        return f"{self.prefix}/shorts/short-{index}.quality.json"

    def metadata_preview(self) -> str:
        """The publish metadata as the final review shows it (title, description, chapters)."""
        return f"{self.prefix}/metadata-preview.json"

    def publish_state(self, entry: str) -> str:
        """Resumable upload state of one published entry (the video or a short)."""
        return f"{self.prefix}/youtube/{entry}.json"

    def platform_post_state(self, platform: str, index: int) -> str:
        """The steps of one Short's post on TikTok or Instagram (publish id, bytes sent, media id)."""
        return f"{self.prefix}/shorts/short-{index}.{platform}.json"

    @staticmethod
    def written_script(key: str) -> str | None:
        """For a reviewer's edit (``.../script-vN-edited.json``) the script the writer wrote (``script-vN``)."""
        m = _EDITED_SCRIPT.match(key)
        return f"{m['prefix']}.json" if m else None

    @staticmethod
    def timing_version(key: str) -> int | None:
        """N for a ``.../timing-vN.json`` key, else None (to find the newest timing)."""
        m = _VERSIONED.match(key)
        return int(m["attempt"]) if m and m["kind"] == "timing" else None


def text_layout_key(video_key: str) -> str:
    """Where the render put every drawn text and caption box of a video (``short-0.mp4`` -> ``short-0.text.json``)."""
    return f"{_AUDIO_SUFFIX.sub('', video_key)}.text.json"


def segment_key(prefix: str, index: int) -> str:
    """One rendered segment under a render folder (``RenderLayout.prefix``)."""
    return f"{prefix}/seg-{index:04d}.mp4"


def segments_listing(prefix: str) -> str:
    """For ``Storage.list``: the segments under one render folder and nothing of a folder ``<prefix>x``."""
    return f"{prefix}/"


def segment_index(key: str) -> int | None:
    """N for a rendered segment's key (``.../seg-NNNN.mp4``, see :func:`segment_key`), else None."""
    m = _SEGMENT.fullmatch(key)
    return int(m["index"]) if m else None


def soundtrack_key(prefix: str) -> str:
    """The mixed narration, music and effects of one render folder."""
    return f"{prefix}/soundtrack.m4a"


def timing_for_voice(audio_key: str) -> str | None:
    """The timing stored next to a TTS voice (``voice-vN.wav`` -> ``timing-vN.json``); None for other audio."""
    m = _VERSIONED.match(audio_key)
    if m is None or m["kind"] != "voice":
        return None
    return f"{m['prefix']}/timing-v{m['attempt']}.json"


def spoken_words_for(audio_key: str) -> str:
    """Where the voice engine's word timings for ``audio_key`` sit (``x.wav`` -> ``x.words.json``)."""
    return _AUDIO_SUFFIX.sub("", audio_key) + ".words.json"


def dead_letter(at: str, delivery_id: str) -> str:
    """A notification that could not be delivered after its retries (JSON: target, error, payload).

    Spaces become ``_`` (a delivery id carries the target's name, and ``at`` may be written with a space).
    """
    return f"notifications/dead-letter/{at[:10]}/{delivery_id}.json".replace(" ", "_")


def channel_lexicon(channel: str) -> str:
    """The channel's pronunciation lexicon (JSON), kept across its productions."""
    return f"{CHANNELS}/{channel}/lexicon.json"


def channel_broll_history(channel: str) -> str:
    """Which pictures a channel's recent videos used (the b-roll planner avoids repeating them)."""
    return f"{CHANNELS}/{channel}/broll-history.json"


@dataclass(frozen=True)
class JobKeys:
    """A standalone video job (the seeds' GPU video API): ``jobs/<id>/...``."""

    job_id: str

    @property
    def prefix(self) -> str:
        return f"{JOBS}/{self.job_id}"

    def input(self, name: str, extension: str) -> str:
        return f"{self.prefix}/{name}{extension}"

    def output(self) -> str:
        return f"{self.prefix}/output.mp4"


def upload_key(token: str, filename: str) -> str:
    """An input uploaded through the API before a job uses it (``filename`` already made safe)."""
    return f"{UPLOADS}{token}/{filename}"
