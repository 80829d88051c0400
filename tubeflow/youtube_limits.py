"""YouTube's limits on a video's title, description and tags, in one place.

Two readers: the publish metadata (``activities/publish_metadata.py``) fixes what a writer produced
so an upload is never refused, and the final checkpoint's validator (``tubeflow/review_edits.py``)
refuses a reviewer's hand edit that breaks them, with a message, before anything is published:
a person who typed a title wants to be told, not to see it cut.
Limits from https://developers.google.com/youtube/v3/docs/videos#snippet.
"""

from __future__ import annotations

from typing import Any

TITLE_MAX = 100  # characters
DESCRIPTION_MAX_BYTES = 5000  # UTF-8 bytes
TAGS_MAX_CHARS = 500  # as tags_length counts them
ANGLES = ("<", ">")  # refused by YouTube in the title, the description and tags


def tags_length(tags: list[str]) -> int:
    """YouTube's count: the characters, a comma between tags, and quotes around a tag with a space."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def _angles(text: str) -> bool:
    return any(a in text for a in ANGLES)


def title_problem(title: Any) -> str | None:
    if not isinstance(title, str) or not title.strip():
        return "title must be a non-empty string"
    if len(title) > TITLE_MAX:
        return f"title is {len(title)} characters; YouTube allows at most {TITLE_MAX}"
    if _angles(title):
        return "title may not contain < or > (YouTube refuses them)"
    return None


def description_problem(description: Any) -> str | None:
    if not isinstance(description, str):
        return "description must be a string"
    size = len(description.encode("utf-8"))
    if size > DESCRIPTION_MAX_BYTES:
        return f"description is {size} bytes (UTF-8); YouTube allows at most {DESCRIPTION_MAX_BYTES}"
    if _angles(description):
        return "description may not contain < or > (YouTube refuses them)"
    return None


def tags_problem(tags: Any) -> str | None:
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "tags must be a list of strings"
    for t in tags:
        if not t.strip() or "," in t or _angles(t):
            return f"tag {t!r} must be non-empty, without commas, < or >"
    total = tags_length(tags)
    if total > TAGS_MAX_CHARS:
        return (
            f"tags add up to {total} characters (commas between them, quotes around a tag with a space); "
            f"YouTube allows {TAGS_MAX_CHARS}"
        )
    return None
