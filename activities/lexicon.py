"""A channel's pronunciation lexicon: how the voice must say the names it gets wrong.

A reviewer at the audio checkpoint says "Rayleigh → RAY-lee" (a respelling any voice can read)
or gives an SSML phoneme ("/ˈreɪli/", IPA) that Azure voices honour exactly.  The entries are kept
per channel in storage, so every later video of the channel says the word the same way.

Offline voices (Piper, eSpeak) get the respelling substituted into the text they read; Azure gets
``<phoneme>`` (or ``<sub alias>`` for a respelling) around the word, so its word boundaries still
report the written word for captions.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from tubeflow.errors import PermanentError
from tubeflow.keys import channel_lexicon as channel_lexicon_key
from tubeflow.storage import Storage

MAX_ENTRIES = 500
MAX_WORD = 60
ALPHABETS = ("ipa", "x-sampa", "sapi", "ups")


@dataclass(frozen=True)
class Pronunciation:
    word: str
    respelling: str = ""  # what an offline voice reads instead ("RAY-lee")
    phoneme: str = ""  # SSML phoneme string for Azure
    alphabet: str = "ipa"


def parse_entry(word: str, value: Any) -> Pronunciation:
    """One reviewer edit: ``"RAY-lee"`` (respelling), ``"ipa:ˈreɪli"`` or ``{"phoneme", "alphabet", "respelling"}``."""
    word = " ".join(str(word).split())
    if not word or len(word) > MAX_WORD or not re.search(r"\w", word):
        raise PermanentError(f"pronunciation: {word!r} is not a word to pronounce (1-{MAX_WORD} characters)")
    if isinstance(value, str):
        value = value.strip()
        alpha, sep, rest = value.partition(":")
        if sep and alpha.lower() in ALPHABETS and rest.strip():
            return Pronunciation(word, phoneme=rest.strip(), alphabet=alpha.lower())
        if not value:
            raise PermanentError(f"pronunciation of {word!r}: give a respelling such as 'RAY-lee' or 'ipa:ˈreɪli'")
        return Pronunciation(word, respelling=value[: MAX_WORD * 2])
    if isinstance(value, dict):
        alphabet = str(value.get("alphabet") or "ipa").lower()
        if alphabet not in ALPHABETS:
            raise PermanentError(f"pronunciation of {word!r}: alphabet must be one of {', '.join(ALPHABETS)}")
        p = Pronunciation(
            word,
            respelling=str(value.get("respelling") or "").strip(),
            phoneme=str(value.get("phoneme") or "").strip(),
            alphabet=alphabet,
        )
        if not (p.respelling or p.phoneme):
            raise PermanentError(f"pronunciation of {word!r} needs a respelling or a phoneme")
        return p
    raise PermanentError(
        f"pronunciation of {word!r} must be a respelling string or an object, not {type(value).__name__}"
    )


def parse_edits(edits: dict[str, Any]) -> list[Pronunciation]:
    if not isinstance(edits, dict) or not edits:
        raise PermanentError("pronounce must map words to respellings, e.g. {'Rayleigh': 'RAY-lee'}")
    return [parse_entry(w, v) for w, v in edits.items()]


def load(storage: Storage, channel: str) -> dict[str, Pronunciation]:
    key = channel_lexicon_key(channel)
    if not storage.exists(key):
        return {}
    raw = json.loads(storage.get_text(key))
    return {k: Pronunciation(**v) for k, v in raw.items()}


def save(storage: Storage, channel: str, entries: list[Pronunciation]) -> dict[str, Pronunciation]:
    """Merge ``entries`` into the channel's lexicon (a word given again replaces its old entry)."""
    lex = load(storage, channel)
    for p in entries:
        lex[p.word.lower()] = p
    if len(lex) > MAX_ENTRIES:
        raise PermanentError(f"channel {channel!r} lexicon would hold {len(lex)} words; the limit is {MAX_ENTRIES}")
    body = json.dumps({k: asdict(v) for k, v in sorted(lex.items())}, indent=1, ensure_ascii=False)
    storage.put_text(channel_lexicon_key(channel), body, "application/json")
    return lex


def _pattern(words: list[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alts})(?!\w)", re.IGNORECASE)


def respell(text: str, lex: dict[str, Pronunciation]) -> str:
    """The text an offline voice reads: each lexicon word replaced by its respelling."""
    usable = {k: p for k, p in lex.items() if p.respelling}
    if not usable:
        return text
    return _pattern([p.word for p in usable.values()]).sub(lambda m: usable[m.group(1).lower()].respelling, text)


def to_ssml(text: str, lex: dict[str, Pronunciation]) -> str:
    """Escaped SSML text with ``<phoneme>``/``<sub>`` around lexicon words (Azure)."""
    if not lex:
        return escape(text)
    out, pos = [], 0
    for m in _pattern([p.word for p in lex.values()]).finditer(text):
        p = lex[m.group(1).lower()]
        out.append(escape(text[pos : m.start()]))
        word = escape(m.group(1))
        if p.phoneme:
            out.append(f"<phoneme alphabet={quoteattr(p.alphabet)} ph={quoteattr(p.phoneme)}>{word}</phoneme>")
        else:
            out.append(f"<sub alias={quoteattr(p.respelling)}>{word}</sub>")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)
