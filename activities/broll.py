"""B-roll planning: which image or clip is on screen when, for the whole narration.

For each narration part every source proposes candidates (the niche's media library, stock APIs
for the part's visual queries, and generated stills, which never run out), and all of them are
ranked together by semantic similarity between what is said in the part and the candidate's
description and tags (:mod:`activities.relevance`).  Each part gets as many pictures as the
channel's pace needs (``max_shot_s``: no shot longer than that, so a 10 s part at the 3.5 s
default shows four pictures), and the sources are asked for that many plus alternatives.  A
picture is used once per video (the render only re-frames a picture when the sources ran out), and a
picture the channel used in its last ``TUBEFLOW_BROLL_HISTORY_VIDEOS`` videos only comes back when
nothing else is left.  Every chosen
file, and every alternative offered to the reviewer, is copied into storage under
``productions/<id>/broll/`` so a GPU worker on another machine can fetch it by key.

Plan parts tile the narration timeline: part *i* runs from its own start to the next part's
start (the pause after a part belongs to it), so the render never has a frame without a picture.
A library file that cannot be read is skipped with a warning naming it; one corrupt file must not
stop a production.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from activities.stills import card_name, make_still, seed_for, short_label
from knowledge.feedback import AVOID, parse_avoid
from niches.config import NicheConfig
from tubeflow.errors import ConfigError, MediaError, PermanentError
from tubeflow.keys import ProductionKeys, channel_broll_history
from tubeflow.media.ffmpeg import make_poster
from tubeflow.media.probe import IMAGE_SUFFIXES, probe
from tubeflow.media.subject import subject_centre
from tubeflow.render_plan import (
    DEFAULT_MAX_SHOT_S,
    DEFAULT_SHORTS_MAX_SHOT_S,
    MediaItem,
    NarrationTiming,
    PartTiming,
    PlanPart,
    RenderPlan,
    shot_count,
)
from tubeflow.settings import Settings
from tubeflow.storage import Storage

if TYPE_CHECKING:
    from activities.progress import StageProgress
    from activities.stock import StockApi, StockAsset

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi"}
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
STOCK_PAGE_MAX = 80  # the most results one stock search may ask for (Pexels' page limit)
MAX_ITEMS = 40  # pictures in one part at most (a 2-minute part at the fastest pace)
CANDIDATES = 3
REDO_PENALTY = 0.08  # on the cosine scale: last attempt's picks step behind equally relevant new ones
HISTORY_PENALTY = 1.0  # used in one of the channel's recent videos: behind everything else
VIDEO_BONUS = 0.01  # at equal relevance, motion beats a still
# A generated still's description is its own query words, so it would always look relevant; it is
# handicapped by this much so that real footage about the subject wins, and stills fill the gaps.
GENERATED_HANDICAP = 0.06
STOPWORDS = {
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "its", "of", "on",
    "or", "over", "the", "this", "that", "to", "with", "why", "how", "what", "more", "less", "use", "show", "shot",
    "image", "images", "picture", "pictures", "please", "some", "no", "not", "b", "roll", "broll", "clip", "clips",
    "through", "about", "between", "under", "above", "after", "before", "than", "then", "when", "where", "which",
    "while", "like", "their", "there", "these", "those", "they", "very", "just", "also", "can", "will", "onto",
    "across", "each", "every", "other", "our", "your", "you", "was", "were", "has", "have", "had", "but",
}  # fmt: skip
CONTENT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp",
                 ".mp4": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm"}  # fmt: skip


def tokens(text: str) -> set[str]:
    """Lowercase word stems for matching cues to file names ("Black_holes-2.jpg" -> {black, hole})."""
    out = set()
    for w in re.findall(r"[^\W\d_]+", text.lower()):
        if len(w) < 3 or w in STOPWORDS:
            continue
        out.add(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w)
    return out


@dataclass
class Query:
    """What one plan part needs: its visual queries and the text candidates are ranked against."""

    part: int
    cues: list[str]  # visual search queries (the writer's broll_cues, else the heading)
    text: str  # what is said in the part (+ queries and feedback): the semantic ranking query
    heading: str = ""
    fact: str = ""  # the part's first statement, for a generated title card
    avoid: frozenset[str] = frozenset()  # words reviewers asked to stop seeing: a file with one never qualifies
    recent_videos: int = 0  # how many of the channel's last videos a repeat is counted against (for the reason)

    def cue_for(self, slot: int) -> str:
        return self.cues[slot % len(self.cues)] if self.cues else self.heading

    def reason(self, description: str, *adjustments: str) -> str:
        """Why a candidate scored what it did, in words the reviewer can check against the picture:
        the words it shares with the queries (else with what is said), then each bonus or penalty."""
        said = tokens(description)
        shared = sorted(said & tokens(" ".join(self.cues or [self.heading])))
        if shared:
            why = "matches " + ", ".join(f"'{w}'" for w in shared[:3])
        elif shared := sorted(said & tokens(self.text)):
            why = "shares " + ", ".join(f"'{w}'" for w in shared[:3]) + " with what is said"
        else:
            why = "no words in common with the cue; ranked on meaning alone"
        return "; ".join([why, *(a for a in adjustments if a)])

    def repeat(self, uid: str, recent: set[str]) -> str:
        """The history penalty's reason, or "" when the picture is not a repeat."""
        if uid not in recent:
            return ""
        last = f"the last {self.recent_videos} videos" if self.recent_videos > 1 else "the channel's last video"
        return f"used in {last} (-{HISTORY_PENALTY:.1f})"

    def best_cue(self, description: str) -> str:
        """The query closest to a candidate's description (shown to the reviewer as the query)."""
        if len(self.cues) <= 1:
            return self.cues[0] if self.cues else self.heading
        from activities.relevance import relevance

        sims = [relevance(c, [description])[0] for c in self.cues]
        return self.cues[sims.index(max(sims))]


@dataclass
class Found:
    """A candidate picture from a source; ``fetch`` materialises it locally only when chosen."""

    uid: str  # stable identity across parts and attempts (dedupe, "avoid last attempt's picks")
    kind: str  # image | video
    source: str  # library | stock | generated
    cue: str
    score: float
    fetch: Callable[[Path], Path]  # given a scratch dir, returns a local file
    name: str  # used in the storage key
    media_duration: float = 0.0
    credit: str = ""
    description: str = ""  # what the picture shows: what it was ranked on
    reason: str = ""  # why ``score`` is what it is, in words (Query.reason)

    @property
    def source_name(self) -> str:
        """Which source proposed it: library, generated, or the stock API's name (pexels, pixabay)."""
        return self.uid.split(":", 1)[0]


class BrollSource(Protocol):
    name: str

    def find(self, query: Query, count: int, avoid: set[str]) -> list[Found]:
        """Up to ``count`` pictures for ``query``, best first; ``avoid`` uids go last or are dropped."""
        ...


# ---------------------------------------------------------------- library


@dataclass(frozen=True)
class LibraryFile:
    path: Path
    kind: str
    description: str  # from media/library.yaml, else the words of its file and folder names
    duration_s: float
    sha: str


LIBRARY_INDEX = "library.yaml"


def read_library_index(media_dir: Path, warnings: list[str]) -> dict[str, str]:
    """``media/library.yaml``: relative path -> description text, or {description, tags: [...]}."""
    path = media_dir / LIBRARY_INDEX
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, OSError) as e:
        warnings.append(f"{LIBRARY_INDEX} in {media_dir} cannot be read ({e}); files are matched by name")
        return {}
    if not isinstance(data, dict):
        warnings.append(f"{LIBRARY_INDEX}: expected a mapping of file: description")
        return {}
    out: dict[str, str] = {}
    for name, entry in data.items():
        if isinstance(entry, str):
            out[str(name)] = entry
        elif isinstance(entry, dict):
            tags = entry.get("tags") or []
            tag_text = ", ".join(str(t) for t in tags) if isinstance(tags, list) else str(tags)
            out[str(name)] = ". ".join(x for x in (str(entry.get("description") or ""), tag_text) if x)
        else:
            warnings.append(f"{LIBRARY_INDEX}: entry {name!r} is neither text nor a mapping; ignored")
    return out


_PROBE_CACHE: dict[tuple[str, int, int], tuple[str, float] | str] = {}


def _probe_cached(path: Path) -> tuple[str, float]:
    """(kind, duration) or MediaError; cached on (path, size, mtime) so big libraries probe once."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    hit = _PROBE_CACHE.get(key)
    if isinstance(hit, str):
        raise MediaError(hit)
    if hit is not None:
        return hit
    try:
        info = probe(path, label=path.name)
        if not info.has_video:
            raise MediaError(f"{path.name}: has no picture (audio only); b-roll needs an image or a video")
        result = ("image" if info.is_image or path.suffix.lower() in IMAGE_SUFFIXES else "video", info.duration_s)
    except MediaError as e:
        _PROBE_CACHE[key] = str(e)
        raise
    _PROBE_CACHE[key] = result
    return result


class LibrarySource:
    """The niche's ``media/`` folder: files are matched to cues by the words in their names and folders."""

    name = "library"

    def __init__(self, media_dir: Path) -> None:
        self.media_dir = media_dir
        self.files: list[LibraryFile] = []
        self.warnings: list[str] = []
        self._scan()

    def _scan(self) -> None:
        if not self.media_dir.is_dir():
            return
        index = read_library_index(self.media_dir, self.warnings)
        for p in sorted(self.media_dir.rglob("*")):
            if not p.is_file() or p.name.startswith(".") or p.suffix.lower() not in MEDIA_SUFFIXES:
                continue
            rel = p.relative_to(self.media_dir)
            try:
                kind, duration = _probe_cached(p)
            except MediaError as e:
                self.warnings.append(f"skipped library file {rel}: {e}")
                continue
            except OSError as e:
                self.warnings.append(f"skipped library file {rel}: cannot be read ({e})")
                continue
            named = " ".join(sorted(tokens(" ".join(rel.with_suffix("").parts))))
            described = index.get(rel.as_posix(), "")
            description = f"{described}. {named}" if described else named
            sha = hashlib.sha1(f"{rel}:{p.stat().st_size}:{p.stat().st_mtime_ns}".encode()).hexdigest()[:10]
            self.files.append(LibraryFile(p, kind, description, duration, sha))

    def find(self, query: Query, count: int, avoid: set[str]) -> list[Found]:
        from activities.relevance import relevance

        sims = relevance(query.text, [f.description for f in self.files])
        scored = []
        for f, sim in zip(self.files, sims, strict=True):
            if tokens(f.description) & query.avoid:
                continue  # a review note said to stop showing this
            uid = f"library:{f.sha}"
            penalty = HISTORY_PENALTY if uid in avoid else 0.0
            bonus = VIDEO_BONUS if f.kind == "video" else 0.0
            scored.append((sim + bonus - penalty, f.path.name, f, uid))
        scored.sort(key=lambda t: (-t[0], t[1]))

        def why(f: LibraryFile, uid: str) -> str:
            clip = f"clip (+{VIDEO_BONUS:g})" if f.kind == "video" else ""
            return query.reason(f.description, clip, query.repeat(uid, avoid))

        def local(p: Path) -> Callable[[Path], Path]:
            return lambda _tmp: p

        return [
            Found(
                uid=uid,
                kind=f.kind,
                source="library",
                cue=query.best_cue(f.description),
                score=round(s, 4),
                fetch=local(f.path),
                name=f"library/{f.sha}-{_safe(f.path.name)}",
                media_duration=f.duration_s,
                description=f.description,
                reason=why(f, uid),
            )
            for s, _, f, uid in scored[:count]
        ]


# ---------------------------------------------------------------- generated stills


class GeneratedSource:
    """Pillow stills in the niche palette; the seed includes attempt and feedback so a redo differs."""

    name = "generated"

    def __init__(self, settings: Settings, niche: NicheConfig, production_id: str, attempt: int, feedback: str):
        self.settings = settings
        self.niche = niche
        self.production_id = production_id
        self.attempt = attempt
        self.feedback = feedback
        self.size = (settings.width, settings.height)

    def find(self, query: Query, count: int, avoid: set[str], first_slot: int = 0) -> list[Found]:
        from activities.relevance import relevance

        out = []
        cues = [query.cue_for(slot) for slot in range(first_slot, first_slot + count)]
        sims = relevance(query.text, cues)
        for slot, cue, sim in zip(range(first_slot, first_slot + count), cues, sims, strict=True):
            seed = seed_for(self.production_id, self.attempt, self.feedback, query.part, slot, cue)
            name = f"gen-v{self.attempt}-p{query.part}-{slot}.jpg"

            def fetch(tmp: Path, cue: str = cue, seed: int = seed, name: str = name) -> Path:
                heading = query.heading if query.heading.strip().lower() != cue.strip().lower() else ""
                return make_still(
                    tmp / name, cue, self.size, self.niche.palette, seed, self.settings, heading,
                    fact=query.fact, niche=self.niche, portrait=True,
                )  # fmt: skip

            score = round(sim - GENERATED_HANDICAP, 4)
            why = query.reason(cue, f"generated title card (-{GENERATED_HANDICAP:g}: real footage wins at equal fit)")
            uid = f"generated:{seed:x}"
            out.append(Found(uid, "image", "generated", cue, score, fetch, name, description=cue, reason=why))
        return out


# ---------------------------------------------------------------- stock


class StockSource:
    """A stock API (Pexels or Pixabay): one search per visual query, videos and photos, ranked by
    how well each asset's description (alt text, tags, page slug) fits what is said."""

    def __init__(self, client: StockApi, name: str, width: int) -> None:
        self.client = client
        self.name = name
        self.width = width
        self._searches: dict[str, list[StockAsset]] = {}  # query -> assets: parts share cues, APIs count requests

    def find(self, query: Query, count: int, avoid: set[str]) -> list[Found]:
        from activities.relevance import relevance

        found: list[tuple[str, StockAsset]] = []
        for cue in query.cues or [query.heading]:
            q = " ".join(sorted(tokens(cue) - query.avoid)) or cue
            if q not in self._searches:
                per = min(count, STOCK_PAGE_MAX)
                videos = self.client.search_videos(q, per_page=per, target_width=self.width)
                self._searches[q] = videos + self.client.search_photos(q, per_page=per, min_width=self.width)
            found += [(cue, a) for a in self._searches[q]]
        seen: set[str] = set()
        unique = []
        for cue, a in found:
            uid = f"{self.name}:{a.kind}:{a.provider_id}"
            if tokens(a.description or "") & query.avoid:
                continue  # a review note said to stop showing this
            if uid not in seen:
                seen.add(uid)
                unique.append((cue, a, uid))
        sims = relevance(query.text, [a.description or cue for cue, a, _ in unique])
        out: list[Found] = []
        for (cue, a, uid), sim in zip(unique, sims, strict=True):
            name = f"{self.name}/{a.kind}-{_safe(a.provider_id)}{a.suffix}"

            def fetch(tmp: Path, a: StockAsset = a, name: str = name) -> Path:
                return Path(self.client.download(a, tmp / Path(name).name))

            score = sim + (VIDEO_BONUS if a.kind == "video" else 0.0) - (HISTORY_PENALTY if uid in avoid else 0.0)
            about = a.description or cue
            clip = f"clip (+{VIDEO_BONUS:g})" if a.kind == "video" else ""
            why = query.reason(about, clip, query.repeat(uid, avoid))
            out.append(
                Found(uid, a.kind, "stock", cue, round(score, 4), fetch, name, a.duration_s, a.credit, about, why)
            )
        out.sort(key=lambda f: -f.score)
        return out[:count]


# ---------------------------------------------------------------- planning


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "file"


def item_count(span_s: float, max_shot_s: float = DEFAULT_MAX_SHOT_S) -> int:
    """Pictures a part of ``span_s`` seconds needs so that none stays longer than the pace allows."""
    return min(MAX_ITEMS, shot_count(span_s, max_shot_s))


def _fact_of(text: str, limit: int = 140) -> str:
    """The part's first real statement (openers like "Here is the key." are skipped) for a title card."""
    sentences = [x.strip() for x in re.split(r"(?<=[.!?])\s+", text) if x.strip()]
    longer = [x for x in sentences if len(x.split()) > 5]
    fact = (longer or sentences or [""])[0]
    return short_label(fact, limit) if len(fact) > limit else fact


def _queries(
    script: dict[str, Any],
    timing: NarrationTiming,
    niche: NicheConfig,
    feedback: Sequence[str],
    avoid: Sequence[str] = (),
) -> list[Query]:
    """Per part: visual search queries (the writer's cues) and the text candidates are ranked against
    (what is said, led by the queries and any reviewer feedback, which must steer a redo)."""
    sections = script.get("sections") or []
    avoided = frozenset(tokens(" ".join(avoid)))
    # "No more clips of clouds" names clouds to drop them: it must not pull the ranking towards them.
    steer = " ".join(AVOID.sub("", f) for f in feedback).strip()
    out = []
    for part in timing.parts:
        if part.section is None:
            # The hook is about the title; the first section's queries help find something concrete.
            first = sections[0] if sections else {}
            cues = [script.get("title", ""), *first.get("broll_cues", [])]
            heading = script.get("title", "")
        else:
            if part.section >= len(sections):
                raise PermanentError(
                    f"timing part {part.index} points at section {part.section} but the script has "
                    f"{len(sections)}; redo the audio for this script"
                )
            sec = sections[part.section]
            cues = list(sec.get("broll_cues") or []) or [sec.get("heading", "")]
            heading = sec.get("heading", "")
        cues = [c for c in cues if c.strip()] or [heading or part.text[:60]]
        said = part.text or ""
        # The title keeps every part on the video's subject ("light" in a rainbow video is not city lights).
        topic = script.get("title", "") if part.section is not None else ""
        text = ". ".join(x for x in (steer, "; ".join(cues), said, topic) if x)
        out.append(Query(part=part.index, cues=cues, text=text, heading=heading, fact=_fact_of(said), avoid=avoided))
    return out


def history_key(channel: str) -> str:
    return channel_broll_history(_safe(channel))


def channel_history(storage: Storage, channel: str, production_id: str, keep: int) -> set[str]:
    """Picture uids of the channel's last ``keep`` other productions."""
    if not channel or keep <= 0 or not storage.exists(history_key(channel)):
        return set()
    try:
        entries = json.loads(storage.get_text(history_key(channel)))
    except ValueError:
        return set()
    others = [e for e in entries if isinstance(e, dict) and e.get("production") != production_id][-keep:]
    return {str(u) for e in others for u in e.get("uids", [])}


def record_history(storage: Storage, channel: str, production_id: str, uids: Sequence[str], keep: int) -> None:
    """This production's picks replace its earlier entry (a redo), newest last, ``keep`` + 1 kept."""
    if not channel:
        return
    entries: list[dict[str, Any]] = []
    if storage.exists(history_key(channel)):
        try:
            entries = [e for e in json.loads(storage.get_text(history_key(channel))) if isinstance(e, dict)]
        except ValueError:
            entries = []
    entries = [e for e in entries if e.get("production") != production_id]
    entries.append({"production": production_id, "uids": sorted(set(uids))})
    body = json.dumps(entries[-(max(keep, 0) + 1) :], indent=1)
    storage.put_text(history_key(channel), body, "application/json")


def _previous_picks(storage: Storage, production_id: str, attempt: int) -> set[str]:
    """Keys chosen by the previous attempt, so a rejected plan is not simply offered again."""
    if attempt <= 1:
        return set()
    key = ProductionKeys(production_id).plan(attempt - 1)
    if not storage.exists(key):
        return set()
    try:
        plan = RenderPlan.from_json(storage.get_text(key))
    except (ValueError, KeyError, TypeError):
        return set()
    return {m.key for m in plan.all_items()}


def _sources(
    settings: Settings, niche: NicheConfig, production_id: str, attempt: int, feedback: str
) -> tuple[list[BrollSource], GeneratedSource, list[str]]:
    """The niche's sources in its order, plus the stock source TUBEFLOW_BROLL asks for (before the
    generated stills); a stock source without its key is refused when asked for, skipped when listed."""
    from activities.choices import one_of
    from activities.stock_sources import STOCK_SOURCES, stock_source

    names = list(niche.broll_sources)
    wanted = stock_source(settings.broll)
    if settings.broll != "library" and wanted is None:
        choices = one_of(("library", *(p.choice for p in STOCK_SOURCES)))
        raise ConfigError(f"TUBEFLOW_BROLL must be {choices}, not {settings.broll!r}")
    if wanted is not None and not set(wanted.names()) & set(names):
        names.insert(names.index("generated") if "generated" in names else len(names), wanted.name)
    warnings: list[str] = []
    sources: list[BrollSource] = []
    for n in dict.fromkeys(names):
        stock = stock_source(n)
        if n == "library":
            lib = LibrarySource(niche.media_dir)
            warnings.extend(lib.warnings)
            sources.append(lib)
        elif stock is not None:
            if not stock.api_key(settings):
                if stock is wanted:
                    raise ConfigError(f"TUBEFLOW_BROLL={stock.choice} needs {stock.key_env} ({stock.key_hint})")
                warnings.append(f"niche {niche.name} lists {stock.name} b-roll but {stock.key_env} is not set; skipped")
                continue
            sources.append(StockSource(stock.client(settings), stock.name, settings.width))
    return sources, GeneratedSource(settings, niche, production_id, attempt, feedback), warnings


def store_poster(storage: Storage, poster_key: str, clip: Path, duration_s: float) -> str:
    """A still from the clip's middle under ``poster_key`` (kept when already stored); its key."""
    if not storage.exists(poster_key):
        with tempfile.TemporaryDirectory(prefix="tubeflow-poster-") as tmp:
            still = make_poster(clip, Path(tmp) / "poster.jpg", duration_s)
            storage.put_file(poster_key, still, "image/jpeg")
    return poster_key


@dataclass
class _Uploader:
    storage: Storage
    where: ProductionKeys
    tmp: Path
    warnings: list[str]
    keys: dict[str, str] = field(default_factory=dict)  # uid -> key
    posters: dict[str, str] = field(default_factory=dict)  # clip key -> its poster's key
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> MediaItem.card of a title card
    focus: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> the still's subject

    def put(self, f: Found) -> str:
        if f.uid in self.keys:
            return self.keys[f.uid]
        key = self.where.broll(f.name)
        local: Path | None = None
        # Library and stock files are content-addressed by name: a retry or redo re-uses the upload.
        if f.source == "generated" or not self.storage.exists(key):
            local = f.fetch(self.tmp)
            if f.source == "stock":  # any stock API
                probe(local, label=f.name)  # a broken download is skipped by the caller, never planned
            self.storage.put_file(key, local, CONTENT_TYPES.get(Path(f.name).suffix.lower()))
            self._put_card(key, local)
        if f.kind == "video":
            try:
                clip = local or self.storage.fetch(key)
                self.posters[key] = store_poster(self.storage, self.where.broll_poster(f.name), clip, f.media_duration)
            except MediaError as e:  # the clip is still usable; the reviewer sees it without a still
                self.warnings.append(f"no poster for {f.name}: {e}")
        if f.kind == "image":
            # Where the push heads and the pan is centred: found once here, so every worker agrees.
            self.focus[key] = subject_centre(local or self.storage.fetch(key))
        self.keys[f.uid] = key
        return key

    def _put_card(self, key: str, local: Path) -> None:
        """A title card's portrait twin and where both wrote their words (see activities/stills.py)."""
        sidecar = local.with_name(card_name(local.name))
        if not sidecar.is_file():
            return
        card = json.loads(sidecar.read_text(encoding="utf-8"))
        twin = local.with_name(card.pop("portrait"))
        card["portrait_key"] = self.storage.put_file(self.where.broll(twin.name), twin, "image/jpeg")
        self.cards[key] = card


@dataclass
class _Planning:
    """What every step of one plan reads and adds to: the sources, the pictures used, the warnings."""

    settings: Settings
    storage: Storage
    keys: ProductionKeys
    sources: list[BrollSource]
    generated: GeneratedSource
    warnings: list[str]
    previous: set[str]  # keys the last attempt chose
    recent: set[str]  # uids the channel's last videos showed
    asked: set[str]  # what this review's feedback names
    used: set[str] = field(default_factory=set)  # uids on screen so far
    credits: dict[str, str] = field(default_factory=dict)  # key -> credit line
    max_shot_s: float = DEFAULT_MAX_SHOT_S  # the channel's pace: how many pictures each part needs
    shorts_max_shot_s: float = DEFAULT_SHORTS_MAX_SHOT_S

    def adjusted(self, f: Found) -> float:
        """Last attempt's picks step back, unless the reviewer's feedback names what they show."""
        again = self.keys.broll(f.name) in self.previous and not (self.asked & tokens(f.description))
        return f.score - (REDO_PENALTY if again else 0.0)


def build_plan(
    settings: Settings,
    storage: Storage,
    niche: NicheConfig,
    script: dict[str, Any],
    timing: NarrationTiming,
    production_id: str,
    attempt: int = 1,
    feedback: Sequence[str] = (),
    channel: str = "",
    learned: Sequence[str] = (),
    progress: StageProgress | None = None,
    max_shot_s: float = DEFAULT_MAX_SHOT_S,
    shorts_max_shot_s: float = DEFAULT_SHORTS_MAX_SHOT_S,
) -> tuple[RenderPlan, list[str]]:
    """Choose enough pictures per narration part for the pace plus alternatives, upload them, and
    return the plan.

    ``progress`` counts the pictures as each part's candidates are searched and ranked (the slow
    step: "7 of 12 pictures found").

    ``learned`` holds the channel's and niche's earlier b-roll review notes: what they say to stop
    showing ("no more stock clips of X") is avoided here too, in every later video.  ``max_shot_s``
    is the channel's longest shot (its Shorts': ``shorts_max_shot_s``), written into the plan for
    the render.
    """
    if not timing.parts:
        raise PermanentError("narration timing has no parts; redo the audio stage")
    fb = " | ".join(feedback)
    sources, generated, warnings = _sources(settings, niche, production_id, attempt, fb)
    avoid = parse_avoid([*learned, *feedback])
    if avoid:
        warnings.append(f"avoiding {', '.join(avoid)} (review notes)")
    queries = _queries(script, timing, niche, feedback, avoid)
    for q in queries:
        q.recent_videos = settings.broll_history_videos
    previous = _previous_picks(storage, production_id, attempt)
    recent = channel_history(storage, channel, production_id, settings.broll_history_videos)
    keys = ProductionKeys(production_id)
    ctx = _Planning(settings, storage, keys, sources, generated, warnings, previous, recent, tokens(fb))
    ctx.max_shot_s, ctx.shorts_max_shot_s = max_shot_s, shorts_max_shot_s
    if progress is not None:
        progress.start(sum(item_count(end - start, max_shot_s) for start, end in _part_bounds(timing)))
    spans, pools = _candidate_pools(ctx, timing, queries, progress.count if progress is not None else None)
    claimed, picks = _claim_best_fits(ctx, pools, spans)
    parts: list[PlanPart] = []
    with tempfile.TemporaryDirectory(prefix="tubeflow-broll-") as tmpdir:
        up = _Uploader(storage, keys, Path(tmpdir), warnings)
        for i, (tp, q) in enumerate(zip(timing.parts, queries, strict=True)):
            pool = _in_offer_order(ctx, pools[i], picks[i], claimed, i, spans[i][2])
            chosen = _upload_chosen(ctx, up, pool, q, spans[i][2])
            parts.append(_plan_part(ctx, tp, spans[i], chosen, script.get("sections") or [], up.posters, up.focus))
    for m in (m for p in parts for m in (*p.items, *p.candidates)):
        m.card = up.cards.get(m.key, {})
    plan = _finish_plan(ctx, niche, channel, production_id, timing, parts)
    plan.title = str(script.get("title", ""))
    return plan, list(warnings)


Span = tuple[float, float, int]  # a part's start and end on the timeline, and how many pictures it shows


def _part_bounds(timing: NarrationTiming) -> list[tuple[float, float]]:
    """Each part's stretch of the timeline: from its start (the first from 0) to the next part's."""
    parts = timing.parts
    return [
        (0.0 if i == 0 else tp.start, parts[i + 1].start if i + 1 < len(parts) else timing.duration_s)
        for i, tp in enumerate(parts)
    ]


def _candidate_pools(
    ctx: _Planning, timing: NarrationTiming, queries: list[Query], on_part: Callable[[int], None] | None = None
) -> tuple[list[Span], list[list[Found]]]:
    """Step 1: every part's candidates from every source, on one scale; ``on_part(n)`` once a part's
    ``n`` pictures have their candidates."""
    spans: list[Span] = []
    pools: list[list[Found]] = []
    for i, ((start, end), q) in enumerate(zip(_part_bounds(timing), queries, strict=True)):
        n_items = item_count(end - start, ctx.max_shot_s)
        spans.append((start, end, n_items))
        pool: list[Found] = []
        for src in ctx.sources:
            try:
                found = src.find(q, (n_items + CANDIDATES) * 2, ctx.recent)
            except MediaError as e:
                ctx.warnings.append(f"{src.name} b-roll for part {i}: {e}")
                continue
            pool.extend(f for f in found if all(f.uid != g.uid for g in pool))
        # Stills compete on the same scale (handicapped), so they fill in where nothing real fits.
        pool.extend(ctx.generated.find(q, n_items + CANDIDATES, set(), first_slot=0))
        # Redo: last attempt's picks step behind equally relevant fresh ones; feedback is part of the
        # ranking text, so what the reviewer asked for rises.  They stay available as candidates.
        pool.sort(key=lambda f: -ctx.adjusted(f))
        pools.append(pool)
        if on_part is not None:
            on_part(n_items)
    return spans, pools


def _claim_best_fits(
    ctx: _Planning, pools: list[list[Found]], spans: list[Span]
) -> tuple[dict[str, int], list[list[Found]]]:
    """Step 2: a picture goes to the part it fits best (best pairs first), once per video, and only
    where it beats that part's designed still.  Returns uid -> part, and each part's picks."""
    claimed: dict[str, int] = {}
    picks: list[list[Found]] = [[] for _ in pools]
    floor = [max((ctx.adjusted(f) for f in pool if f.source == "generated"), default=-1.0) for pool in pools]
    pairs = [(ctx.adjusted(f), i, f) for i, pool in enumerate(pools) for f in pool if f.source != "generated"]
    for score, i, f in sorted(pairs, key=lambda t: (-t[0], t[1])):
        if f.uid not in claimed and len(picks[i]) < spans[i][2] and score > floor[i]:
            claimed[f.uid] = i
            picks[i].append(f)
    return claimed, picks


def _in_offer_order(
    ctx: _Planning, pool: list[Found], picks: list[Found], claimed: dict[str, int], i: int, n_items: int
) -> list[Found]:
    """Step 3, per part: on screen the claimed pictures, then stills; offered: real alternatives
    first (the reviewer should see what exists), one still among them; then everything else."""
    free = [f for f in pool if claimed.get(f.uid, i) == i and f not in picks and f.uid not in ctx.used]
    stills = [f for f in free if f.source == "generated"]
    # Two cards with the same words side by side look like a glitch: distinct queries first.
    firsts: list[Found] = []
    for f in stills:
        if all(f.cue != g.cue for g in firsts):
            firsts.append(f)
    stills = firsts + [f for f in stills if f not in firsts]
    real = [f for f in free if f.source != "generated"]
    shown = (picks + stills)[:n_items]
    left = [f for f in real if f not in shown]
    # The best of every source first (library, each stock API), so the reviewer can swap in any of them.
    best_each = [f for k, f in enumerate(left) if all(g.source_name != f.source_name for g in left[:k])]
    offered = best_each + [f for f in left if f not in best_each]
    offered = offered[: max(CANDIDATES - 1, len(best_each))]
    return shown + offered + [f for f in stills if f not in shown] + [f for f in real if f not in offered]


def _upload_chosen(ctx: _Planning, up: _Uploader, pool: list[Found], q: Query, n_items: int) -> list[tuple[Found, str]]:
    """Step 4, per part: upload pictures in offer order until the part has its items and candidates."""
    # Room for the best alternative of every source and one still, at least CANDIDATES of them.
    sources = {f.source_name for f in pool if f.source != "generated"}
    need = n_items + max(CANDIDATES, len(sources) + 1)
    chosen: list[tuple[Found, str]] = []
    for f in pool:
        if len(chosen) >= need:
            break
        try:
            chosen.append((f, up.put(f)))
        except MediaError as e:
            ctx.warnings.append(f"skipped {f.source} picture {f.name}: {e}")
    while len(chosen) < n_items + 2:  # a failed download must not leave a part without pictures
        extra = ctx.generated.find(q, 1, ctx.used, first_slot=need + len(chosen))[0]
        chosen.append((extra, up.put(extra)))
    return chosen


def _plan_part(
    ctx: _Planning,
    tp: PartTiming,
    span: Span,
    chosen: list[tuple[Found, str]],
    sections: list[dict[str, Any]],
    posters: dict[str, str],
    focus: dict[str, tuple[float, float]],
) -> PlanPart:
    """Step 5, per part: the first pictures share the part's time on screen, the rest are candidates."""
    start, end, n_items = span
    step = (end - start) / n_items
    items, candidates = [], []
    for j, (f, key) in enumerate(chosen):
        if f.credit:
            ctx.credits[key] = f.credit
        fx, fy = focus.get(key, (0.5, 0.5))
        m = MediaItem(
            key=key, kind=f.kind, source=f.source, cue=f.cue, media_duration=f.media_duration,
            score=f.score, description=short_label(f.description, 120), reason=f.reason,
            poster=posters.get(key, ""), focus_x=fx, focus_y=fy,
        )  # fmt: skip
        if j < n_items:
            m.start = round(start + j * step, 3)
            m.end = round(end if j == n_items - 1 else start + (j + 1) * step, 3)
            items.append(m)
            ctx.used.add(f.uid)
        else:
            candidates.append(m)
    sec = sections[tp.section] if tp.section is not None and tp.section < len(sections) else {}
    return PlanPart(
        index=tp.index,
        label="hook" if tp.section is None else short_label(sec.get("heading", f"section {tp.section}")),
        start=round(start, 3),
        end=round(end, 3),
        items=items,
        candidates=candidates,
        short_candidate=bool(sec.get("short_candidate", False)),
    )


def _finish_plan(
    ctx: _Planning, niche: NicheConfig, channel: str, production_id: str, timing: NarrationTiming, parts: list[PlanPart]
) -> RenderPlan:
    """Step 6: the music and the credits stored beside the pictures, the channel's history updated."""
    storage, settings = ctx.storage, ctx.settings
    music_key = ""
    if niche.music_path is not None and niche.music_path.is_file():
        music_key = ctx.keys.music(_safe(niche.music_path.name))
        if not storage.exists(music_key):
            storage.put_file(music_key, niche.music_path)
    if ctx.credits:
        storage.put_text(ctx.keys.broll_credits(), json.dumps(ctx.credits, indent=1), "application/json")
    record_history(storage, channel, production_id, sorted(ctx.used), settings.broll_history_videos)
    return RenderPlan(
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        duration_s=timing.duration_s,
        parts=parts,
        music_key=music_key,
        caption_style=asdict(niche.caption_style),
        warnings=list(ctx.warnings),
        max_shot_s=ctx.max_shot_s,
        shorts_max_shot_s=ctx.shorts_max_shot_s,
    )


def apply_swaps(plan: RenderPlan, swaps: dict[str, str]) -> RenderPlan:
    """Put reviewer-chosen candidates on screen.

    ``swaps`` maps a plan part index (``"2"``, or ``"hook"`` for part 0) to a candidate key; the
    candidate replaces the part's first item, or item *j* with ``"2.j"``.  The replaced item becomes
    a candidate, so the swap can be undone.  Anything unknown is a PermanentError listing the choices.
    """
    new = RenderPlan.from_json(plan.to_json())
    by_index = {p.index: p for p in new.parts}
    for where, cand_key in swaps.items():
        raw = "0" if where == "hook" else str(where)
        m = re.fullmatch(r"(\d+)(?:\.(\d+))?", raw)
        part = by_index.get(int(m.group(1))) if m else None
        if m is None or part is None:
            raise PermanentError(f"b-roll swap names part {where!r}, but the plan has parts {sorted(by_index)}")
        slot = int(m.group(2) or 0)
        if slot >= len(part.items):
            raise PermanentError(f"b-roll swap: part {part.index} has {len(part.items)} item(s); {where!r} is not one")
        idx = next((k for k, c in enumerate(part.candidates) if c.key == cand_key), None)
        if idx is None:
            choices = ", ".join(c.key for c in part.candidates) or "none"
            raise PermanentError(
                f"b-roll swap: {cand_key!r} is not a candidate of part {part.index}; choose one of {choices}"
            )
        old = part.items[slot]
        chosen = part.candidates.pop(idx)
        chosen.start, chosen.end = old.start, old.end
        old.start = old.end = 0.0
        part.items[slot] = chosen
        part.candidates.insert(idx, old)
    return new
