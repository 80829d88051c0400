"""What every publisher says about a video: title, description, chapters, sources, entry names.

Shared by the local outbox and YouTube so both publish the same metadata; the publishers
themselves live one module each (``outbox.py``, ``youtube.py``), each defining its
:class:`PublishingPlatform`, and ``publishers.py`` is their registry.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tubeflow.contracts import PublishRequest, PublishResult
from tubeflow.errors import PermanentError
from tubeflow.keys import ProductionKeys
from tubeflow.render_plan import NarrationTiming
from tubeflow.script_citations import cited_sources
from tubeflow.settings import Settings
from tubeflow.storage import Storage

# The limits live in the core (tubeflow/youtube_limits.py); re-exported for the readers of this module.
from tubeflow.youtube_limits import DESCRIPTION_MAX_BYTES as DESCRIPTION_MAX_BYTES
from tubeflow.youtube_limits import TAGS_MAX_CHARS as TAGS_MAX_CHARS
from tubeflow.youtube_limits import TITLE_MAX as TITLE_MAX
from tubeflow.youtube_limits import tags_length as tags_length


class Publisher(Protocol):
    name: str

    def publish(
        self, storage: Storage, req: PublishRequest, script: dict[str, Any], options: PublishOptions | None = None
    ) -> PublishResult: ...


@dataclass(frozen=True)
class PublishingPlatform:
    """One entry of the publisher registry (``activities.publishers``): a platform's module defines it."""

    name: str  # the TUBEFLOW_PUBLISHER value choosing it (and its publisher's ``name``)
    from_settings: Callable[[Settings], Publisher]  # the publisher for the process-wide credentials
    quota_project: str = ""  # the quota ledger's project those credentials spend ("": no quota kept)


# ---------------------------------------------------------------- metadata shared by publishers


def _stamp(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def find_timing(storage: Storage, req: PublishRequest) -> NarrationTiming | None:
    """The approved narration timing: ``extra["timing_key"]``, else the newest timing-v<n>.json."""
    key = str(req.extra.get("timing_key") or "")
    if not key:
        versions = []
        for k in storage.list(ProductionKeys(req.production_id).listing_prefix):
            n = ProductionKeys.timing_version(k)
            if n is not None:
                versions.append((n, k))
        if not versions:
            return None
        key = max(versions)[1]
    try:
        return NarrationTiming.from_json(storage.get_text(key))
    except (ValueError, KeyError, TypeError):
        return None


def chapters_from(timing: NarrationTiming | None, script: dict[str, Any]) -> list[dict[str, Any]]:
    """One chapter per part; the hook folds into the first section so chapter 1 starts at 0:00."""
    if timing is None:
        return []
    sections = script.get("sections") or []
    out: list[dict[str, Any]] = []
    for p in timing.parts:
        if p.section is None or p.section >= len(sections):
            continue
        out.append({"start": 0.0 if not out else round(p.start, 2), "title": sections[p.section]["heading"]})
    return out


def youtube_chapters_ok(chapters: list[dict[str, Any]], duration_s: float) -> bool:
    """YouTube only shows chapters with >= 3 entries, the first at 0:00, each at least 10 s long."""
    return not _chapters_problem(chapters, duration_s)


def _srt_stamp(t: float) -> str:
    ms = max(0, round(t * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def captions_srt(storage: Storage, req: PublishRequest, max_words: int = 8, max_gap_s: float = 0.8) -> str:
    """SubRip cues from the narration's word timings (``words.json``), a line per phrase; "" when absent."""
    if req.kind != "long":
        return ""
    key = str(req.extra.get("words_key") or ProductionKeys(req.production_id).words())
    if not storage.exists(key):
        return ""
    try:
        words = [w for w in json.loads(storage.get_text(key)) if str(w.get("word", "")).strip()]
    except (ValueError, AttributeError):
        return ""
    cues: list[list[dict[str, Any]]] = []
    for w in words:
        last = cues[-1] if cues else None
        if (
            last is None
            or len(last) >= max_words
            or float(w["start"]) - float(last[-1]["end"]) > max_gap_s
            or str(last[-1]["word"]).rstrip().endswith((".", "?", "!"))
        ):
            cues.append([w])
        else:
            last.append(w)
    out = []
    for i, cue in enumerate(cues, 1):
        text = " ".join(str(w["word"]).strip() for w in cue)
        out.append(f"{i}\n{_srt_stamp(float(cue[0]['start']))} --> {_srt_stamp(float(cue[-1]['end']))}\n{text}\n")
    return "\n".join(out)


@dataclass
class PublishOptions:
    """What a channel's settings say about how its videos go out (see tubeflow.channel_settings)."""

    privacy: str = "private"
    publish_at: str = ""  # ISO-8601 UTC; empty: at once
    made_for_kids: bool = False
    synthetic_disclosure: bool = True
    category: str = "27"
    playlist: str = ""
    default_tags: list[str] = field(default_factory=list)
    language: str = ""  # empty: the script's


ANGLE_FIX = str.maketrans({"<": "\u2039", ">": "\u203a"})


def _cut_at_word(text: str, fits: Callable[[str], bool], marker: str = "\u2026") -> str:
    if fits(text):
        return text
    words = text.split(" ")
    while words and not fits(" ".join(words).rstrip() + marker):
        words.pop()
    cut = " ".join(words).rstrip(" ,;:-")
    return cut + marker if cut else ""


def check_metadata(meta: dict[str, Any]) -> list[str]:
    """Make ``meta`` valid for YouTube in place; returns what was changed, in words, for the reviewer."""
    fixes: list[str] = []
    title = " ".join(str(meta["title"]).split())
    if "<" in title or ">" in title:
        title = title.translate(ANGLE_FIX)
        fixes.append("title: < and > are not allowed by YouTube; replaced with \u2039 \u203a")
    if len(title) > TITLE_MAX:
        suffix = " #shorts" if meta.get("kind") == "short" and title.lower().endswith("#shorts") else ""
        body = title[: -len(suffix)] if suffix else title
        title = _cut_at_word(body, lambda t: len(t) + len(suffix) <= TITLE_MAX) + suffix
        fixes.append(f"title: longer than {TITLE_MAX} characters; cut at a word to {len(title)}")
    if not title.strip():
        title = str(meta.get("production_id") or "untitled")
        fixes.append("title: empty; the production id is used")
    meta["title"] = title
    desc = str(meta["description"])
    if "<" in desc or ">" in desc:
        desc = desc.translate(ANGLE_FIX)
        fixes.append("description: < and > are not allowed by YouTube; replaced with \u2039 \u203a")
    if len(desc.encode("utf-8")) > DESCRIPTION_MAX_BYTES:
        before = len(desc.encode("utf-8"))
        desc = _cut_at_word(desc, lambda t: len(t.encode("utf-8")) <= DESCRIPTION_MAX_BYTES)
        fixes.append(f"description: {before} bytes is over YouTube's {DESCRIPTION_MAX_BYTES}; cut at a word")
    meta["description"] = desc
    tags: list[str] = []
    for raw in meta.get("tags") or []:
        tag = " ".join(str(raw).replace(",", " ").split())
        if not tag or "<" in tag or ">" in tag:
            fixes.append(f"tags: {raw!r} dropped (empty, or < >)")
            continue
        if tag.lower() in (t.lower() for t in tags):
            continue
        if tags_length([*tags, tag]) > TAGS_MAX_CHARS:
            fixes.append(f"tags: {tag!r} and later dropped, over YouTube's {TAGS_MAX_CHARS} characters")
            break
        tags.append(tag)
    meta["tags"] = tags
    if meta.get("chapters_dropped"):
        fixes.append(f"chapters: left out of the description ({meta['chapters_dropped']})")
    return fixes


def _chapters_problem(chapters: list[dict[str, Any]], duration_s: float) -> str:
    if len(chapters) < 3:
        return f"YouTube needs at least 3 chapters, the script has {len(chapters)}"
    if chapters[0]["start"] != 0:
        return "the first chapter must start at 0:00"
    ends = [c["start"] for c in chapters[1:]] + [duration_s]
    short = [c["title"] for c, e in zip(chapters, ends, strict=True) if e - c["start"] < 10]
    return f"chapters shorter than 10 s: {', '.join(short)}" if short else ""


def written_script(storage: Storage, script_key: str) -> dict[str, Any] | None:
    """The script as its writer wrote it, when ``script_key`` is a reviewer's edit of it (else None)."""
    key = ProductionKeys.written_script(script_key) if script_key else None
    if key is None or not storage.exists(key):
        return None
    try:
        written = json.loads(storage.get_text(key))
    except ValueError:
        return None
    return written if isinstance(written, dict) else None


_LISTED = re.compile(r"^\s*[-*\u2022]\s*(?P<what>.+?)\s*$")


def script_description(script: dict[str, Any], written: dict[str, Any] | None = None) -> str:
    """The description's own text, derived again from the approved script (chapters, sources etc. follow).

    The writer's description repeats its hook and lists its sources; the approved script may have a
    new hook (rewritten at the script checkpoint) and cite fewer facts.  So: where the reviewer left
    the writer's description as it was (``written``: the script before the edit), the old hook in it
    becomes the approved one; a source listed in it that the narration no longer cites is taken out
    (an emptied "Sources:" heading with it).  A description the reviewer rewrote is theirs, except
    for those uncited sources.  An empty description starts with the hook.
    """
    text = str(script.get("description") or "").strip()
    hook = str(script.get("hook") or "").strip()
    if written is not None:
        old_hook = str(written.get("hook") or "").strip()
        untouched = text == str(written.get("description") or "").strip()
        if untouched and old_hook and old_hook != hook and old_hook in text:
            text = text.replace(old_hook, hook)
    if not text:
        return hook
    cited = {str(s.get("source", "")) for s in cited_sources(script)}
    uncited = {str(s.get("source", "")) for s in script.get("sources") or [] if isinstance(s, dict)} - cited - {""}
    if not uncited:
        return text
    kept: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = paragraph.split("\n")
        left = [ln for ln in lines if not ((m := _LISTED.match(ln)) and m["what"] in uncited)]
        if len(left) < len(lines) and (not left or (len(left) == 1 and left[0].rstrip().endswith(":"))):
            continue  # the list was only uncited sources: its heading goes too
        kept.append("\n".join(left))
    return "\n\n".join(kept).strip()


def build_metadata(
    storage: Storage,
    req: PublishRequest,
    script: dict[str, Any],
    duration_s: float = 0.0,
    options: PublishOptions | None = None,
) -> dict[str, Any]:
    """Title, description, tags and chapters, valid for YouTube (``fixes`` says what had to change)."""
    opts = options or PublishOptions()
    title = str(req.extra.get("title") or script.get("title") or req.production_id)
    if req.kind == "short" and "#shorts" not in title.lower():
        title = f"{title[:90]} #shorts"
    timing = find_timing(storage, req) if req.kind == "long" else None
    duration = duration_s or (timing.duration_s if timing else 0.0)
    if not duration and req.kind == "short":
        start, end = req.extra.get("start"), req.extra.get("end")
        if isinstance(start, int | float) and isinstance(end, int | float):
            duration = max(0.0, float(end) - float(start))
    chapters = chapters_from(timing, script)
    # Only what the narration says is listed: a source the script never cites is left out.
    sources = [s for s in cited_sources(script) if s.get("source")]
    credits: dict[str, str] = {}
    credits_key = ProductionKeys(req.production_id).broll_credits()
    if storage.exists(credits_key):
        try:
            credits = json.loads(storage.get_text(credits_key))
        except ValueError:
            credits = {}

    base = script_description(script, written_script(storage, req.script_key))
    lines = [base]
    dropped = ""
    if chapters:
        dropped = _chapters_problem(chapters, duration)
        if not dropped:
            lines += ["", "Chapters:"] + [f"{_stamp(c['start'])} {c['title']}" for c in chapters]
    # The script's own description may already list its sources (in its language): never twice.
    unique_sources = [s for s in dict.fromkeys(s["source"] for s in sources) if s not in base]
    if unique_sources:
        lines += ["", "Sources:"] + [f"- {s}" for s in unique_sources]
    unique_credits = sorted(set(credits.values()))
    if unique_credits:
        lines += ["", "Footage:"] + [f"- {c}" for c in unique_credits]
    if opts.synthetic_disclosure:
        lines += ["", "Narration and visuals in this video are generated."]
    tags = list(dict.fromkeys([*(script.get("tags") or []), *opts.default_tags]))
    meta: dict[str, Any] = {
        "title": title,
        "description": "\n".join(lines).strip(),
        "tags": tags,
        "language": opts.language or str(script.get("language") or "en"),
        "kind": req.kind,
        "channel": req.channel,
        "production_id": req.production_id,
        "chapters": chapters if chapters and not dropped else [],
        "chapters_dropped": dropped,
        "sources": sources,
        "credits": unique_credits,
        "duration_s": round(duration, 3),
        "privacy": opts.privacy,
        "publish_at": opts.publish_at,
        "made_for_kids": opts.made_for_kids,
        "synthetic_disclosure": opts.synthetic_disclosure,
        "category": opts.category,
        "playlist": opts.playlist,
    }
    # A reviewer's hand edit at the final checkpoint (checked there against tubeflow.youtube_limits)
    # wins over what was derived from the script, as in YouTube Studio: the text is the whole field.
    for key in ("description", "tags"):
        if key in req.extra:
            meta[key] = req.extra[key] if key == "description" else list(req.extra[key])
    meta["fixes"] = check_metadata(meta)
    return meta


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def entry_name(req: PublishRequest) -> str:
    if req.kind == "long":
        return req.production_id
    if req.kind == "short":
        return f"{req.production_id}-short-{int(req.extra.get('index', 1))}"
    raise PermanentError(f"publish kind must be 'long' or 'short', not {req.kind!r}")
