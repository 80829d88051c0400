"""The script document every writer produces and every later stage reads.

Stored as JSON under ``productions/<id>/script-v<attempt>.json``.  Validation is strict because
LLM output is untrusted: the LLM writer retries when :func:`validate_script` raises.
"""

from __future__ import annotations

from typing import Any

from tubeflow.errors import PermanentError


class ScriptInvalid(PermanentError):
    type_name = "ScriptInvalid"


def _need_str(obj: dict[str, Any], key: str, where: str, allow_empty: bool = False) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ScriptInvalid(f"{where}.{key} must be a non-empty string")
    return value


def validate_script(data: Any) -> dict[str, Any]:
    """Return a normalised copy of ``data`` or raise :class:`ScriptInvalid` saying what is wrong.

    Shape: {"title", "hook", "sections": [{"heading", "narration", "broll_cues": [str],
    "short_candidate": bool}], "description", "tags": [str], "sources": [{"claim", "source"}],
    "language"}.
    """
    if not isinstance(data, dict):
        raise ScriptInvalid("script must be a JSON object")
    out: dict[str, Any] = {
        "title": _need_str(data, "title", "script").strip(),
        "hook": _need_str(data, "hook", "script").strip(),
        "description": _need_str(data, "description", "script", allow_empty=True),
        "language": str(data.get("language") or "en"),
    }
    if len(out["title"]) > 100:
        raise ScriptInvalid("script.title must be at most 100 characters (YouTube's limit)")
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        raise ScriptInvalid("script.sections must be a non-empty list")
    norm_sections = []
    for i, s in enumerate(sections):
        where = f"script.sections[{i}]"
        if not isinstance(s, dict):
            raise ScriptInvalid(f"{where} must be an object")
        cues = s.get("broll_cues", [])
        if not isinstance(cues, list) or not all(isinstance(c, str) for c in cues):
            raise ScriptInvalid(f"{where}.broll_cues must be a list of strings")
        norm_sections.append(
            {
                "heading": _need_str(s, "heading", where).strip(),
                "narration": _need_str(s, "narration", where).strip(),
                "broll_cues": [c.strip() for c in cues if c.strip()],
                "short_candidate": bool(s.get("short_candidate", False)),
            }
        )
    out["sections"] = norm_sections
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ScriptInvalid("script.tags must be a list of strings")
    out["tags"] = [t.strip() for t in tags if t.strip()][:30]
    sources = data.get("sources", [])
    if not isinstance(sources, list):
        raise ScriptInvalid("script.sources must be a list")
    norm_sources = []
    for i, src in enumerate(sources):
        if not isinstance(src, dict):
            raise ScriptInvalid(f"script.sources[{i}] must be an object")
        norm_sources.append(
            {
                "claim": str(src.get("claim", "")),
                "source": str(src.get("source", "")),
                "origin": str(src.get("origin", "")),
            }
        )
    out["sources"] = norm_sources
    if "feedback_applied" in data:
        out["feedback_applied"] = [str(x) for x in data.get("feedback_applied") or []]
    if "feedback_handling" in data:  # how each note was handled (activities/script_feedback.py)
        out["feedback_handling"] = _handling(data.get("feedback_handling"))
    if "viewer_learnings" in data:  # what analytics taught the writer, shown at the script checkpoint
        out["viewer_learnings"] = [str(x) for x in data.get("viewer_learnings") or []]
    return out


ASK_STATUSES = ("applied", "not_applied", "unverified")


def _handling(value: Any) -> list[dict[str, Any]]:
    """Each note's handling, normalised; lenient, because a script written before it existed, or a
    model echoing something odd, must still load (what is not a note's record is dropped)."""
    out: list[dict[str, Any]] = []
    for h in value if isinstance(value, list) else []:
        if not isinstance(h, dict) or not str(h.get("note", "")).strip():
            continue
        asks = []
        raw_asks = h.get("asks")
        for a in raw_asks if isinstance(raw_asks, list) else []:
            if not isinstance(a, dict):
                continue
            status = str(a.get("status", ""))
            status = status if status in ASK_STATUSES else ("applied" if a.get("applied") else "unverified")
            asks.append(
                {
                    "ask": str(a.get("ask", "")),
                    "kind": str(a.get("kind", "other")),
                    "status": status,
                    "applied": status == "applied",
                    "where": str(a.get("where", "")),
                    "detail": str(a.get("detail", "")),
                }
            )
        try:
            attempt = int(h.get("attempt") or 0)
        except (TypeError, ValueError):
            attempt = 0
        out.append(
            {
                "note": str(h["note"]),
                "attempt": attempt,
                "applied": bool(asks) and all(a["applied"] for a in asks),
                "asks": asks,
            }
        )
    return out


def narration_text(script: dict[str, Any]) -> list[str]:
    """Spoken text per part: the hook first, then each section (TTS and timing use this order)."""
    return [script["hook"], *(s["narration"] for s in script["sections"])]


def word_count(script: dict[str, Any]) -> int:
    return sum(len(t.split()) for t in narration_text(script))
