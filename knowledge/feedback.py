"""Reading a reviewer's free-text feedback into changes a writer can make.

Both writers use this, and learnings are parsed with it too: the offline writer applies the
directives itself; the LLM writer passes the feedback verbatim and uses the directives only to
adjust its word budget.  English and
Portuguese phrasings are recognised because the bundled niches use both languages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SHORTER = re.compile(
    r"\b(shorter|too long|trim|cut (it )?down|less wordy|tighten|more concise|"
    r"mais curto|muito longo|encurt|reduz|resum)",
    re.IGNORECASE,
)
LONGER = re.compile(r"\b(longer|too short|more detail|expand|go deeper|mais longo|mais detalh|aprofund)", re.IGNORECASE)
ENERGETIC = re.compile(
    r"\b(energetic|energy|exciting|punch(y|ier)|boring|dull|more hype|stronger hook|catchier|"
    r"animad|energia|empolgante)",
    re.IGNORECASE,
)
CALMER = re.compile(r"\b(calmer|less hype|too loud|too dramatic|clickbait|mais calmo|menos exagerad)", re.IGNORECASE)
TITLE = re.compile(r"\b(title|t[ií]tulo)\b", re.IGNORECASE)
MENTION = re.compile(
    r"\b(?:mention|include|talk about|add (?:a (?:line|sentence) (?:about|on) )?|cite|mencione|mencionar|"
    r"fale (?:sobre|de)|inclua|incluir)\s+(?P<what>[^.;!?\n]+)",
    re.IGNORECASE,
)
MENTION_TAIL = re.compile(
    r"\s+(?:by name|please|too|as well|also|in the script|somewhere|por favor|tamb[eé]m|pelo nome)\s*$", re.IGNORECASE
)
MENTION_HEAD = re.compile(r"^(?:the fact that|that|who|what|o fato de que|que)\s+", re.IGNORECASE)


@dataclass
class Directives:
    length_factor: float = 1.0
    energetic: bool = False
    calmer: bool = False
    new_title: bool = False
    mentions: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self == Directives()


def _mention_target(raw: str) -> str:
    what = raw.strip().strip("\"'“”")
    for _ in range(3):
        what = MENTION_TAIL.sub("", what).strip()
    return MENTION_HEAD.sub("", what).strip().strip("\"'“”,")


def parse_feedback(items: list[str] | tuple[str, ...], *, style_only: bool = False) -> Directives:
    """Directives from feedback, in order; ``style_only`` ignores "mention X" (used for learnings,
    where naming a specific thing belonged to another video's topic)."""
    d = Directives()
    for text in items:
        if SHORTER.search(text):
            d.length_factor *= 0.7
        if LONGER.search(text):
            d.length_factor *= 1.3
        if ENERGETIC.search(text):
            d.energetic, d.calmer = True, False
        if CALMER.search(text):
            d.calmer, d.energetic = True, False
        if TITLE.search(text):
            d.new_title = True
        if not style_only:
            for m in MENTION.finditer(text):
                target = _mention_target(m.group("what"))
                if target and target.lower() not in (x.lower() for x in d.mentions):
                    d.mentions.append(target)
    d.length_factor = min(2.0, max(0.3, d.length_factor))
    return d


# "no more stock clips of X", "avoid X", "don't show X", "stop using X", "fewer X", "without X",
# and their Portuguese counterparts: what a reviewer wants to see less of (b-roll, thumbnails).
AVOID = re.compile(
    r"\b(?:no more|avoid(?:ing)?|don'?t (?:use|show)|do not (?:use|show)|stop (?:using|showing)|"
    r"fewer|less|without|not again|chega de|sem mais|evite|evitar|n[aã]o (?:use|mostre))\s+"
    r"(?:(?:stock|library|generated|b-?roll)\s+)?(?:(?:clips?|images?|pictures?|photos?|footage|shots?|"
    r"stills?|videos?|imagens?|fotos?)\s+)?(?:(?:of|with|showing|de|com)\s+)?(?P<what>[^.;!?,\n]+)",
    re.IGNORECASE,
)


def parse_avoid(items: list[str] | tuple[str, ...]) -> list[str]:
    """Things the feedback says to stop showing, in order, without duplicates ("planets", "black holes")."""
    out: list[str] = []
    for text in items:
        for m in AVOID.finditer(text):
            what = _mention_target(re.split(r"\s+(?:and|but|e|mas)\s+(?:use|show|more|mais)\b", m.group("what"))[0])
            if what and what.lower() not in (x.lower() for x in out):
                out.append(what)
    return out
