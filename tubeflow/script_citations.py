"""Which of a script's sources the script actually cites: the claim is said in the narration.

A writer lists the facts it was given (the LLM writer lists every researched fact when the model
named none) and a reviewer may cut a section at the script checkpoint, so ``script["sources"]``
can hold claims nobody hears.  Publishing such a source says the video relies on it; so the
production page, the published metadata and the description list only the cited ones.

"Said" is judged on words, not strings, because a reviewer (or a model) rephrases: a claim is
cited when at least ``CITED_SHARE`` of its content words (folded, four letters or more, or a
number) are spoken somewhere in the hook or a section.  Deterministic and language-blind on
purpose: the core imports no NLP, and the same script always gives the same list.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

CITED_SHARE = 0.6
_WORD = re.compile(r"[0-9a-z]+")
# Words that carry no claim in the languages our niches use (English, Portuguese), four letters or more.
_EMPTY = frozenset(
    """that this these those there their them then than with from have been were what when where which
    while about after before into also only very more most much many some such each every other just
    like does will would could should your they because isso esta este essa esse para como mais pelo pela
    pelos pelas sobre entre quando onde muito muita seus suas porque também tambem ainda outro outra""".split()
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry meaning: folded, four letters or more (or a number)."""
    out = set()
    for w in _WORD.findall(_fold(text)):
        if w in _EMPTY or (len(w) < 4 and not w.isdigit()):
            continue
        out.add(w[:-1] if len(w) > 4 and w.endswith("s") and not w.endswith("ss") else w)  # plural ~ singular
    return out


def spoken_text(script: dict[str, Any]) -> str:
    """What the narration says: the hook and every section, in order."""
    return " ".join(
        [str(script.get("hook") or ""), *(str(s.get("narration") or "") for s in script.get("sections") or [])]
    )


def is_cited(claim: str, spoken: set[str]) -> bool:
    """True when enough of ``claim``'s content words are among ``spoken`` (see the module's docstring)."""
    words = content_words(claim)
    if not words:
        return False  # a source with no claim says nothing the script can be shown to cite
    return len(words & spoken) >= CITED_SHARE * len(words)


def cited_sources(script: dict[str, Any]) -> list[dict[str, Any]]:
    """The script's sources whose claim the narration says, in the script's order, each once."""
    spoken = content_words(spoken_text(script))
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for src in script.get("sources") or []:
        if not isinstance(src, dict):
            continue
        mark = (str(src.get("claim", "")), str(src.get("source", "")))
        if mark not in seen and is_cited(mark[0], spoken):
            seen.add(mark)
            out.append(src)
    return out


def uncited_sources(script: dict[str, Any]) -> list[dict[str, Any]]:
    """The script's sources left out by :func:`cited_sources` (what the page says it did not list)."""
    cited = cited_sources(script)
    return [s for s in script.get("sources") or [] if isinstance(s, dict) and s not in cited]
