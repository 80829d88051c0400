"""How two attempts of a script differ: sections matched across attempts and word-level changes.

One reading serves two readers.  The script checkpoint shows a reviewer what a redo changed
(sections added, removed or changed, changed words marked), and the writers' check after writing
asks the same questions ("is there still a section that repeats section 3?", "which section of
the new attempt is the old section 2?") to say honestly whether a note was followed.  Text only:
the page escapes it (Jinja autoescape), nothing here produces markup.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
REPEAT_WORDS = 6  # a run of this many words said twice is a repetition a listener notices
LONG_SENTENCE = 6  # sentences shorter than this ("Here is the key.") do not identify a section


def words(text: str) -> list[str]:
    return text.split()


def _norm(text: str) -> list[str]:
    return [w for w in (re.sub(r"[^\w]+", "", t.lower()) for t in text.split()) if w]


def longest_shared_run(a: str, b: str) -> list[str]:
    """The longest run of consecutive words (case and punctuation aside) that both texts say."""
    x, y = _norm(a), _norm(b)
    m = difflib.SequenceMatcher(None, x, y, autojunk=False).find_longest_match(0, len(x), 0, len(y))
    return x[m.a : m.a + m.size]


def _long_sentences(text: str) -> set[str]:
    return {" ".join(_norm(s)) for s in SENTENCE_END.split(text) if len(_norm(s)) >= LONG_SENTENCE}


def _similarity(a: dict[str, Any], b: dict[str, Any]) -> float:
    return difflib.SequenceMatcher(None, _norm(a["narration"]), _norm(b["narration"]), autojunk=False).ratio()


def counterpart(section: dict[str, Any], candidates: list[dict[str, Any]]) -> int | None:
    """Which of ``candidates`` (the other attempt's sections) is ``section``: the one saying most of
    its sentences, else one under the same heading saying a good part of the same words, else one
    at least half the same words.  (A heading alone is not enough: "What really happens" is a
    position, and a dropped section's heading passes to the next one.)"""
    mine = _long_sentences(section["narration"])
    shared = [len(mine & _long_sentences(c["narration"])) for c in candidates]
    if shared and max(shared) > 0:
        return shared.index(max(shared))
    ratios = [_similarity(section, c) for c in candidates]
    for i, c in enumerate(candidates):
        if c["heading"].strip().lower() == section["heading"].strip().lower() and ratios[i] >= 0.35:
            return i
    if ratios and max(ratios) >= 0.5:
        return ratios.index(max(ratios))
    return None


def word_diff(old: str, new: str) -> list[dict[str, str]]:
    """``[{"op": "same"|"del"|"ins", "text": ...}]``: what a reader sees struck out and added."""
    a, b = words(old), words(new)
    out: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append({"op": "same", "text": " ".join(a[i1:i2])})
            continue
        if i2 > i1:
            out.append({"op": "del", "text": " ".join(a[i1:i2])})
        if j2 > j1:
            out.append({"op": "ins", "text": " ".join(b[j1:j2])})
    return out


def _field(old: str, new: str) -> dict[str, Any]:
    return {"changed": old != new, "old": old, "new": new, "words": word_diff(old, new)}


def align_sections(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[int | None, int | None]]:
    """Pairs (old index, new index) in the new attempt's order, removed sections after the section
    that preceded them; an index is None for a section only one attempt has."""
    taken: set[int] = set()
    match: dict[int, int] = {}  # new -> old
    for j, sec in enumerate(new):
        free = [i for i in range(len(old)) if i not in taken]
        k = counterpart(sec, [old[i] for i in free])
        if k is not None:
            match[j] = free[k]
            taken.add(free[k])
    pairs: list[tuple[int | None, int | None]] = []
    emitted: set[int] = set()

    def removed_before(limit: int) -> None:
        for i in range(limit):
            if i not in taken and i not in emitted:
                pairs.append((i, None))
                emitted.add(i)

    for j in range(len(new)):
        i = match.get(j)
        if i is not None:
            removed_before(i)
        pairs.append((i, j))
        if i is not None:  # sections removed right after this one stay where they were
            k = i + 1
            while k < len(old) and k not in taken and k not in emitted:
                pairs.append((k, None))
                emitted.add(k)
                k += 1
    removed_before(len(old))
    return pairs


def diff_scripts(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed from ``old`` to ``new``: title, hook, each section (added, removed, changed or
    same, with its word diff), and a one-line count for the summary."""
    olds, news = old.get("sections") or [], new.get("sections") or []
    sections: list[dict[str, Any]] = []
    for i, j in align_sections(olds, news):
        o = olds[i] if i is not None else None
        n = news[j] if j is not None else None
        if o is None and n is not None:
            status = "added"
        elif n is None and o is not None:
            status = "removed"
        else:
            assert o is not None and n is not None
            status = "changed" if (o["heading"], o["narration"]) != (n["heading"], n["narration"]) else "same"
        sections.append(
            {
                "status": status,
                "old_index": None if i is None else i + 1,
                "new_index": None if j is None else j + 1,
                "heading": _field(o["heading"] if o else "", n["heading"] if n else ""),
                "narration": _field(o["narration"] if o else "", n["narration"] if n else ""),
            }
        )
    counts = {k: sum(s["status"] == k for s in sections) for k in ("added", "removed", "changed", "same")}
    title = _field(str(old.get("title", "")), str(new.get("title", "")))
    hook = _field(str(old.get("hook", "")), str(new.get("hook", "")))
    parts = [
        f"{counts[k]} section{'s' if counts[k] != 1 else ''} {k}" for k in ("added", "removed", "changed") if counts[k]
    ]
    if hook["changed"]:
        parts.insert(0, "hook changed")
    if title["changed"]:
        parts.insert(0, "title changed")
    return {
        "title": title,
        "hook": hook,
        "sections": sections,
        "counts": counts,
        "summary": ", ".join(parts) or "no change to the spoken text or the title",
    }
