"""Captions spelled from the script: the script's words, timed by what was heard.

The script is the text the voice was given, so it is the truth for spelling, names, numbers and
punctuation; Whisper (or the TTS engine's word boundaries) only knows *when* each word was said.
:func:`align_to_script` pairs the two word lists with a global sequence alignment on normalised
tokens (accents, case and punctuation folded; near-misses like "Rayleigh"/"Raleigh" still pair)
and gives every script word a time: its partner's time when it has one, else a share of the gap
between its aligned neighbours, weighted by word length.  With the narration's part timing the
alignment runs part by part, so a mishearing can never pull a word into another part.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from tubeflow.render_plan import NarrationTiming
from tubeflow.script_schema import narration_text

MATCH_MIN = 0.6  # normalised-token similarity at which two words count as the same word
GAP = -0.45  # alignment score of skipping a word on either side
PART_TOLERANCE_S = 0.25  # a heard word may start this much before its part (Whisper starts early)
MIN_WORD_S = 0.05


@dataclass
class AlignStats:
    """How much of the script was anchored to heard words (for logs, the bench and tests)."""

    script_words: int = 0
    anchored: int = 0
    heard_words: int = 0

    @property
    def anchored_ratio(self) -> float:
        return self.anchored / self.script_words if self.script_words else 0.0


def norm(word: str) -> str:
    """Casefolded, accents and punctuation removed: "Ação," -> "acao", "1,000" -> "1000"."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0 if a else 0.0
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


def align_pairs(script: Sequence[str], heard: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs (script i, heard j) of a maximum-score global alignment (Needleman-Wunsch).

    A pair scores ``2 * similarity - 1`` (identical +1, unrelated -1) and only pairs at or above
    :data:`MATCH_MIN` are returned as anchors; the rest of the alignment decides who is skipped.
    """
    a = [norm(w) for w in script]
    b = [norm(w) for w in heard]
    n, m = len(a), len(b)
    if not n or not m:
        return []
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[0] * (m + 1) for _ in range(n + 1)]  # 0 diagonal, 1 skip script word, 2 skip heard word
    for i in range(1, n + 1):
        score[i][0], move[i][0] = GAP * i, 1
    for j in range(1, m + 1):
        score[0][j], move[0][j] = GAP * j, 2
    sims: dict[tuple[int, int], float] = {}
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = similarity(a[i - 1], b[j - 1])
            sims[(i - 1, j - 1)] = s
            diag = score[i - 1][j - 1] + 2 * s - 1
            up = score[i - 1][j] + GAP
            left = score[i][j - 1] + GAP
            best = max(diag, up, left)
            score[i][j] = best
            move[i][j] = 0 if best == diag else 1 if best == up else 2
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0 and j > 0:
        mv = move[i][j]
        if mv == 0:
            if sims[(i - 1, j - 1)] >= MATCH_MIN:
                pairs.append((i - 1, j - 1))
            i, j = i - 1, j - 1
        elif mv == 1:
            i -= 1
        else:
            j -= 1
    pairs.reverse()
    return pairs


def _fill(tokens: Sequence[str], start: float, end: float) -> list[tuple[float, float]]:
    """Spread ``tokens`` over [start, end] by length (+2: a short word still takes time to say)."""
    if not tokens:
        return []
    end = max(end, start + MIN_WORD_S * len(tokens))
    weights = [len(norm(t)) + 2 for t in tokens]
    total = sum(weights)
    out, t = [], start
    for w in weights:
        d = (end - start) * w / total
        out.append((t, t + d * 0.92))
        t += d
    return out


def align_segment(
    script: Sequence[str], heard: Sequence[dict[str, Any]], start: float, end: float, stats: AlignStats
) -> list[dict[str, Any]]:
    """Timed script words for one span (a narration part, or the whole audio)."""
    pairs = align_pairs(script, [str(h["word"]) for h in heard])
    stats.script_words += len(script)
    stats.heard_words += len(heard)
    stats.anchored += len(pairs)
    times: list[tuple[float, float] | None] = [None] * len(script)
    # Several script words paired with one heard word (Whisper merged them) split its time.
    by_heard: dict[int, list[int]] = {}
    for i, j in pairs:
        by_heard.setdefault(j, []).append(i)
    for j, idx in by_heard.items():
        h0, h1 = float(heard[j]["start"]), float(heard[j]["end"])
        spans = [(h0, h1)] if len(idx) == 1 else _fill([script[i] for i in idx], h0, h1)
        for i, span in zip(idx, spans, strict=True):
            times[i] = span
    k = 0
    while k < len(script):
        if times[k] is not None:
            k += 1
            continue
        run_end = k
        while run_end < len(script) and times[run_end] is None:
            run_end += 1
        prev = times[k - 1] if k > 0 else None
        nxt = times[run_end] if run_end < len(script) else None
        lo = prev[1] if prev else start
        hi = nxt[0] if nxt else end
        if hi - lo < MIN_WORD_S * (run_end - k):
            # No silence to put them in: take a share of the neighbours' own time instead.
            lo = (prev[0] + prev[1]) / 2 if prev else lo
            hi = (nxt[0] + nxt[1]) / 2 if nxt else max(hi, lo + MIN_WORD_S * (run_end - k))
        for off, span in enumerate(_fill(script[k:run_end], lo, hi)):
            times[k + off] = span
        k = run_end
    out: list[dict[str, Any]] = []
    floor = start
    for word, timed in zip(script, times, strict=True):
        lo_hi = timed if timed is not None else (floor, floor + MIN_WORD_S)  # every slot is filled above
        s = max(lo_hi[0], floor)  # starts never go backwards, whatever the pairing did
        out.append({"word": word, "start": round(s, 3), "end": round(max(lo_hi[1], s + 0.01), 3)})
        floor = s
    return out


def align_to_script(
    script: dict[str, Any],
    heard: Sequence[dict[str, Any]],
    timing: NarrationTiming | None = None,
    duration_s: float | None = None,
) -> tuple[list[dict[str, Any]], AlignStats]:
    """Every script word (its own spelling and punctuation) with a start and end in seconds."""
    texts = narration_text(script)
    heard = sorted((h for h in heard if str(h.get("word", "")).strip()), key=lambda h: float(h["start"]))
    stats = AlignStats()
    if timing is None or not timing.parts:
        tokens = [t for text in texts for t in text.split()]
        end = duration_s if duration_s is not None else (float(heard[-1]["end"]) if heard else 0.0)
        return align_segment(tokens, heard, 0.0, end, stats), stats
    words: list[dict[str, Any]] = []
    parts = sorted(timing.parts, key=lambda p: p.start)
    for n, part in enumerate(parts):
        text = texts[part.index] if part.index < len(texts) else part.text
        nxt = parts[n + 1].start if n + 1 < len(parts) else float("inf")
        # A heard word belongs to the part whose span (plus the pause after it) holds its middle.
        mine = [
            h
            for h in heard
            if part.start - PART_TOLERANCE_S <= (float(h["start"]) + float(h["end"])) / 2 < nxt - PART_TOLERANCE_S
            or (n + 1 == len(parts) and (float(h["start"]) + float(h["end"])) / 2 >= part.start - PART_TOLERANCE_S)
        ]
        clipped = [
            {"word": h["word"], "start": max(float(h["start"]), part.start), "end": min(float(h["end"]), part.end)}
            for h in mine
        ]
        words += align_segment(text.split(), clipped, part.start, part.end, stats)
    return words, stats


# ---------------------------------------------------------------- measuring


def word_error_rate(reference: Sequence[str], hypothesis: Sequence[str]) -> float:
    """Levenshtein distance over exact words / reference length (spelling and punctuation count)."""
    n, m = len(reference), len(hypothesis)
    if n == 0:
        return 0.0 if m == 0 else 1.0
    prev = list(range(m + 1))
    for i in range(1, n + 1):
        cur = [i] + [0] * m
        for j in range(1, m + 1):
            cost = 0 if reference[i - 1] == hypothesis[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
        prev = cur
    return prev[m] / n


def script_words(script: dict[str, Any]) -> list[str]:
    return [t for text in narration_text(script) for t in text.split()]
