"""The offline writer's own words: hooks, openers, the wrap-up, all built around the topic's facts.

A hook from one template ("In the next minute, one simple idea at a time...") says nothing about
the video and is the same for every topic.  Here the words that carry meaning come from the
facts: the phrase the facts keep returning to ("Rayleigh scattering", "event horizon") is the
hook's promise, each section's own phrase makes the recap and the tags.  The connecting phrasing
is per language (English and Portuguese, the bundled niches' languages).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from knowledge.text import STOPWORDS, fold, tokens


@dataclass(frozen=True)
class Phrases:
    hooks: tuple[str, ...]  # {question} {key} {first}
    energetic_hooks: tuple[str, ...]
    calm_hooks: tuple[str, ...]
    story_hooks: tuple[str, ...]  # topics that are not a question ("The Apollo 11 Moon landing")
    short_hook: str
    headings: tuple[str, ...]
    openers: tuple[str, ...]
    wrap_heading: str
    wrap: str  # {recap}
    energetic_wrap: str
    short_wrap: str
    and_word: str
    mention_fallback: str
    sources_label: str
    alt_titles: tuple[str, ...]
    statement: str  # opens the hook when the topic is not a question


PHRASES: dict[str, Phrases] = {
    "en": Phrases(
        hooks=(
            "{question} It comes down to {key}, and in the next minute you will see how.",
            "{question} The answer starts with {first} and leads straight to {key}.",
        ),
        energetic_hooks=(
            "Stop for a second! {question} It all comes down to {key}, and it is stranger than you think!",
            "{question} Here is the twist: {key}! Let's crack it right now!",
        ),
        calm_hooks=("{question} Let's look calmly at the evidence, starting with {first}.",),
        story_hooks=(
            "{question} It is a story of {key}, told in one minute.",
            "{question} It begins with {first} and turns on {key}.",
        ),
        short_hook="{question} It comes down to {key}.",
        headings=("The basics", "What really happens", "The surprising part", "Going further", "One more thing"),
        openers=(
            "Let's start with the basics.",
            "Here is the key.",
            "Now the surprising part.",
            "Going a step further.",
            "And one more thing.",
        ),
        wrap_heading="In short",
        wrap="So, to sum up: it comes down to {recap}. Next time someone asks, you will know the answer.",
        energetic_wrap="That's the whole story: {recap}! Now go and amaze someone with it!",
        short_wrap="So, to sum up: {recap}.",
        and_word="and",
        mention_fallback="It is also worth mentioning {what}.",
        sources_label="Sources",
        alt_titles=("{topic}: The Real Explanation", "{topic}, Explained in One Minute"),
        statement="Here is the story of {topic}.",
    ),
    "pt": Phrases(
        hooks=(
            "{question} Tudo se resume a {key}, e em menos de um minuto você vai entender por quê.",
            "{question} A resposta começa com {first} e leva direto a {key}.",
        ),
        energetic_hooks=(
            "Para tudo! {question} Tudo se resume a {key}, e é mais surpreendente do que parece!",
            "{question} A virada é esta: {key}! Vem comigo que eu explico agora!",
        ),
        calm_hooks=("{question} Vamos olhar os fatos com calma, começando por {first}.",),
        story_hooks=(
            "{question} É uma história de {key}, contada em um minuto.",
            "{question} Começa com {first} e gira em torno de {key}.",
        ),
        short_hook="{question} Tudo se resume a {key}.",
        headings=("O básico", "Como funciona", "O detalhe surpreendente", "Indo além", "Mais um ponto"),
        openers=(
            "Vamos começar pelo básico.",
            "Agora, o ponto principal.",
            "Agora vem a parte surpreendente.",
            "Indo um pouco além.",
            "E mais uma coisa.",
        ),
        wrap_heading="Resumindo",
        wrap="Resumindo: tudo se resume a {recap}. Agora você já sabe o essencial.",
        energetic_wrap="É isso: {recap}! Agora compartilhe com alguém que precisa saber disso!",
        short_wrap="Resumindo: {recap}.",
        and_word="e",
        mention_fallback="Vale mencionar também {what}.",
        sources_label="Fontes",
        alt_titles=("{topic}: a explicação de verdade", "{topic}, explicado em um minuto"),
        statement="Vamos falar de {topic}.",
    ),
}


def phrases_for(language: str) -> Phrases:
    return PHRASES.get(language.split("-")[0].lower(), PHRASES["en"])


def pick_index(n: int, seed: str) -> int:
    """Deterministic choice: the same topic gives the same wording on every machine."""
    return int(hashlib.sha256(seed.encode()).hexdigest(), 16) % n


QUESTION_START = re.compile(
    r"^(why|how|what|when|where|who|which|is|are|do|does|can|por ?que|como|o que|quando|onde|quem|qual|quanto)\b",
    re.IGNORECASE,
)


def is_question(topic: str) -> bool:
    t = topic.strip().rstrip(".!")
    return t.endswith("?") or bool(QUESTION_START.match(t))


def opening(topic: str, p: Phrases) -> str:
    """The topic as a question when it is one, else as the niche language's "here is the story of"."""
    t = topic.strip().rstrip(".!")
    if is_question(t):
        t = t[0].upper() + t[1:]
        return t if t.endswith("?") else f"{t}?"
    first, _, rest = t.partition(" ")
    if first in ("The", "A", "An", "O", "Os", "As"):
        t = f"{first.lower()} {rest}"
    return p.statement.format(topic=t)


# ---------------------------------------------------------------- the facts' own phrases

# Words that never make a picture (or a key phrase) on their own, beyond the knowledge stopwords.
NOT_VISUAL = frozenset(
    """every each all some also only very much many most more less just even still both such other another own
    same several like look looks looked seem seems called named means become becomes because while although
    way through far near cada todo toda todos todas algum alguma tambem apenas muito muita mesmo ainda outro
    outra isso isto esse essa""".split()
)
# Verbs and vague words that end up inside runs of content words ("rayleigh scattering grows").
_NOT_KEY = frozenset(
    """grows crosses enters leaves bends appears stayed became saying collected worked give sit usually
    roughly known stop end life times not one two three four five six first second direct off out up down
    away back around behind over contains looks called must once spent began least following usa pelo pela
    medida calculado calculados chamados contra cerca""".split()
)


def visual_phrases(sentence: str) -> list[str]:
    """Runs of consecutive content words ("visible spectrum", "nitrogen and oxygen molecules" -> two)."""
    runs: list[list[str]] = [[]]
    for raw in re.findall(r"[^\W\d_]+|\d+|[^\w\s]", sentence):
        word = raw.lower()  # punctuation is a token too, and ends a run
        folded = fold(word)
        if folded in STOPWORDS or folded in NOT_VISUAL or len(folded) < 3 or not folded.isalpha():
            runs.append([])
        else:
            runs[-1].append(word)
    return [" ".join(r[:3]) for r in runs if r]


def _keyish(word: str) -> bool:
    w = fold(word)
    return w not in _NOT_KEY and not w.endswith(("ed", "ly"))


def _candidates(claim: str) -> list[str]:
    """The one- to three-word phrases a claim offers as its key phrase, in the order written,
    longer first at each position ("inverse fourth power" before "inverse fourth")."""
    out: list[str] = []
    for run in visual_phrases(claim):
        ws = run.split()
        for i in range(len(ws)):
            for n in (3, 2, 1):
                part = ws[i : i + n]
                if len(part) < n or not all(_keyish(w) for w in part) or (n == 1 and len(part[0]) < 5):
                    continue
                out.append(" ".join(part))
    return list(dict.fromkeys(out))


def _has(claim: str, phrase: str) -> bool:
    """Whether the claim says the phrase, plurals aside ("raindrops" says "raindrop")."""
    want, got = tokens(phrase), tokens(claim)
    n = len(want)
    return n > 0 and any(got[i : i + n] == want for i in range(len(got) - n + 1))


def cased(phrase: str, texts: Iterable[str]) -> str:
    """The phrase as the facts write it ("Rayleigh scattering", not "rayleigh scattering")."""
    for t in texts:
        if m := re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", t, re.IGNORECASE):
            return m.group(0)
    return phrase


class KeyPhrases:
    """The phrases the facts keep returning to.  The topic's key prefers the curated keywords of
    the notes the facts come from ("Rayleigh scattering"); a section's key is the first two- or
    three-word name its own facts say ("inverse fourth power"), a single word only when none."""

    def __init__(self, claims: list[str], topic: str, keywords: Iterable[str] = ()) -> None:
        self.claims = claims
        self.topic = set(tokens(topic))
        self.keywords = [k for k in dict.fromkeys(keywords) if k.strip()]

    def _df(self, phrase: str) -> int:
        return sum(_has(c, phrase) for c in self.claims)

    def _on_topic(self, phrase: str) -> bool:
        return bool(set(tokens(phrase)) & self.topic)  # the question's own words are not its answer

    def best(self, claims: list[str], avoid: Iterable[str] = ()) -> str:
        """The key of a few claims: a curated keyword they say (names first), else their first name."""
        used = [a.lower() for a in avoid]

        def free(ph: str) -> bool:
            low = ph.lower()
            return not self._on_topic(ph) and not any(low in u or u in low for u in used)

        kws = [k for k in self.keywords if free(k) and any(_has(c, k) for c in claims)]
        if kws:
            return cased(max(kws, key=lambda k: (" " in k.strip(), -kws.index(k))), claims)
        cands = [ph for c in claims for ph in _candidates(c) if free(ph)]
        pool = [ph for ph in cands if " " in ph] or cands
        return cased(pool[0], claims) if pool else ""

    def topic_key(self) -> str:
        kws = [k for k in self.keywords if not self._on_topic(k) and self._df(k) > 0]
        if kws:
            top = max(kws, key=lambda k: (self._df(k) + (3.5 if " " in k.strip() else 0), -kws.index(k)))
            return cased(top, self.claims)
        cands = list(dict.fromkeys(ph for c in self.claims for ph in _candidates(c) if not self._on_topic(ph)))
        multi = [ph for ph in cands if " " in ph] or cands
        if not multi:
            return ""
        return cased(max(multi, key=lambda ph: (self._df(ph), -multi.index(ph))), self.claims)


def joined(items: list[str], and_word: str) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {and_word} {items[-1]}"


def hook_options(
    p: Phrases, topic: str, key: str, first: str, *, energetic: bool, calmer: bool, short_first: bool = False
) -> list[str]:
    """Every hook the writer could say for this topic, the topic's own pick first, then the other
    wordings of the same tone, then the short one and the bare question (for "shorter", which
    asks for the short one first rather than another tone)."""
    question = opening(topic, p)
    if energetic:
        family = p.energetic_hooks
    elif calmer:
        family = p.calm_hooks
    else:
        family = p.hooks if is_question(topic) else p.story_hooks
    start = pick_index(len(family), topic)
    ordered = [*family[start:], *family[:start]]
    if not energetic and not calmer:
        ordered += [h for h in (p.calm_hooks if is_question(topic) else p.hooks) if h not in ordered]
    key = key or first or topic.strip().rstrip("?.!")
    first = first or key
    if first.lower() in key.lower() or key.lower() in first.lower():
        ordered = [h for h in ordered if "{first}" not in h or "{key}" not in h] or ordered
    short = p.short_hook.format(question=question, key=key, first=first)
    out = [h.format(question=question, key=key, first=first) for h in ordered]
    return list(dict.fromkeys([short, *out, question] if short_first else [*out, short, question]))
