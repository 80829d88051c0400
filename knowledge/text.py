"""Text normalisation shared by ranking, dedupe and coverage checks.

Kept deliberately simple and deterministic (no NLP models): lowercase, strip accents, drop
stopwords of the languages our niches use (including the verbs of question-shaped topics,
"how do volcanoes form", which would otherwise match every "how X forms" note), and fold
plurals, so "Why is the sky blue?" and "why the sky is blue" are the same topic, and
"Juros compostos" matches "juro composto".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

STOPWORDS: frozenset[str] = frozenset(
    """
    a an and are as at be been but by can could did do does for from had has have how i if in into is it its
    of on or so than that the their them then there these they this those to was we were what when where which
    who why will with would you your about after before does explained explainer video
    form forms formed work works make makes made happen happens really mean means exist exists get gets come comes
    o os as um uma uns umas de do da dos das e em no na nos nas por para com sem que se ao aos como porque
    qual quais quando onde ser sao foi mais menos muito seu sua seus suas ou entre sobre voce
    funciona funcionam acontece acontecem faz fazem serve servem
    """.split()
)
TOKEN_RE = re.compile(r"[0-9a-z]+")


def fold(text: str) -> str:
    """Lowercase without accents: 'Inflação' -> 'inflacao'."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _stem(token: str) -> str:
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith("oes"):  # pt: opcoes -> opcao is irregular; fold to stem
        return token[:-3]
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def tokens(text: str) -> list[str]:
    """Content words of ``text``, folded and stemmed, in order (duplicates kept)."""
    return [_stem(t) for t in TOKEN_RE.findall(fold(text)) if t not in STOPWORDS and len(t) > 1]


def raw_tokens(text: str) -> list[str]:
    """Content words without stemming, for full-text engines that stem on their own."""
    return [t for t in TOKEN_RE.findall(fold(text)) if t not in STOPWORDS and len(t) > 1]


def jaccard(a: str, b: str) -> float:
    sa, sb = set(tokens(a)), set(tokens(b))
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def claim_key(claim: str) -> str:
    """Two claims differing only in case, accents, punctuation or stopwords share a key."""
    return hashlib.sha256(" ".join(tokens(claim)).encode()).hexdigest()[:32]
