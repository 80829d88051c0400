"""Script writers: the deterministic offline writer (default) and the LLM writer.

Both return a dict in the shape of :mod:`tubeflow.script_schema`.  A rejection's feedback must
visibly change the redo, and is always listed in ``script["feedback_applied"]`` so the reviewer
can see it was taken into account.  Learnings of the niche (earlier reviews) shape new scripts
too, but only the niche's own: they are read through the niche's knowledge scope.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from activities.llm import ChatClient, TokenUsage, make_llm_client
from knowledge.feedback import Directives, parse_feedback
from knowledge.store import LearningRecord, add_learning, get_learnings
from knowledge.text import STOPWORDS, fold, raw_tokens, tokens
from niches.config import NicheConfig
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError, PermanentError
from tubeflow.script_schema import ScriptInvalid, validate_script
from tubeflow.settings import Settings

WORDS_PER_MINUTE = 150
MAX_SECTIONS = 6
WRAP_RESERVE = 25  # words kept for the wrap-up section
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


# ---------------------------------------------------------------- phrasing per language


@dataclass(frozen=True)
class Phrases:
    hooks: tuple[str, ...]
    energetic_hooks: tuple[str, ...]
    calm_hooks: tuple[str, ...]
    headings: tuple[str, ...]
    openers: tuple[str, ...]
    wrap_heading: str
    wrap: str
    energetic_wrap: str
    mention_fallback: str
    sources_label: str
    alt_title: str
    statement: str  # opens the hook when the topic is not a question


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        hooks=(
            "{question} In the next minute, one simple idea at a time, you will see what is really going on.",
            "{question} Here is what is really going on, step by step.",
        ),
        energetic_hooks=(
            "Stop for a second! {question} The real story is stranger than you think, and you will get it "
            "in under a minute!",
            "You have heard of it, but do you really know it? {question} Let's crack it right now!",
        ),
        calm_hooks=("{question} Let's look at the evidence calmly, one fact at a time.",),
        headings=("The basics", "What really happens", "The surprising part", "Going further", "One more thing"),
        openers=(
            "Let's start with the basics.",
            "Here is the key.",
            "Now the surprising part.",
            "Going a step further.",
            "And one more thing.",
        ),
        wrap_heading="In short",
        wrap="So, to sum up: {summary} Next time someone asks, you will know the answer.",
        energetic_wrap="That's the whole story: {summary} Now go and amaze someone with it!",
        mention_fallback="It is also worth mentioning {what}.",
        sources_label="Sources",
        alt_title="{topic}: The Real Explanation",
        statement="Here is the story of {topic}.",
    ),
    "pt": Phrases(
        hooks=(
            "{question} A resposta cabe em menos de um minuto e começa com uma ideia simples.",
            "{question} Veja o que realmente acontece, passo a passo.",
        ),
        energetic_hooks=(
            "Para tudo! {question} A resposta é mais surpreendente do que parece, e você vai entender em menos "
            "de um minuto!",
            "Você convive com isso todo dia, mas sabe a resposta? {question} Vem comigo que eu explico agora!",
        ),
        calm_hooks=("{question} Vamos olhar os fatos com calma, um de cada vez.",),
        headings=("O básico", "Como funciona", "O detalhe surpreendente", "Indo além", "Mais um ponto"),
        openers=(
            "Vamos começar pelo básico.",
            "Agora, o ponto principal.",
            "Agora vem a parte surpreendente.",
            "Indo um pouco além.",
            "E mais uma coisa.",
        ),
        wrap_heading="Resumindo",
        wrap="Resumindo: {summary} Agora você já sabe o essencial.",
        energetic_wrap="É isso: {summary} Agora compartilhe com alguém que precisa saber disso!",
        mention_fallback="Vale mencionar também {what}.",
        sources_label="Fontes",
        alt_title="{topic}: a explicação de verdade",
        statement="Vamos falar de {topic}.",
    ),
}


def phrases_for(language: str) -> Phrases:
    return PHRASES.get(language.split("-")[0].lower(), PHRASES["en"])


def _pick(options: tuple[str, ...], seed: str) -> str:
    """Deterministic choice: the same topic gives the same wording on every machine."""
    return options[int(hashlib.sha256(seed.encode()).hexdigest(), 16) % len(options)]


QUESTION_START = re.compile(
    r"^(why|how|what|when|where|who|which|is|are|do|does|can|por ?que|como|o que|quando|onde|quem|qual|quanto)\b",
    re.IGNORECASE,
)


def _opening(topic: str, p: Phrases) -> str:
    """The topic as a question when it is one, else as the niche language's "here is the story of"."""
    t = topic.strip().rstrip(".!")
    if t.endswith("?") or QUESTION_START.match(t):
        t = t[0].upper() + t[1:]
        return t if t.endswith("?") else f"{t}?"
    first, _, rest = t.partition(" ")
    if first in ("The", "A", "An", "O", "A", "Os", "As"):
        t = f"{first.lower()} {rest}"
    return p.statement.format(topic=t)


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


# Words that never make a picture on their own (beyond the knowledge stopwords).
_NOT_VISUAL = frozenset(
    """every each all some also only very much many most more less just even still both such other another own
    same several like look looks looked seem seems called named means become becomes because while although
    way through far near cada todo toda todos todas algum alguma tambem apenas muito muita mesmo ainda outro
    outra isso isto esse essa""".split()
)


def _visual_phrases(sentence: str) -> list[str]:
    """Runs of consecutive content words ("visible spectrum", "nitrogen and oxygen molecules" -> two)."""
    runs: list[list[str]] = [[]]
    for raw in re.findall(r"[^\W\d_]+|\d+|[^\w\s]", sentence):
        word = raw.lower()  # punctuation is a token too, and ends a run
        folded = fold(word)
        if folded in STOPWORDS or folded in _NOT_VISUAL or len(folded) < 3 or not folded.isalpha():
            runs.append([])
        else:
            runs[-1].append(word)
    return [" ".join(r[:3]) for r in runs if r]


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


def _summary(chosen: list[dict[str, Any]], topic: str) -> str:
    """The first clause of the fact closest to the topic: a recap, not a repeat of the whole sentence."""
    want = set(tokens(topic))
    best = max(chosen, key=lambda f: (len(want & set(tokens(str(f["claim"])))), -chosen.index(f)))
    clause = re.split(r";|, so |, which |, então |, que ", str(best["claim"]))[0]
    return _sentence(clause)


def _relevant(fact: dict[str, Any], what: str) -> bool:
    want = set(tokens(what))
    return bool(want) and want <= set(tokens(str(fact.get("claim", ""))))


# ---------------------------------------------------------------- the offline writer


class OfflineWriter:
    """Builds a script from the researched facts with fixed, per-language phrasing; no network."""

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
    ) -> dict[str, Any]:
        feedback = [f for f in (feedback or []) if f and f.strip()]
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
        script = self.compose(topic, niche, facts, d, extra)
        script["feedback_applied"] = list(feedback) + [
            f"niche learning: {t}" for t in learned if not parse_feedback([t], style_only=True).empty
        ]
        script["viewer_learnings"] = await viewer_learnings(db, niche, channel)
        return script

    async def _mention_facts(
        self,
        mentions: list[str],
        facts: list[dict[str, Any]],
        niche: NicheConfig,
        db: Database | None,
        channel: str | None,
    ) -> dict[str, dict[str, Any] | None]:
        """For each "mention X": a fact about X from research, else from the niche's knowledge, else None."""
        found: dict[str, dict[str, Any] | None] = {}
        for what in mentions:
            hit = next((f for f in facts if _relevant(f, what)), None)
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
    ) -> dict[str, Any]:
        usable = [f for f in facts if str(f.get("claim", "")).strip()]
        if not usable:
            raise PermanentError(
                f"no facts about {topic!r} in niche {niche.name!r}: add a notes file to {niche.notes_dir} "
                "or turn on TUBEFLOW_RESEARCH_ONLINE"
            )
        p = phrases_for(niche.language)
        question = _opening(topic, p)
        hooks = p.energetic_hooks if d.energetic else p.calm_hooks if d.calmer else p.hooks
        hook = _pick(hooks, topic).format(question=question)
        chosen = _fit_facts(usable, _words(hook), niche, d, mention_facts)
        sections = _body_sections(chosen, p, mention_facts)

        summary = _summary(chosen, topic)
        wrap = (p.energetic_wrap if d.energetic else p.wrap).format(summary=summary)
        sections.append({"heading": p.wrap_heading, "narration": wrap, "short_candidate": False})
        for s in sections:
            s["broll_cues"] = broll_cues(s["narration"], s["heading"], niche.broll_keywords)

        _mark_shorts(sections, niche.shorts_count)

        title = _title(topic, niche.language)
        if d.new_title:
            title = p.alt_title.format(topic=title.rstrip("?"))[:100]
        cited = [
            {"claim": str(f["claim"]), "source": str(f.get("source", "")), "origin": str(f.get("origin", ""))}
            for f in chosen
        ]
        urls = list(dict.fromkeys(c["source"] for c in cited if c["source"]))
        description = f"{hook}\n\n{p.sources_label}:\n" + "\n".join(f"- {u}" for u in urls)
        tags = list(dict.fromkeys([*raw_tokens(topic), *(k.lower() for k in niche.broll_keywords[:5]), niche.name]))
        return {
            "title": title,
            "hook": hook,
            "sections": sections,
            "description": description,
            "tags": tags[:15],
            "sources": cited,
            "language": niche.language,
        }


def _fit_facts(
    usable: list[dict[str, Any]],
    hook_words: int,
    niche: NicheConfig,
    d: Directives,
    mention_facts: dict[str, dict[str, Any] | None],
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
    for f in usable:
        w = _words(str(f["claim"])) + OPENER_WORDS
        if chosen and spent + w > budget:
            continue
        chosen.append(f)
        spent += w
    for fact in mention_facts.values():
        if fact is not None and all(fact["claim"] != c["claim"] for c in chosen):
            chosen.append(fact)
    return chosen


def _body_sections(
    chosen: list[dict[str, Any]], p: Phrases, mention_facts: dict[str, dict[str, Any] | None]
) -> list[dict[str, Any]]:
    """The chosen facts spread evenly over at most MAX_SECTIONS - 1 sections, each with its opener;
    what the reviewer asked to mention but nothing is known about is said plainly at the end."""
    n_body = max(1, min(MAX_SECTIONS - 1, len(chosen)))
    groups: list[list[dict[str, Any]]] = [[] for _ in range(n_body)]
    for i, f in enumerate(chosen):
        groups[min(n_body - 1, i * n_body // len(chosen))].append(f)

    sections: list[dict[str, Any]] = []
    for i, group in enumerate(groups):
        heading = p.headings[min(i, len(p.headings) - 1)]
        body = " ".join(_sentence(str(f["claim"])) for f in group)
        narration = f"{p.openers[min(i, len(p.openers) - 1)]} {body}" if body else ""
        if not narration:
            continue
        sections.append({"heading": heading, "narration": narration, "short_candidate": False})
    for what, fact in mention_facts.items():
        if fact is None:  # nothing known about it: say it plainly rather than invent a fact
            sections[-1]["narration"] += " " + p.mention_fallback.format(what=what)
    return sections


def _mark_shorts(sections: list[dict[str, Any]], count: int) -> None:
    """Shorts: the body sections with a number or the most words (self-contained, concrete)."""
    body_idx = sorted(
        range(len(sections) - 1),
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
) -> list[dict[str, str]]:
    """The chat prompt: niche voice, the facts with their citations, the niche's learnings, the feedback."""
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
    ) -> dict[str, Any]:
        feedback = [f for f in (feedback or []) if f and f.strip()]
        learnings = [lr.text for lr in await niche_learnings(db, niche, channel) if lr.text not in feedback]
        directives = parse_feedback(feedback)
        target = max(40, int(niche.target_minutes * WORDS_PER_MINUTE * directives.length_factor))
        messages = build_messages(topic, niche, facts, learnings, feedback, target)
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
            script["feedback_applied"] = list(feedback)
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
