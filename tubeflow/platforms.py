"""The short-video platforms a production's Shorts can go to besides YouTube, named once.

The names cross Temporal (a Short's post request, the reviewer's unticks, the retry signal) and
the database (accounts, posts), so every layer takes them from here.
"""

from __future__ import annotations

from typing import Literal

PlatformName = Literal["tiktok", "instagram"]
PLATFORM_NAMES: tuple[PlatformName, ...] = ("tiktok", "instagram")
PLATFORM_LABELS: dict[str, str] = {"youtube": "YouTube", "tiktok": "TikTok", "instagram": "Instagram"}
# The caption limits the platforms document: TikTok's post title and Instagram's caption.
CAPTION_LIMITS: dict[str, int] = {"tiktok": 2200, "instagram": 2200}


def platform_problem(name: object) -> str | None:
    """Why ``name`` is not a platform the Shorts can go to, or None."""
    if name in PLATFORM_NAMES:
        return None
    return f"unknown platform {name!r}: use one of {', '.join(PLATFORM_NAMES)}"
