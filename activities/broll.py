"""B-roll planning: which image or clip is on screen when, for the whole narration.

Sources are tried in the niche's order (``broll_sources``): the niche's own media library, stock
footage, and generated stills, which never run out and so always close the gap.  Every chosen
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
from typing import Any, Protocol

from activities.stills import make_still, seed_for, short_label
from niches.config import NicheConfig
from tubeflow.contracts import production_prefix
from tubeflow.errors import ConfigError, MediaError, PermanentError
from tubeflow.media.probe import IMAGE_SUFFIXES, probe
from tubeflow.render_plan import MediaItem, NarrationTiming, PlanPart, RenderPlan
from tubeflow.settings import Settings
from tubeflow.storage import Storage

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi"}
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
ITEM_TARGET_S = 4.5  # one picture every ~4.5 s keeps a narration visually alive
MAX_ITEMS = 3
CANDIDATES = 3
REDO_PENALTY = 2.5
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
    """What one plan part needs: its cues and the words that make a file fit."""

    part: int
    cues: list[str]
    weights: dict[str, float]  # token -> weight (cue words 1, feedback words 2, niche keywords 0.5)
    heading: str = ""

    def cue_for(self, slot: int) -> str:
        return self.cues[slot % len(self.cues)] if self.cues else self.heading

    def best_cue(self, words: set[str]) -> str:
        if not self.cues:
            return self.heading
        return max(self.cues, key=lambda c: len(tokens(c) & words))


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
    words: frozenset[str]
    duration_s: float
    sha: str


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
            words = frozenset(tokens(" ".join(rel.with_suffix("").parts)))
            sha = hashlib.sha1(f"{rel}:{p.stat().st_size}:{p.stat().st_mtime_ns}".encode()).hexdigest()[:10]
            self.files.append(LibraryFile(p, kind, words, duration, sha))

    def find(self, query: Query, count: int, avoid: set[str]) -> list[Found]:
        scored = []
        for f in self.files:
            # Niche keywords only rank; a file must share a word with the cues (or the feedback)
            # to qualify, or every "space" file would illustrate every section.
            if not any(query.weights.get(w, 0.0) >= 1.0 for w in f.words):
                continue
            score = sum(query.weights.get(w, 0.0) for w in f.words)
            uid = f"library:{f.sha}"
            # Clips beat stills at equal relevance: motion is what b-roll is for.
            score += 0.25 if f.kind == "video" else 0.0
            penalty = 100.0 if uid in avoid else 0.0
            scored.append((score - penalty, f.path.name, f, uid))
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [
            Found(
                uid=uid,
                kind=f.kind,
                source="library",
                cue=query.best_cue(set(f.words)),
                score=s,
                fetch=lambda _tmp, p=f.path: p,
                name=f"library/{f.sha}-{_safe(f.path.name)}",
                media_duration=f.duration_s,
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
        out = []
        for slot in range(first_slot, first_slot + count):
            cue = query.cue_for(slot)
            seed = seed_for(self.production_id, self.attempt, self.feedback, query.part, slot, cue)
            name = f"gen-v{self.attempt}-p{query.part}-{slot}.jpg"

            def fetch(tmp: Path, cue: str = cue, seed: int = seed, name: str = name) -> Path:
                heading = query.heading if query.heading.strip().lower() != cue.strip().lower() else ""
                return make_still(tmp / name, cue, self.size, self.niche.palette, seed, self.settings, heading)

            out.append(Found(f"generated:{seed:x}", "image", "generated", cue, 0.0, fetch, name))
        return out


# ---------------------------------------------------------------- stock


class StockSource:
    """Pexels-style stock search: one query per cue, videos first, photos to fill."""

    name = "stock"

    def __init__(self, settings: Settings) -> None:
        from activities.stock import StockClient

        self.client = StockClient.from_settings(settings)
        self.width = settings.width
        self._searches: dict[str, list[Any]] = {}  # query -> assets: parts share cues, Pexels counts requests

    def find(self, query: Query, count: int, avoid: set[str]) -> list[Found]:
        from activities.stock import StockAsset

        out: list[Found] = []
        for cue in query.cues or [query.heading]:
            q = " ".join(sorted(tokens(cue))) or cue
            if q not in self._searches:
                found = self.client.search_videos(q, per_page=count, target_width=self.width)
                self._searches[q] = found + self.client.search_photos(q, per_page=count, min_width=self.width)
            assets: list[StockAsset] = self._searches[q]
            for a in assets:
                uid = f"stock:{a.kind}:{a.provider_id}"
                if uid in avoid or any(f.uid == uid for f in out):
                    continue
                name = f"stock/{a.kind}-{_safe(a.provider_id)}{a.suffix}"

                def fetch(tmp: Path, a: StockAsset = a, name: str = name) -> Path:
                    return self.client.download(a, tmp / Path(name).name)

                out.append(Found(uid, a.kind, "stock", cue, 1.0, fetch, name, a.duration_s, a.credit))
                if len(out) >= count:
                    return out
        return out


# ---------------------------------------------------------------- planning


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "file"


def item_count(span_s: float) -> int:
    return max(1, min(MAX_ITEMS, round(span_s / ITEM_TARGET_S)))


def _queries(
    script: dict[str, Any], timing: NarrationTiming, niche: NicheConfig, feedback: Sequence[str]
) -> list[Query]:
    sections = script.get("sections") or []
    fb_words = tokens(" ".join(feedback))
    out = []
    for part in timing.parts:
        lead: list[str] = []  # cues whose words weigh 1; the rest weigh 0.5
        if part.section is None:
            # The hook is about the title; the first section's cues only help to rank.
            first = sections[0] if sections else {}
            lead = [script.get("title", "")]
            cues = [*lead, *first.get("broll_cues", [])]
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
        weights: dict[str, float] = {}
        for w in tokens(" ".join(niche.broll_keywords)):
            weights[w] = 0.5
        for w in tokens(" ".join(cues if not lead else cues[len(lead) :])):
            weights[w] = 0.5 if lead else 1.0
        for w in tokens(" ".join([*lead, heading] if lead else [*cues, heading])):
            weights[w] = 1.0
        for w in fb_words:
            weights[w] = 2.0
        out.append(Query(part=part.index, cues=cues, weights=weights, heading=heading))
    return out


def _previous_picks(storage: Storage, production_id: str, attempt: int) -> set[str]:
    """Keys chosen by the previous attempt, so a rejected plan is not simply offered again."""
    if attempt <= 1:
        return set()
    key = f"{production_prefix(production_id)}/plan-v{attempt - 1}.json"
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
    names = list(niche.broll_sources)
    if settings.broll in ("pexels", "stock") and not ({"stock", "pexels"} & set(names)):
        names.insert(names.index("generated") if "generated" in names else len(names), "stock")
    elif settings.broll not in ("library", "pexels", "stock"):
        raise ConfigError(f"TUBEFLOW_BROLL must be 'library' or 'pexels', not {settings.broll!r}")
    warnings: list[str] = []
    sources: list[BrollSource] = []
    for n in dict.fromkeys(names):
        if n == "library":
            lib = LibrarySource(niche.media_dir)
            warnings.extend(lib.warnings)
            sources.append(lib)
        elif n in ("stock", "pexels"):
            if not settings.stock_api_key:
                if settings.broll in ("pexels", "stock"):
                    raise ConfigError("TUBEFLOW_BROLL=pexels needs TUBEFLOW_STOCK_API_KEY (a Pexels API key)")
                warnings.append(f"niche {niche.name} lists stock b-roll but TUBEFLOW_STOCK_API_KEY is not set; skipped")
                continue
            sources.append(StockSource(settings))
    return sources, GeneratedSource(settings, niche, production_id, attempt, feedback), warnings


@dataclass
class _Uploader:
    storage: Storage
    prefix: str
    tmp: Path
    keys: dict[str, str] = field(default_factory=dict)  # uid -> key

    def put(self, f: Found) -> str:
        if f.uid in self.keys:
            return self.keys[f.uid]
        key = f"{self.prefix}/broll/{f.name}"
        # Library and stock files are content-addressed by name: a retry or redo re-uses the upload.
        if f.source == "generated" or not self.storage.exists(key):
            local = f.fetch(self.tmp)
            if f.source == "stock":
                probe(local, label=f.name)  # a broken download is skipped by the caller, never planned
            self.storage.put_file(key, local, CONTENT_TYPES.get(Path(f.name).suffix.lower()))
        self.keys[f.uid] = key
        return key


def build_plan(
    settings: Settings,
    storage: Storage,
    niche: NicheConfig,
    script: dict[str, Any],
    timing: NarrationTiming,
    production_id: str,
    attempt: int = 1,
    feedback: Sequence[str] = (),
) -> tuple[RenderPlan, list[str]]:
    """Choose 1-3 pictures per narration part plus alternatives, upload them, and return the plan."""
    if not timing.parts:
        raise PermanentError("narration timing has no parts; redo the audio stage")
    prefix = production_prefix(production_id)
    fb = " | ".join(feedback)
    sources, generated, warnings = _sources(settings, niche, production_id, attempt, fb)
    queries = _queries(script, timing, niche, feedback)
    previous = _previous_picks(storage, production_id, attempt)
    used: set[str] = set()
    credits: dict[str, str] = {}
    parts: list[PlanPart] = []
    sections = script.get("sections") or []

    with tempfile.TemporaryDirectory(prefix="tubeflow-broll-") as tmpdir:
        up = _Uploader(storage, prefix, Path(tmpdir))
        for i, (tp, q) in enumerate(zip(timing.parts, queries, strict=True)):
            start = 0.0 if i == 0 else tp.start
            end = timing.parts[i + 1].start if i + 1 < len(timing.parts) else timing.duration_s
            n_items = item_count(end - start)
            need = n_items + CANDIDATES
            pool: list[Found] = []
            for src in sources:
                if len(pool) >= need:
                    break
                try:
                    found = src.find(q, need * 2, used)
                except MediaError as e:
                    warnings.append(f"{src.name} b-roll for part {i}: {e}")
                    continue
                pool.extend(f for f in found if f.uid not in used and all(f.uid != g.uid for g in pool))
            if len(pool) < need:
                # Start at the next cue so stills illustrate what the found media did not.
                pool.extend(generated.find(q, need - len(pool), used, first_slot=len(pool)))
            # Redo: last attempt's picks drop behind fresh ones unless the feedback asks for them
            # (feedback words weigh 2 each, a cue word 1, the penalty 2.5); they stay available as candidates.
            pool.sort(key=lambda f: -(f.score - (REDO_PENALTY if f"{prefix}/broll/{f.name}" in previous else 0.0)))

            chosen: list[tuple[Found, str]] = []
            for f in pool:
                if len(chosen) >= need:
                    break
                try:
                    chosen.append((f, up.put(f)))
                except MediaError as e:
                    warnings.append(f"skipped {f.source} picture {f.name}: {e}")
            while len(chosen) < n_items + 2:  # a failed download must not leave a part without pictures
                extra = generated.find(q, 1, used, first_slot=need + len(chosen))[0]
                chosen.append((extra, up.put(extra)))

            step = (end - start) / n_items
            items, candidates = [], []
            for j, (f, key) in enumerate(chosen):
                if f.credit:
                    credits[key] = f.credit
                m = MediaItem(key=key, kind=f.kind, source=f.source, cue=f.cue, media_duration=f.media_duration)
                if j < n_items:
                    m.start = round(start + j * step, 3)
                    m.end = round(end if j == n_items - 1 else start + (j + 1) * step, 3)
                    items.append(m)
                    used.add(f.uid)
                else:
                    candidates.append(m)
            sec = sections[tp.section] if tp.section is not None and tp.section < len(sections) else {}
            parts.append(
                PlanPart(
                    index=tp.index,
                    label="hook" if tp.section is None else short_label(sec.get("heading", f"section {tp.section}")),
                    start=round(start, 3),
                    end=round(end, 3),
                    items=items,
                    candidates=candidates,
                    short_candidate=bool(sec.get("short_candidate", False)),
                )
            )

    music_key = ""
    if niche.music_path is not None and niche.music_path.is_file():
        music_key = f"{prefix}/music/{_safe(niche.music_path.name)}"
        if not storage.exists(music_key):
            storage.put_file(music_key, niche.music_path)
    if credits:
        storage.put_text(f"{prefix}/broll/credits.json", json.dumps(credits, indent=1), "application/json")
    plan = RenderPlan(
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        duration_s=timing.duration_s,
        parts=parts,
        music_key=music_key,
        caption_style=asdict(niche.caption_style),
        warnings=list(warnings),
    )
    return plan, list(warnings)


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
