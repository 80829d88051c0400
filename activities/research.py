"""Research, knowledge first: what the store already knows, then the niche's notes, then Wikipedia.

The store is asked first.  When it returns too few fresh facts, the niche's curated notes are
ingested (they are local and reviewed), and when ``settings.research_online`` is on and the
facts are still thin, Wikipedia's REST API is asked.  Everything found is stored with its
source so the next production on a nearby topic starts from knowledge.  Each returned fact says
where it came from ("knowledge", "notes" or "wikipedia"), which the script checkpoint shows.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from knowledge.search import RankedFact, rank_facts
from knowledge.store import NewFact, add_facts, utcnow
from knowledge.text import jaccard, tokens
from niches.config import NicheConfig
from niches.router import NicheComponents, NicheRouter
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError, TransientError
from tubeflow.settings import Settings

log = logging.getLogger(__name__)

MIN_FACTS = 4  # below this many fresh, relevant facts the store counts as thin
FACT_LIMIT = 8
STALE_AFTER = timedelta(days=90)  # a fact not re-confirmed for this long no longer counts as fresh
NOTES_TTL = timedelta(days=365)
NOTES_CONFIDENCE = 0.9
WIKIPEDIA_TTL = timedelta(days=180)
WIKIPEDIA_CONFIDENCE = 0.7
WIKIPEDIA_PAGES = 3
USER_AGENT = "tubeflow/0.1 (open-source video pipeline; https://github.com/tubeflow/tubeflow)"
SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9À-Ý\"“])")


@dataclass
class ResearchOutput:
    facts: list[dict[str, Any]]  # {"claim", "source", "sources", "confidence", "origin"}
    sources: list[str]
    origins: dict[str, int] = field(default_factory=dict)  # origin -> count, for logs and the UI
    notes: list[str] = field(default_factory=list)  # what research did, in words


def _components(settings: Settings, niche: NicheConfig | str, channel: str | None) -> NicheComponents:
    return NicheRouter(settings).for_niche(niche, channel)


async def ingest_notes(db: Database, comp: NicheComponents, now: datetime) -> list[int]:
    """Store the niche's notes as facts (refreshing known ones); returns ids of new rows."""
    new: list[NewFact] = []
    for note in comp.notes():
        for f in note.facts:
            new.append(NewFact(f.claim, f.source, NOTES_CONFIDENCE, "notes", note.title, None, NOTES_TTL))
    if not new:
        return []
    return await add_facts(db, comp.niche.name, new, language=comp.niche.language, now=now)


def wikipedia_base(settings: Settings, language: str) -> str:
    """The niche's language edition when the default English site is configured."""
    base = settings.wikipedia_base_url.rstrip("/")
    lang = language.split("-")[0]
    if lang != "en" and re.match(r"^https://en\.wikipedia\.org$", base):
        return f"https://{lang}.wikipedia.org"
    return base


def _sentences(extract: str) -> list[str]:
    out = []
    for s in SENTENCE_SPLIT.split(" ".join(extract.split())):
        words = len(s.split())
        if 6 <= words <= 60 and s.endswith((".", "!", "?")):
            out.append(s)
    return out


async def _get_json(client: httpx.AsyncClient, url: str, params: dict[str, Any] | None = None) -> Any:
    try:
        resp = await client.get(url, params=params)
    except httpx.HTTPError as e:
        raise TransientError(f"Wikipedia is unreachable ({e.__class__.__name__}: {e})") from e
    if resp.status_code == 404:
        return None
    if resp.status_code == 429 or resp.status_code >= 500:
        retry = resp.headers.get("retry-after")
        raise TransientError(
            f"Wikipedia answered {resp.status_code}", retry_after_s=float(retry) if retry and retry.isdigit() else None
        )
    if resp.status_code >= 400:
        raise PermanentError(f"Wikipedia refused {url} with HTTP {resp.status_code}; check TUBEFLOW_WIKIPEDIA_BASE_URL")
    return resp.json()


async def wikipedia_facts(
    settings: Settings, topic: str, language: str = "en", *, pages: int = WIKIPEDIA_PAGES, per_page: int = 6
) -> list[NewFact]:
    """Sentences from the summaries of the best-matching articles, each citing its article."""
    base = wikipedia_base(settings, language)
    topic_tokens = set(tokens(topic))
    facts: list[NewFact] = []
    async with httpx.AsyncClient(timeout=15.0, headers={"User-Agent": USER_AGENT}, follow_redirects=True) as client:
        found = await _get_json(client, f"{base}/w/rest.php/v1/search/page", {"q": topic, "limit": pages})
        titles = [p.get("key") or p.get("title") for p in (found or {}).get("pages", []) if isinstance(p, dict)]
        for title in [t for t in titles if t][:pages]:
            summary = await _get_json(client, f"{base}/api/rest_v1/page/summary/{quote(title, safe='')}")
            if not isinstance(summary, dict) or summary.get("type") == "disambiguation":
                continue
            extract = str(summary.get("extract") or "")
            if not topic_tokens & set(tokens(f"{summary.get('title', '')} {extract}")):
                continue  # the search matched something unrelated
            url = (summary.get("content_urls") or {}).get("desktop", {}).get("page") or f"{base}/wiki/{quote(title)}"
            for sentence in _sentences(extract)[:per_page]:
                facts.append(
                    NewFact(sentence, url, WIKIPEDIA_CONFIDENCE, "wikipedia", topic, None, WIKIPEDIA_TTL),
                )
    return facts


def narrative_order(ranked: list[RankedFact]) -> list[RankedFact]:
    """Keep the chosen facts but tell them in the order they were written down.

    Notes are written as an explanation (cause before consequence); relevance order is not.
    Facts are grouped by the topic they were gathered for, best group first, then by id.
    """
    best: dict[str, float] = {}
    for f in ranked:
        best[f.topic] = max(best.get(f.topic, 0.0), f.score)
    return sorted(ranked, key=lambda f: (-best[f.topic], f.topic, f.id))


async def research(
    settings: Settings,
    db: Database,
    niche: NicheConfig | str,
    channel: str | None,
    topic: str,
    *,
    now: datetime | None = None,
    limit: int = FACT_LIMIT,
) -> ResearchOutput:
    """Facts for ``topic`` in ``niche``, knowledge first; never reads another niche's facts."""
    topic = " ".join(topic.split())
    if not topic:
        raise PermanentError("research needs a topic")
    now = now or utcnow()
    comp = _components(settings, niche, channel)
    name, language = comp.niche.name, comp.niche.language
    notes_log: list[str] = []

    ranked = await rank_facts(db, name, topic, limit, now, channel=channel, language=language)
    fresh = [f for f in ranked if now - f.last_seen <= STALE_AFTER]
    new_origin: dict[int, str] = {}
    if len(fresh) < MIN_FACTS:
        ids = await ingest_notes(db, comp, now)
        new_origin.update((i, "notes") for i in ids)
        notes_log.append(f"knowledge had {len(fresh)} fresh fact(s); read {comp.notes_dir.name}/ ({len(ids)} new)")
        ranked = await rank_facts(db, name, topic, limit, now, channel=channel, language=language)
        fresh = [f for f in ranked if now - f.last_seen <= STALE_AFTER]
    asked_recently = any(f.origin == "wikipedia" and jaccard(f.topic, topic) >= 0.6 for f in fresh)
    if asked_recently:
        notes_log.append("Wikipedia was asked about this topic recently; using what it gave")
    if len(fresh) < MIN_FACTS and settings.research_online and not asked_recently:
        try:
            found = await wikipedia_facts(settings, topic, language)
        except TransientError as e:
            if ranked:  # we can still write from what we have; say so instead of failing
                notes_log.append(f"Wikipedia skipped: {e}")
                found = []
            else:
                raise
        ids = await add_facts(db, name, found, language=language, now=now)
        new_origin.update((i, "wikipedia") for i in ids)
        notes_log.append(f"Wikipedia: {len(found)} sentence(s), {len(ids)} new fact(s)")
        ranked = await rank_facts(db, name, topic, limit, now, channel=channel, language=language)

    rank = {f.id: i + 1 for i, f in enumerate(ranked)}
    facts = [f.to_dict(new_origin.get(f.id, "knowledge"), rank[f.id]) for f in narrative_order(ranked)]
    sources = list(dict.fromkeys(s for f in ranked for s in f.sources))
    origins: dict[str, int] = {}
    for f in facts:
        origins[f["origin"]] = origins.get(f["origin"], 0) + 1
    for line in notes_log:
        log.info("research %s/%s %r: %s", name, channel, topic, line)
    return ResearchOutput(facts=facts, sources=sources, origins=origins, notes=notes_log)
