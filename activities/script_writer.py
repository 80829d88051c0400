"""Script writers: the deterministic offline writer (default) and the LLM writer.

Both return a dict in the shape of :mod:`tubeflow.script_schema`.  A rejection's feedback must
visibly change the redo where it asked, and the script says, note by note and ask by ask, whether
it did (``feedback_handling``, checked after writing by :mod:`activities.script_feedback`;
``feedback_applied`` lists only notes that were followed in full).  Learnings of the niche
(earlier reviews) shape new scripts too, but only the niche's own: they are read through the
niche's knowledge scope.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from activities.llm import ChatClient, TokenUsage, make_llm_client
from activities.script_feedback import (
    LLM_HINT,
    OFFLINE_CANNOT,
    Intent,
    applied_notes,
    handle_notes,
    note_attempts,
    resolve_section,
)
from activities.script_phrases import PHRASES as PHRASES  # the offline writer's languages (service/languages)
from activities.script_phrases import (
    KeyPhrases,
    Phrases,
    hook_options,
    joined,
    opening,
    phrases_for,
    visual_phrases,
)
from knowledge.feedback import Ask, Directives, parse_feedback, split_asks
from knowledge.store import LearningRecord, add_learning, get_learnings
from knowledge.text import fold, raw_tokens, tokens
from niches.config import NicheConfig
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.script_diff import REPEAT_WORDS, longest_shared_run
from tubeflow.script_schema import ScriptInvalid, validate_script
from tubeflow.settings import Settings

WORDS_PER_MINUTE = 150
MAX_SECTIONS = 6
WRAP_RESERVE = 25  # words kept for the wrap-up section
HOOK_RESERVE = 20  # words kept for the hook
OPENER_WORDS = 4  # "Here is the key." before each section
LEARNINGS_IN_PROMPT = 8


class ScriptWriter(Protocol):
    name: str

    @property
    def usage(self) -> TokenUsage: ...  # tokens this writer's calls used (the LLM bill)

    async def write(
        self,
        *,
        topic: str,
        niche: NicheConfig,
        facts: list[dict[str, Any]],
        feedback: list[str] | None = None,
        attempt: int = 1,
        db: Database | None = None,
        channel: str | None = None,
        earlier: Mapping[int, dict[str, Any]] | None = None,  # earlier attempts' scripts, by attempt
    ) -> dict[str, Any]: ...


async def niche_learnings(db: Database | None, niche: NicheConfig, channel: str | None) -> list[LearningRecord]:
    """The niche's learnings (and this channel's own); none without a database."""
    if db is None:
        return []
    # Notes about the voice, the b-roll, the render or the thumbnails teach those stages, not the writer.
    # Topic and thumbnail outcomes from analytics rank topics and thumbnails; retention ones are the writer's.
    other_stages = (
        *(f"review:{st}" for st in ("audio", "broll", "render", "thumbnail", "final")),
        "analytics:topic",
        "analytics:thumbnail",
    )
    return await get_learnings(db, niche.name, channel, limit=LEARNINGS_IN_PROMPT, exclude_origins=other_stages)


async def viewer_learnings(db: Database | None, niche: NicheConfig, channel: str | None) -> list[str]:
    """What the channel's audience-retention numbers taught, with their evidence, for the script checkpoint."""
    out = []
    for lr in await niche_learnings(db, niche, channel):
        if lr.origin == "analytics:retention":
            ev = lr.evidence or {}
            ids = ", ".join(str(v) for v in ev.get("video_ids") or [])
            out.append(
                f"{lr.text} [evidence: video {ids}, {ev.get('section', '')} {ev.get('start_s', 0):.0f}-"
                f"{ev.get('end_s', 0):.0f} s, retention {ev.get('retention_start')} -> {ev.get('retention_end')}]"
            )
    return out


async def learn_from_review(db: Database, niche: str, channel: str | None, stage: str, feedback: str) -> int | None:
    """Keep a reviewer's feedback as a learning of the niche, shaping later scripts of that niche only."""
    if not feedback.strip():
        return None
    return await add_learning(db, niche, feedback, f"review:{stage}", channel=None)


# ---------------------------------------------------------------- phrasing (activities/script_phrases.py)


def _title(topic: str, language: str) -> str:
    t = topic.strip().rstrip(".!")
    if language.startswith("en"):
        small = {"a", "an", "the", "of", "in", "on", "and", "or", "to", "is", "for", "at", "by"}
        words = t.split()
        t = " ".join(w if (i and w.lower() in small) else (w[0].upper() + w[1:]) for i, w in enumerate(words))
    else:
        t = t[0].upper() + t[1:] if t else t
    return t[:100]


def _words(text: str) -> int:
    return len(text.split())


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


_visual_phrases = visual_phrases  # the name the b-roll cues were first written with


def broll_cues(narration: str, heading: str, niche_keywords: Sequence[str] = ()) -> list[str]:
    """Visual search queries from what the part says: noun-phrase-like runs of content words from its
    facts (openers like "Here is the key." are skipped), those naming a niche keyword first."""
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", narration) if len(x.split()) > 5] or [narration]
    phrases = list(dict.fromkeys(p for sent in sentences for p in _visual_phrases(sent)))
    keywords = {fold(k) for k in niche_keywords}
    ranked = sorted(
        phrases,
        key=lambda p: (-any(k in fold(p) for k in keywords), -min(len(p.split()), 2), phrases.index(p)),
    )
    cues = [p for p in ranked if len(p.split()) >= 2][:3]
    for p in ranked:
        if len(cues) >= 3:
            break
        if p not in cues and len(p) > 4:
            cues.append(p)
    return cues or [heading.lower()]


def follow_edit(
    edited: dict[str, Any], written: dict[str, Any] | None, niche_keywords: Sequence[str] = ()
) -> tuple[dict[str, Any], list[int]]:
    """The reviewer's script with the b-roll cues of every rewritten section derived again from its text.

    The dashboard sends the whole script back, cues included, so a rewritten section would keep the
    cues of words no longer said ("next time someone").  A section's cues are the writer's when some
    section of ``written`` (the script before the edit) had exactly them; they are derived again from
    the section's narration unless that writer's section said the same words (untouched).  Cues no
    written section had are the reviewer's and kept; a section without cues gets some.  Matching by
    cues rather than by position keeps this right when sections were cut or moved.  Returns the
    script and the indexes of the sections whose cues were derived again.
    """
    said_with: dict[tuple[str, ...], set[str]] = {}
    for sec in (written or {}).get("sections") or []:
        if isinstance(sec, dict):
            cues = tuple(str(c) for c in sec.get("broll_cues") or [])
            said_with.setdefault(cues, set()).add(str(sec.get("narration", "")).strip())
    out = dict(edited)
    sections = [dict(sec) for sec in edited.get("sections") or []]
    redone: list[int] = []
    for i, sec in enumerate(sections):
        cues = tuple(str(c) for c in sec.get("broll_cues") or [])
        narration = str(sec.get("narration", "")).strip()
        if cues and (cues not in said_with or narration in said_with[cues]):
            continue  # the reviewer's own cues, or the writer's for these very words
        sec["broll_cues"] = broll_cues(narration, str(sec.get("heading", "")), niche_keywords)
        redone.append(i)
    out["sections"] = sections
    return out, redone


def _relevance(fact: dict[str, Any], what: str) -> int:
    """How many of the words ``what`` names the claim says (stems: "sunsets" ~ "sunset"); 0 when
    that is fewer than most of them."""
    want = set(tokens(what))
    got = len(want & set(tokens(str(fact.get("claim", "")))))
    return got if want and got >= max(1, math.ceil(0.6 * len(want))) else 0


def _relevant(fact: dict[str, Any], what: str) -> bool:
    return _relevance(fact, what) > 0


def _first_clause(claim: str) -> str:
    return re.split(r";|, so |, which |, então |, que ", claim)[0].strip()


def _facts_in(section: dict[str, Any], claims: list[str]) -> list[str]:
    """The claims a section of an earlier attempt said (whole, or shortened to their first clause)."""
    narration = section.get("narration", "")
    return [c for c in claims if _said(narration, c) or _said(narration, _first_clause(c))]


def _said(narration: str, claim: str) -> bool:
    norm = " ".join(re.sub(r"[^\w]+", "", w.lower()) for w in claim.split())
    return bool(norm) and norm in " ".join(re.sub(r"[^\w]+", "", w.lower()) for w in narration.split())


def _is_wrap(sections: list[dict[str, Any]], i: int, p: Phrases) -> bool:
    return i == len(sections) - 1 and sections[i]["heading"] == p.wrap_heading


@dataclass
class Edits:
    """What the notes ask of the new attempt, read against the attempt each note was about."""

    exclude: set[str] = field(default_factory=set)  # claims not said (a dropped section, a shortened one)
    together: list[list[str]] = field(default_factory=list)  # claims said in one section (a merge)
    trim: dict[str, str] = field(default_factory=dict)  # claim -> the shorter wording said
    bare: set[str] = field(default_factory=set)  # claims whose section loses its opener
    force: list[str] = field(default_factory=list)  # claims said whatever the word budget
    drop_wrap: bool = False
    short_wrap: bool = False
    hook_max_words: int | None = None
    hook_min_words: int | None = None
    avoid_hooks: set[str] = field(default_factory=set)
    title_max_chars: int | None = None
    title_min_chars: int | None = None
    avoid_titles: set[str] = field(default_factory=set)


# ---------------------------------------------------------------- the offline writer


class OfflineWriter:
    """Builds a script from the researched facts with per-language connecting phrases; no network.
    Follows what it can of each note (shorter/longer script, hook, title or section; a named fact
    from the notes; dropping or merging a section; a new or re-toned hook) and says which it cannot."""

    name = "offline"

    @property
    def usage(self) -> TokenUsage:
        return TokenUsage()  # no model, no tokens

    async def write(
        self,
        *,
        topic: str,
        niche: NicheConfig,
        facts: list[dict[str, Any]],
        feedback: list[str] | None = None,
        attempt: int = 1,
        db: Database | None = None,
        channel: str | None = None,
        earlier: Mapping[int, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        feedback = [f for f in (feedback or []) if f and f.strip()]
        before_by_attempt = dict(earlier or {})
        learned = [lr.text for lr in await niche_learnings(db, niche, channel) if lr.text not in feedback]
        style = parse_feedback(learned, style_only=True)
        now = parse_feedback(feedback)
        d = Directives(
            length_factor=style.length_factor * now.length_factor,
            energetic=now.energetic or (style.energetic and not now.calmer),
            calmer=now.calmer or (style.calmer and not now.energetic),
            new_title=now.new_title,
            mentions=now.mentions,
        )
        extra = await self._mention_facts(d.mentions, facts, niche, db, channel)
        asks = [(note, ask) for note in feedback for ask in split_asks(note)]
        explained = {a.what for _, a in asks if a.kind == "explain"}
        # "Explain X" with nothing known about X is not followed by naming X: it is said so instead.
        extra = {w: f for w, f in extra.items() if f is not None or w not in explained}
        claims = [str(f["claim"]) for f in facts if str(f.get("claim", "")).strip()]
        claims += [str(f["claim"]) for f in extra.values() if f is not None and str(f["claim"]) not in claims]
        about = note_attempts(feedback, before_by_attempt.get(attempt - 1), attempt)
        p = phrases_for(niche.language)
        edits, intents = Edits(), {}
        for note, ask in asks:
            intents[ask] = self._plan(ask, before_by_attempt.get(about[note]), claims, extra, edits, p, niche, topic)
        script = self.compose(topic, niche, facts, d, extra, edits)
        handling = handle_notes(feedback, before_by_attempt, script, attempt, intents)
        script["feedback_handling"] = handling
        script["feedback_applied"] = applied_notes(handling) + [
            f"niche learning: {t}" for t in learned if not parse_feedback([t], style_only=True).empty
        ]
        script["viewer_learnings"] = await viewer_learnings(db, niche, channel)
        return script

    def _plan(
        self,
        ask: Ask,
        before: dict[str, Any] | None,
        claims: list[str],
        extra: dict[str, dict[str, Any] | None],
        e: Edits,
        p: Phrases,
        niche: NicheConfig,
        topic: str,
    ) -> Intent:
        """Turn one ask into edits of the new attempt, or say why the offline writer cannot follow it."""
        kind = ask.kind
        if kind == "other":
            return Intent(why_not=OFFLINE_CANNOT)
        if kind in ("mention", "explain"):
            fact = extra.get(ask.what)
            if fact is not None:
                return Intent(fact=str(fact["claim"]))
            if kind == "explain":
                return Intent(
                    why_not=f"no fact about “{ask.what}” in the niche's notes or knowledge, and the offline writer "
                    f"says only sourced facts: add it with its source to {niche.notes_dir}, or {LLM_HINT}"
                )
            return Intent(
                note=f"only named: no fact about it in the niche's notes (add one with its source to {niche.notes_dir})"
            )
        if before is None or (kind in ("shorter", "longer") and ask.scope == "script"):
            return Intent()  # the length factor does it; the check says whether it was enough
        secs = before.get("sections") or []
        if kind in ("energetic", "calmer", "hook"):
            e.avoid_hooks.add(before["hook"])
            return Intent()
        if kind == "title":
            e.avoid_titles.add(before["title"])
            return Intent()
        if kind in ("shorter", "longer") and ask.scope == "hook":
            n = _words(before["hook"])
            if kind == "shorter":
                if n <= _words(opening(topic, p)):
                    return Intent(why_not=f"the hook is already only the topic's question; {LLM_HINT}")
                e.hook_max_words = min(e.hook_max_words or n, max(_words(opening(topic, p)), n * 3 // 4))
            else:
                e.hook_min_words = max(e.hook_min_words or n, n + 1)
            return Intent()
        if kind in ("shorter", "longer") and ask.scope == "title":
            if kind == "shorter":
                e.title_max_chars = len(before["title"]) - 1
            else:
                e.title_min_chars = len(before["title"]) + 1
            return Intent()
        i = resolve_section(ask.section, secs)
        j = resolve_section(ask.other, secs) if kind == "merge" else None
        if i is None or (kind == "merge" and j is None):
            return Intent()  # the check says which section the attempt does not have
        if kind in ("shorter", "longer"):
            return self._resize_section(kind, i, secs, claims, e, p)
        if kind == "merge" and j is not None and _is_wrap(secs, j, p):
            i, j = j, i  # "section 3 repeats the summary": the summary is what gets fixed
        if _is_wrap(secs, i, p):
            if kind == "merge" and j is not None:
                if len(longest_shared_run(secs[i]["narration"], secs[j]["narration"])) >= REPEAT_WORDS:
                    return Intent(note="the summary is now a recap of each section's key phrase")
            e.drop_wrap = True
            return Intent()
        mine = _facts_in(secs[i], claims)
        if not mine:
            return Intent(
                why_not=f"section {i + 1} says no fact the offline writer knows, so it cannot move it; {LLM_HINT}"
            )
        if kind == "drop":
            e.exclude.update(mine)
            return Intent()
        assert j is not None
        e.together.append([*_facts_in(secs[j], claims), *mine])
        return Intent()

    def _resize_section(
        self, kind: str, i: int, secs: list[dict[str, Any]], claims: list[str], e: Edits, p: Phrases
    ) -> Intent:
        if _is_wrap(secs, i, p):
            if kind == "shorter":
                e.short_wrap = True
                return Intent()
            return Intent(why_not=f"the offline writer's summary is a one-line recap; {LLM_HINT}")
        mine = _facts_in(secs[i], claims)
        if not mine:
            return Intent(why_not=f"section {i + 1} says no fact the offline writer knows; {LLM_HINT}")
        if kind == "longer":
            said = {c for s in secs for c in _facts_in(s, claims)}
            spare = [c for c in claims if c not in said and c not in e.exclude]
            if not spare:
                return Intent(why_not=f"every fact the research found is already said; add notes, or {LLM_HINT}")
            e.force.append(spare[0])
            e.together.append([*mine, spare[0]])
            return Intent(note=f"added “{spare[0]}”")
        if len(mine) > 1:
            e.exclude.add(mine[-1])
            return Intent(note="its last fact was cut")
        short = _first_clause(mine[0])
        if short != mine[0] and _said(secs[i]["narration"], mine[0]):
            e.trim[mine[0]] = short
            return Intent(note="its fact is said in its first clause only")
        e.bare.add(mine[0])
        return Intent(note="its opening phrase was cut")

    async def _mention_facts(
        self,
        mentions: list[str],
        facts: list[dict[str, Any]],
        niche: NicheConfig,
        db: Database | None,
        channel: str | None,
    ) -> dict[str, dict[str, Any] | None]:
        """For each "mention X": the fact saying most of X from research, else from the niche's
        knowledge, else None."""
        found: dict[str, dict[str, Any] | None] = {}
        for what in mentions:
            scored = [(_relevance(f, what), -i, f) for i, f in enumerate(facts)]
            best = max(scored, key=lambda t: (t[0], t[1]), default=None)
            hit = best[2] if best and best[0] > 0 else None
            if hit is None and db is not None:
                from knowledge.search import rank_facts

                for r in await rank_facts(db, niche.name, what, 5, channel=channel, language=niche.language):
                    cand = r.to_dict("knowledge")
                    if _relevant(cand, what):
                        hit = cand
                        break
            found[what] = hit
        return found

    def compose(
        self,
        topic: str,
        niche: NicheConfig,
        facts: list[dict[str, Any]],
        d: Directives,
        mention_facts: dict[str, dict[str, Any] | None],
        edits: Edits | None = None,
    ) -> dict[str, Any]:
        e = edits or Edits()
        usable = [f for f in facts if str(f.get("claim", "")).strip()]
        if not usable:
            raise PermanentError(
                f"no facts about {topic!r} in niche {niche.name!r}: add a notes file to {niche.notes_dir} "
                "or turn on TUBEFLOW_RESEARCH_ONLINE"
            )
        kept = [f for f in usable if str(f["claim"]) not in e.exclude] or usable[:1]
        p = phrases_for(niche.language)
        # The hook's key is read from everything research found, so adding or dropping one fact
        # on a redo does not change the hook nobody asked to change.
        all_claims = [str(f["claim"]) for f in usable]
        kp = KeyPhrases(all_claims, topic, _note_keywords(niche, all_claims))
        key = kp.topic_key()
        first = kp.best([str(kept[0]["claim"])], avoid=[key.lower()])
        options = hook_options(
            p, topic, key, first, energetic=d.energetic, calmer=d.calmer, short_first=e.hook_max_words is not None
        )
        hook = _choose(
            options, e.avoid_hooks, lambda h: (e.hook_max_words or 10**6) >= _words(h) >= (e.hook_min_words or 0)
        )
        forced = [f for f in usable if str(f["claim"]) in e.force]
        # A fixed allowance for the hook, not its length: a shorter hook must not reshuffle the body.
        chosen = _fit_facts(kept, HOOK_RESERVE, niche, d, mention_facts, forced)
        sections, said = _body_sections(chosen, p, mention_facts, e)

        keys: list[str] = []
        for group in said:
            k = kp.best(group, avoid=[k.lower() for k in keys])
            if k:
                keys.append(k)
        recap = joined(keys, p.and_word) or key
        if not e.drop_wrap:
            template = p.short_wrap if e.short_wrap else p.energetic_wrap if d.energetic else p.wrap
            sections.append(
                {"heading": p.wrap_heading, "narration": template.format(recap=recap), "short_candidate": False}
            )
        for s in sections:
            s["broll_cues"] = broll_cues(s["narration"], s["heading"], niche.broll_keywords)

        _mark_shorts(sections, niche.shorts_count, has_wrap=not e.drop_wrap)

        base = _title(topic, niche.language)
        alts = [t.format(topic=base.rstrip("?"))[:100] for t in p.alt_titles]
        titles = [*alts, base] if d.new_title else [base, *alts]
        title = _choose(
            titles, e.avoid_titles, lambda t: (e.title_max_chars or 10**6) >= len(t) >= (e.title_min_chars or 0)
        )
        if not d.new_title and not (e.title_max_chars or e.title_min_chars):
            title = base
        cited = [
            {"claim": str(f["claim"]), "source": str(f.get("source", "")), "origin": str(f.get("origin", ""))}
            for f in chosen
        ]
        urls = list(dict.fromkeys(c["source"] for c in cited if c["source"]))
        description = f"{hook}\n\n{p.sources_label}:\n" + "\n".join(f"- {u}" for u in urls)
        spoken_claims = [str(f["claim"]) for f in chosen]
        on_topic = [
            k.lower()
            for k in (niche.broll_keywords or [])
            if any(re.search(rf"\b{re.escape(k)}", c, re.I) for c in spoken_claims)
        ]
        tags = list(dict.fromkeys([*raw_tokens(topic), *(k.lower() for k in [key, *keys] if k), *on_topic, niche.name]))
        return {
            "title": title,
            "hook": hook,
            "sections": sections,
            "description": description,
            "tags": tags[:15],
            "sources": cited,
            "language": niche.language,
        }


def _note_keywords(niche: NicheConfig, claims: list[str]) -> list[str]:
    """The curated keywords of the niche's notes these facts come from (its notes folder)."""
    from niches.notes import read_notes

    said = set(claims)
    try:
        notes = read_notes(niche.notes_dir)
    except Exception:  # a broken notes file is research's error to report, not the hook's
        return []
    return [k for n in notes if any(f.claim in said for f in n.facts) for k in n.keywords]


def _choose(options: list[str], avoid: set[str], fits: Callable[[str], bool]) -> str:
    """The first option that fits and is not one to avoid; else the first that fits; else the first."""
    return next((o for o in options if fits(o) and o not in avoid), None) or next(
        (o for o in options if fits(o)), options[0]
    )


def _fit_facts(
    usable: list[dict[str, Any]],
    hook_words: int,
    niche: NicheConfig,
    d: Directives,
    mention_facts: dict[str, dict[str, Any] | None],
    forced: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The facts the script says: in research order (the order the explanation was written in)
    while they fit the word budget (the hook and the wrap-up count too; a fact too long to fit is
    skipped, not cut), then the facts about what the reviewer asked to mention."""
    # "shorter" must shorten even when the facts run out before the niche's target length, so
    # the factor applies to whichever is smaller: the target or everything we could say.
    natural = hook_words + WRAP_RESERVE + sum(_words(str(f["claim"])) + OPENER_WORDS for f in usable)
    budget = max(40, int(min(niche.target_minutes * WORDS_PER_MINUTE, natural) * d.length_factor))
    spent = hook_words + WRAP_RESERVE
    chosen: list[dict[str, Any]] = []
    must = {str(f["claim"]) for f in forced or []}
    for f in usable:
        w = _words(str(f["claim"])) + OPENER_WORDS
        if chosen and spent + w > budget and str(f["claim"]) not in must:
            continue
        chosen.append(f)
        spent += w
    for fact in mention_facts.values():
        if fact is not None and all(fact["claim"] != c["claim"] for c in chosen):
            chosen.append(fact)
    return chosen


def _body_sections(
    chosen: list[dict[str, Any]], p: Phrases, mention_facts: dict[str, dict[str, Any] | None], e: Edits
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The chosen facts spread evenly over at most MAX_SECTIONS - 1 sections, each with its opener
    (facts a merge joined stay in one section); what the reviewer asked to mention but nothing is
    known about is said plainly at the end.  Also returns the claims each section says."""
    units: list[list[dict[str, Any]]] = []
    unit_of: dict[str, int] = {}
    for f in chosen:
        c = str(f["claim"])
        merged = next((g for g in e.together if c in g), [])
        joined_to = next((unit_of[x] for x in merged if x in unit_of), None)
        if joined_to is None:
            joined_to = len(units)
            units.append([])
        units[joined_to].append(f)
        unit_of[c] = joined_to
    n_body = max(1, min(MAX_SECTIONS - 1, len(units)))
    groups: list[list[dict[str, Any]]] = [[] for _ in range(n_body)]
    for i, unit in enumerate(units):
        groups[min(n_body - 1, i * n_body // len(units))].extend(unit)

    sections: list[dict[str, Any]] = []
    said: list[list[str]] = []
    for group in groups:
        if not group:
            continue
        heading = p.headings[min(len(sections), len(p.headings) - 1)]
        body = " ".join(_sentence(e.trim.get(str(f["claim"]), str(f["claim"]))) for f in group)
        bare = any(str(f["claim"]) in e.bare for f in group)
        opener = p.openers[min(len(sections), len(p.openers) - 1)]
        sections.append(
            {"heading": heading, "narration": body if bare else f"{opener} {body}", "short_candidate": False}
        )
        said.append([str(f["claim"]) for f in group])
    for what, fact in mention_facts.items():
        if fact is None:  # nothing known about it: say it plainly rather than invent a fact
            sections[-1]["narration"] += " " + p.mention_fallback.format(what=what)
    return sections, said


def _mark_shorts(sections: list[dict[str, Any]], count: int, has_wrap: bool = True) -> None:
    """Shorts: the body sections with a number or the most words (self-contained, concrete)."""
    body_idx = sorted(
        range(len(sections) - (1 if has_wrap else 0)),
        key=lambda i: (not re.search(r"\d", sections[i]["narration"]), -_words(sections[i]["narration"]), i),
    )
    for i in body_idx[: max(0, count)]:
        sections[i]["short_candidate"] = True


# ---------------------------------------------------------------- the LLM writer

SCHEMA_HINT = """Reply with one JSON object and nothing else, shaped exactly like this:
{"title": str (at most 100 characters), "hook": str (the first spoken lines),
 "sections": [{"heading": str, "narration": str (spoken text), "broll_cues": [str, ...],
               "short_candidate": bool}, ... 3 to 6 sections],
 "description": str (YouTube description ending with the source URLs), "tags": [str, ...],
 "sources": [{"claim": str, "source": str}, ...] (the facts you used, with their citation),
 "language": str}"""

LANGUAGE_NAMES = {"en": "English", "pt": "Brazilian Portuguese", "es": "Spanish", "fr": "French", "de": "German"}


def build_messages(
    topic: str,
    niche: NicheConfig,
    facts: list[dict[str, Any]],
    learnings: list[str],
    feedback: list[str],
    target_words: int,
    previous: dict[str, Any] | None = None,
) -> list[dict[str, str]]:
    """The chat prompt: niche voice, the facts with their citations, the niche's learnings, the
    feedback, and the rejected draft it is about (a note says "section 3": the model must see it)."""
    language = LANGUAGE_NAMES.get(niche.language.split("-")[0], niche.language)
    system = [
        f'You write scripts for the YouTube channel niche "{niche.title}".',
        f"Audience: {niche.audience}. Tone: {niche.tone}. Write everything in {language}.",
        f"The narration (hook plus all sections) must be about {target_words} words "
        f"({niche.target_minutes:g} minute(s) at {WORDS_PER_MINUTE} words per minute).",
        "Use only the numbered facts given; do not add claims that are not among them.",
        "Give each section 1 to 3 broll_cues: visual search queries for stock footage of what that section "
        "says, concrete and filmable (e.g. 'sunlight through raindrops', not 'science'), 2 to 4 words each.",
        f"Mark up to {niche.shorts_count} self-contained sections as short_candidate.",
    ]
    system += [f"{name}: {text}" for name, text in sorted(niche.prompt_fragments.items())]
    system.append(SCHEMA_HINT)
    lines = [f"Topic: {topic}", "", "Facts (with citations):"]
    for i, f in enumerate(facts, start=1):
        cite = f.get("source") or "no source"
        lines.append(f"[{i}] {f.get('claim', '')} (source: {cite}; origin: {f.get('origin', '')})")
    if learnings:
        lines += ["", "Lessons from earlier reviews and viewers' retention of this channel niche (follow them):"]
        lines += [f"- {t}" for t in learnings]
    if previous:
        lines += ["", "The previous draft, which the reviewer rejected (sections numbered from 1):"]
        lines.append(f"Hook: {previous.get('hook', '')}")
        for i, sec in enumerate(previous.get("sections") or [], start=1):
            lines.append(f"Section {i} ({sec.get('heading', '')}): {sec.get('narration', '')}")
    if feedback:
        lines += ["", "The reviewer rejected the previous draft. Apply this feedback:"]
        lines += [f"- {t}" for t in feedback]
    return [{"role": "system", "content": "\n".join(system)}, {"role": "user", "content": "\n".join(lines)}]


class LLMWriter:
    """Structured JSON from a chat model, validated and retried with the validation error fed back."""

    name = "llm"
    max_attempts = 3

    def __init__(self, client: ChatClient) -> None:
        self.client = client
        self.last_messages: list[dict[str, str]] = []  # what was sent last (for logs and tests)

    @property
    def usage(self) -> TokenUsage:
        return self.client.usage  # every attempt, invalid answers included: they are billed too

    async def write(
        self,
        *,
        topic: str,
        niche: NicheConfig,
        facts: list[dict[str, Any]],
        feedback: list[str] | None = None,
        attempt: int = 1,
        db: Database | None = None,
        channel: str | None = None,
        earlier: Mapping[int, dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        feedback = [f for f in (feedback or []) if f and f.strip()]
        before_by_attempt = dict(earlier or {})
        learnings = [lr.text for lr in await niche_learnings(db, niche, channel) if lr.text not in feedback]
        directives = parse_feedback(feedback)
        target = max(40, int(niche.target_minutes * WORDS_PER_MINUTE * directives.length_factor))
        previous = before_by_attempt.get(attempt - 1) if feedback else None
        messages = build_messages(topic, niche, facts, learnings, feedback, target, previous)
        error = ""
        for _ in range(self.max_attempts):
            self.last_messages = list(messages)
            answer = await self.client.complete_json(messages)
            try:
                script = validate_script(_parse_json(answer))
            except ScriptInvalid as e:
                error = str(e)
                messages = [
                    *messages,
                    {"role": "assistant", "content": answer[:4000]},
                    {
                        "role": "user",
                        "content": f"That answer was not valid: {error}. Reply with only the corrected JSON object.",
                    },
                ]
                continue
            script["language"] = niche.language
            if not script["sources"]:
                script["sources"] = [
                    {"claim": str(f.get("claim", "")), "source": str(f.get("source", "")), "origin": ""} for f in facts
                ]
            origins = {str(f.get("claim", "")): str(f.get("origin", "")) for f in facts}
            for src in script["sources"]:
                src["origin"] = src["origin"] or origins.get(src["claim"], "llm")
            # The model's word is not taken for it: each note is checked on what it wrote.
            handling = handle_notes(feedback, before_by_attempt, script, attempt)
            script["feedback_handling"] = handling
            script["feedback_applied"] = applied_notes(handling)
            script["viewer_learnings"] = await viewer_learnings(db, niche, channel)
            return script
        raise PermanentError(
            f"{self.client.name} model {self.client.model!r} returned an invalid script {self.max_attempts} times "
            f"(last problem: {error}); try another TUBEFLOW_LLM_MODEL or TUBEFLOW_SCRIPT_WRITER=offline"
        )


def _parse_json(answer: str) -> Any:
    text = answer.strip()
    if text.startswith("```"):  # some local models wrap JSON in a code fence despite JSON mode
        text = re.sub(r"^```(?:json)?\s*|\s*```$", "", text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ScriptInvalid(f"the answer is not JSON ({e.msg} at line {e.lineno} column {e.colno})") from e


def make_writer(settings: Settings) -> ScriptWriter:
    """The writer chosen by TUBEFLOW_SCRIPT_WRITER (offline | groq | openai)."""
    kind = settings.script_writer.strip().lower()
    if kind == "offline":
        return OfflineWriter()
    if kind in ("groq", "openai"):
        return LLMWriter(make_llm_client(settings))
    raise ConfigError(f"TUBEFLOW_SCRIPT_WRITER={settings.script_writer!r}; use offline, groq or openai")
