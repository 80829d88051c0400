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
    where naming a specific thing belonged to another video's topic).  Only a "shorter"/"longer"
    about the whole script changes its length: "make the hook shorter" is the hook's business."""
    d = Directives()
    for text in items:
        for ask in split_asks(text):
            if ask.kind in ("shorter", "longer") and ask.scope == "script":
                d.length_factor *= 0.7 if ask.kind == "shorter" else 1.3
            elif ask.kind == "energetic":
                d.energetic, d.calmer = True, False
            elif ask.kind == "calmer":
                d.calmer, d.energetic = True, False
            elif ask.kind == "title":
                d.new_title = True
            elif ask.kind in ("mention", "explain") and not style_only:
                if ask.what.lower() not in (x.lower() for x in d.mentions):
                    d.mentions.append(ask.what)
    d.length_factor = min(2.0, max(0.3, d.length_factor))
    return d


# ---------------------------------------------------------------- one note, several asks
#
# A note is often several requests at once ("the last section repeats section 3; explain why
# sunsets are red; make the hook shorter").  Each is read on its own, so each can be followed,
# checked and reported on its own.

ASK_KINDS = (
    "shorter",
    "longer",
    "energetic",
    "calmer",
    "title",
    "hook",
    "mention",
    "explain",
    "merge",
    "drop",
    "other",
)

_CLAUSE_SPLIT = re.compile(
    r"[;\n]+|(?<=[.!?])\s+|,\s*(?:and|but|also|then|e|mas)\s+|"
    r"\s+(?:and|e)\s+(?=(?:make|mention|explain|add|remove|drop|cut|merge|change|use|give|include|say|talk|fix|"
    r"shorten|trim|rewrite|replace|start|end|mencione|explique|remova|encurte|troque)\b)",
    re.IGNORECASE,
)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "um": 1, "dois": 2, "tres": 3, "três": 3, "quatro": 4, "cinco": 5, "seis": 6,
    "primeira": 1, "segunda": 2, "terceira": 3, "quarta": 4, "quinta": 5, "sexta": 6,
}  # fmt: skip
_SECTION = (
    r"(?:(?:the\s+|a\s+)?(?:last|final|[uú]ltima)\s+(?:section|part|se[cç][aã]o|parte)|"
    r"(?:the\s+|a\s+)?(?:first|second|third|fourth|fifth|sixth|primeira|segunda|terceira|quarta|quinta|sexta)\s+"
    r"(?:section|part|se[cç][aã]o|parte)|"
    r"(?:section|part|se[cç][aã]o|parte)\s+(?:\d+|one|two|three|four|five|six|um|dois|tr[eê]s|quatro|cinco|seis)|"
    r"(?:the\s+|o\s+|a\s+)?(?:summary|ending|outro|conclusion|wrap[- ]?up|recap|in short|resumo|conclus[aã]o|final))"
)
_REPEATS = re.compile(
    rf"(?P<a>{_SECTION})\s+(?:just\s+|only\s+|basically\s+)?(?:repeats|duplicates|restates|copies|echoes|"
    rf"is (?:the same as|a (?:copy|repeat) of|redundant with)|says the same (?:thing )?as|repete|"
    rf"[eé] igual [aà]|duplica)\s+(?P<b>{_SECTION})",
    re.IGNORECASE,
)
_MERGE = re.compile(
    rf"\b(?:merge|combine|join|junte|una|combine)\s+(?P<a>{_SECTION})\s+(?:and|with|into|e|com)\s+(?P<b>{_SECTION})",
    re.IGNORECASE,
)
_NUM = r"(?:\d+|one|two|three|four|five|six|um|dois|tr[eê]s|quatro|cinco|seis)"
_MERGE_BOTH = re.compile(
    rf"\b(?:merge|combine|join|junte|una)\s+(?:the\s+|as\s+)?(?:sections|parts|se[cç][oõ]es|partes)\s+"
    rf"(?P<a>{_NUM})\s+(?:and|with|into|&|e|com)\s+(?P<b>{_NUM})",
    re.IGNORECASE,
)
_DROP = re.compile(
    rf"\b(?:remove|drop|cut|delete|lose|skip|get rid of|remova|tire|corte|elimine)\s+(?P<a>{_SECTION})", re.IGNORECASE
)
_REDUNDANT = re.compile(rf"(?P<a>{_SECTION})\s+is\s+(?:redundant|repetitive|unnecessary|not needed)", re.IGNORECASE)
_EXPLAIN = re.compile(
    r"\b(?:explain|say why|tell (?:them|us|viewers|people) why|describe|cover|answer|explique|explicar|diga por que)"
    r"\s+(?P<what>[^.;!?\n]+)",
    re.IGNORECASE,
)
_HOOK_WORD = re.compile(r"\b(hook|intro|opening|opener|first line|gancho|abertura)\b", re.IGNORECASE)
_NEW_HOOK = re.compile(
    r"\b(new|different|another|better|fresh|change|rewrite|replace|redo|novo|outro|troque|mude)\b|"
    r"\b(weak|boring|bland|generic|same|dull|flat|fraco|chato|gen[eé]rico)\b",
    re.IGNORECASE,
)
_SECTION_REF = re.compile(_SECTION, re.IGNORECASE)


@dataclass(frozen=True)
class Ask:
    """One request inside a reviewer's note, as the writers and the check after writing read it."""

    text: str  # the clause as the reviewer wrote it
    kind: str  # one of ASK_KINDS
    scope: str = "script"  # shorter/longer: script, hook, title or section
    section: str = ""  # the section it is about: "3", "last" (as the reviewer counts, from 1)
    other: str = ""  # merge: the section it repeats or joins
    what: str = ""  # mention/explain: the thing to say

    def to_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.__dict__.items() if v}


def section_ref(text: str) -> str:
    """ "the last section" -> "last", "section 3" / "the third part" -> "3", "the summary" -> "last"."""
    t = text.lower()
    if re.search(r"last|final|[uú]ltima|summary|ending|outro|conclusion|conclus|wrap|recap|in short|resumo", t):
        return "last"
    if m := re.search(r"\d+", t):
        return m.group(0)
    for word, n in _NUMBER_WORDS.items():
        if re.search(rf"\b{word}\b", t):
            return str(n)
    return ""


def split_asks(note: str) -> list[Ask]:
    """The requests in one note, in the order written; a clause nothing recognises is an "other"
    ask (a writer says it could not follow it rather than pretending it did)."""
    asks: list[Ask] = []
    for clause in (c.strip(" ,.") for c in _CLAUSE_SPLIT.split(note or "") if c and c.strip(" ,.")):
        found = _clause_asks(clause)
        asks.extend(found or [Ask(clause, "other")])
    return asks


def _clause_asks(clause: str) -> list[Ask]:
    out: list[Ask] = []
    structural = _REPEATS.search(clause) or _MERGE.search(clause) or _MERGE_BOTH.search(clause)
    if structural:
        out.append(Ask(clause, "merge", "section", section_ref(structural["a"]), section_ref(structural["b"])))
    elif m := (_DROP.search(clause) or _REDUNDANT.search(clause)):
        out.append(Ask(clause, "drop", "section", section_ref(m["a"])))
    scope = "script"
    ref = ""
    if _HOOK_WORD.search(clause):
        scope = "hook"
    elif TITLE.search(clause):
        scope = "title"
    elif not structural and (sec := _SECTION_REF.search(clause)):
        scope, ref = "section", section_ref(sec.group(0))
    resized = False
    if not structural and (SHORTER.search(clause) or re.search(r"\bshorten", clause, re.IGNORECASE)):
        out.append(Ask(clause, "shorter", scope, ref))
        resized = True
    elif not structural and LONGER.search(clause):
        out.append(Ask(clause, "longer", scope, ref))
        resized = True
    toned = False
    if ENERGETIC.search(clause):
        out.append(Ask(clause, "energetic", "hook"))
        toned = True
    elif CALMER.search(clause):
        out.append(Ask(clause, "calmer", "hook"))
        toned = True
    if scope == "title" and not resized:
        out.append(Ask(clause, "title", "title"))
    if scope == "hook" and not resized and not toned and _NEW_HOOK.search(clause):
        out.append(Ask(clause, "hook", "hook"))
    if m := _EXPLAIN.search(clause):
        what = _mention_target(m.group("what"))
        if what:
            out.append(Ask(clause, "explain", what=what))
    elif not structural:
        for m in MENTION.finditer(clause):
            what = _mention_target(m.group("what"))
            if what:
                out.append(Ask(clause, "mention", what=what))
    return out


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
