"""Was a reviewer's note followed?  Checked on the script that was written, never taken on trust.

Every writer (the offline one and an LLM) is judged the same way: each ask in a note
(:func:`knowledge.feedback.split_asks`) is compared between the attempt the note was written
about and the new one.  An ask counts as applied only when the new attempt demonstrably differs
where the note asked: the hook has fewer words, the named fact's text is now said, the section
that repeated another is gone or no longer repeats it.  What a writer could not do it says
itself (``why_not``), and what no rule can check is reported as such: the reviewer reads the diff.

The result is stored in the script as ``feedback_handling`` (one entry per note, with its asks);
``feedback_applied`` keeps its old meaning for old readers, honestly: the notes whose every ask
was applied.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.feedback import Ask, split_asks
from knowledge.text import tokens
from tubeflow.script_diff import REPEAT_WORDS, counterpart, longest_shared_run
from tubeflow.script_schema import word_count

LLM_HINT = (
    "use an LLM provider (TUBEFLOW_SCRIPT_WRITER=groq with TUBEFLOW_LLM_API_KEY, or openai with "
    "TUBEFLOW_LLM_BASE_URL), or edit the text here and approve"
)
OFFLINE_CANNOT = (
    "the offline writer cannot do this: it can shorten or lengthen the script, the hook, the title or a "
    "section, add a fact from the niche's notes, drop or merge a section, and write a new, calmer or more "
    f"energetic hook; {LLM_HINT}"
)
UNCHECKABLE = "sent to the model; no rule can check this request: compare the attempts below"

APPLIED, NOT_APPLIED, UNVERIFIED = "applied", "not_applied", "unverified"


@dataclass
class Intent:
    """What a writer did about one ask before the check: the fact it added (mention/explain), or
    why it could not follow it; ``note`` is said next to the result (e.g. "named plainly")."""

    why_not: str = ""
    fact: str = ""  # the claim added for a mention/explain ask
    note: str = ""


def resolve_section(ref: str, sections: list[dict[str, Any]]) -> int | None:
    """The 0-based index of "3" or "last" in ``sections``; None when there is no such section."""
    if ref == "last":
        return len(sections) - 1 if sections else None
    if ref.isdigit() and 1 <= int(ref) <= len(sections):
        return int(ref) - 1
    return None


def where_section(i: int, sections: list[dict[str, Any]]) -> str:
    return f"section {i + 1} “{sections[i]['heading']}”"


def _spoken_norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", "", w.lower()) for w in text.split())


def _contains(haystack: str, needle: str) -> bool:
    n = _spoken_norm(needle)
    return bool(n) and n in _spoken_norm(haystack)


def _section_saying(script: dict[str, Any], claim: str) -> int | None:
    for i, s in enumerate(script.get("sections") or []):
        if _contains(s["narration"], claim):
            return i
    return None


def _covering(script: dict[str, Any], what: str) -> int | None:
    """The section whose one sentence names most of what the ask names (stems: "sunsets" ~ "sunset")."""
    want = set(tokens(what))
    if not want:
        return None
    need = max(1, math.ceil(0.6 * len(want)))
    best: tuple[int, int] | None = None
    for i, s in enumerate(script.get("sections") or []):
        for sentence in re.split(r"(?<=[.!?])\s+", s["narration"]):
            got = len(want & set(tokens(sentence)))
            if got >= need and (best is None or got > best[0]):
                best = (got, i)
    return None if best is None else best[1]


def check_ask(
    ask: Ask, before: dict[str, Any] | None, after: dict[str, Any], attempt: int, intent: Intent
) -> dict[str, Any]:
    """One ask's handling: ``status`` applied / not_applied / unverified, ``where`` it changed, ``detail``."""
    out: dict[str, Any] = {"ask": ask.text, "kind": ask.kind, "where": "", "detail": ""}

    def done(status: str, where: str = "", detail: str = "") -> dict[str, Any]:
        out.update(status=status, applied=status == APPLIED, where=where, detail=detail)
        if intent.note and status == APPLIED:
            out["detail"] = f"{detail}; {intent.note}" if detail else intent.note
        return out

    if intent.why_not:
        return done(NOT_APPLIED, detail=intent.why_not)
    if ask.kind == "other":
        return done(UNVERIFIED, detail=UNCHECKABLE)
    unread = f"attempt {attempt}, which the note was about, could not be read to compare"
    if ask.kind in ("mention", "explain") and before is None:  # not said at all is a "no" without comparing
        now = _section_saying(after, intent.fact) if intent.fact else _covering(after, ask.what)
        if now is None:
            return done(NOT_APPLIED, detail=f"the new attempt does not say “{ask.what}”")
        return done(UNVERIFIED, where_section(now, after.get("sections") or []), f"said here; {unread}")
    if before is None:
        return done(UNVERIFIED, detail=unread)
    b_secs, a_secs = before.get("sections") or [], after.get("sections") or []

    if ask.kind in ("shorter", "longer"):
        sign = -1 if ask.kind == "shorter" else 1
        if ask.scope == "section":
            i = resolve_section(ask.section, b_secs)
            if i is None:
                return done(NOT_APPLIED, detail=f"attempt {attempt} has no section {ask.section or '(unnamed)'}")
            j = counterpart(b_secs[i], a_secs)
            if j is None:
                ok = ask.kind == "shorter"
                return done(APPLIED if ok else NOT_APPLIED, where_section(i, b_secs), "the section was removed")
            old, new = len(b_secs[i]["narration"].split()), len(a_secs[j]["narration"].split())
            where = where_section(j, a_secs)
        elif ask.scope == "hook":
            old, new, where = len(before["hook"].split()), len(after["hook"].split()), "hook"
        elif ask.scope == "title":
            old, new, where = len(before["title"]), len(after["title"]), "title"
        else:
            old, new, where = word_count(before), word_count(after), "whole script"
        unit = "characters" if ask.scope == "title" else "words"
        ok = (new - old) * sign > 0
        return done(APPLIED if ok else NOT_APPLIED, where, f"{old} → {new} {unit}")

    if ask.kind in ("energetic", "calmer", "hook"):
        if after["hook"] != before["hook"]:
            return done(APPLIED, "hook", f"new hook: “{after['hook']}”")
        return done(NOT_APPLIED, "hook", "the hook is word for word the same")

    if ask.kind == "title":
        if after["title"] != before["title"]:
            return done(APPLIED, "title", f"“{before['title']}” → “{after['title']}”")
        return done(NOT_APPLIED, "title", "the title is the same")

    if ask.kind in ("mention", "explain"):
        if intent.fact:
            now, then = _section_saying(after, intent.fact), _section_saying(before, intent.fact)
        else:
            now, then = _covering(after, ask.what), _covering(before, ask.what)
        if now is None:
            return done(NOT_APPLIED, detail=f"the new attempt does not say “{ask.what}”")
        if then is not None:
            return done(
                NOT_APPLIED,
                where_section(now, a_secs),
                f"attempt {attempt} already said it, in {where_section(then, b_secs)}",
            )
        said = f"“{intent.fact}”" if intent.fact else f"names “{ask.what}”"
        return done(APPLIED, where_section(now, a_secs), f"now says {said}")

    if ask.kind in ("merge", "drop"):
        i = resolve_section(ask.section, b_secs)
        k = resolve_section(ask.other, b_secs) if ask.kind == "merge" else None
        if i is None or (ask.kind == "merge" and k is None):
            missing = ask.section if i is None else ask.other
            return done(NOT_APPLIED, detail=f"attempt {attempt} has no section {missing or '(unnamed)'}")
        j = counterpart(b_secs[i], a_secs)
        if j is None:
            return done(APPLIED, where_section(i, b_secs), f"removed (section {i + 1} of attempt {attempt})")
        if ask.kind == "drop":
            return done(NOT_APPLIED, where_section(j, a_secs), "the section is still there")
        assert k is not None
        m = counterpart(b_secs[k], a_secs)
        if m == j:
            return done(APPLIED, where_section(j, a_secs), f"sections {i + 1} and {k + 1} are now one")
        was = len(longest_shared_run(b_secs[i]["narration"], b_secs[k]["narration"]))
        others = [a_secs[x]["narration"] for x in range(len(a_secs)) if x != j]
        now_run = max((len(longest_shared_run(a_secs[j]["narration"], o)) for o in others), default=0)
        if was >= REPEAT_WORDS and now_run < REPEAT_WORDS:
            return done(
                APPLIED,
                where_section(j, a_secs),
                f"no longer repeats section {k + 1}: {was} words in a row were said twice, now at most {now_run}",
            )
        return done(
            NOT_APPLIED, where_section(j, a_secs), f"still a section of its own ({now_run} words in a row shared)"
        )

    return done(UNVERIFIED, detail=UNCHECKABLE)


def note_attempts(notes: list[str], previous: dict[str, Any] | None, attempt: int) -> dict[str, int]:
    """The attempt each note was written about: an earlier redo's own record, else the one before."""
    known = {str(h.get("note")): int(h.get("attempt") or 0) for h in (previous or {}).get("feedback_handling") or []}
    return {n: known.get(n) or max(1, attempt - 1) for n in notes}


def handle_notes(
    notes: list[str],
    earlier: Mapping[int, dict[str, Any]],
    after: dict[str, Any],
    attempt: int,
    intents: Mapping[Ask, Intent] | None = None,
) -> list[dict[str, Any]]:
    """Every note's handling, checked against the attempt it was about (``earlier[n]``)."""
    about = note_attempts(notes, earlier.get(attempt - 1), attempt)
    out: list[dict[str, Any]] = []
    for note in notes:
        n = about[note]
        asks = [check_ask(a, earlier.get(n), after, n, (intents or {}).get(a, Intent())) for a in split_asks(note)]
        out.append(
            {"note": note, "attempt": n, "applied": bool(asks) and all(a["applied"] for a in asks), "asks": asks}
        )
    return out


def applied_notes(handling: list[dict[str, Any]]) -> list[str]:
    """The old ``feedback_applied`` list, honestly: only notes whose every ask was applied."""
    return [h["note"] for h in handling if h["applied"]]
