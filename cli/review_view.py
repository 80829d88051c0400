"""What `tubeflow status ID` shows a reviewer at a checkpoint, so a review needs no dashboard.

The script checkpoint (or ``--script`` at any stage): the whole script as it will be read. The
audio checkpoint: where the narration is stored (a path to play, or the API's media URL) and its
transcript, part by part with times. The b-roll checkpoint: every part's pictures, on screen and
candidates, with time range, source and relevance score. Each reads the storage keys the
``status`` query names; a file that cannot be read is said in one line, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console

from tubeflow.render_plan import NarrationTiming, RenderPlan
from tubeflow.storage import Storage


def _say(console: Console, text: str) -> None:
    """One line as it is: no markup, and the terminal wraps it (copied text keeps its lines whole)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _read(storage: Storage, key: str, what: str, console: Console) -> str | None:
    try:
        return storage.get_text(key)
    except Exception as e:  # a missing or unreadable file: the rest of the status still prints
        _say(console, f"(cannot read the {what} at {key}: {e})")
        return None


def print_script(storage: Storage, key: str, console: Console) -> None:
    """Title, hook, each section's heading and narration, then description, tags and sources."""
    text = _read(storage, key, "script", console)
    if text is None:
        return
    script: dict[str, Any] = json.loads(text)
    _say(console, f"\nscript ({key}):")
    _say(console, f"  title: {script.get('title', '')}")
    _say(console, f"  hook: {script.get('hook', '')}")
    for n, section in enumerate(script.get("sections") or [], start=1):
        _say(console, f"\n  {n}. {section.get('heading', '')}")
        _say(console, f"     {section.get('narration', '')}")
        if section.get("broll_cues"):
            _say(console, f"     pictures: {'; '.join(section['broll_cues'])}")
    if script.get("description"):
        _say(console, f"\n  description: {script['description']}")
    if script.get("tags"):
        _say(console, f"  tags: {', '.join(script['tags'])}")
    for src in script.get("sources") or []:
        _say(console, f"  source: {src.get('claim', '')} ({src.get('source', '')})")


def print_audio(
    storage: Storage, audio_key: str, timing_key: str, where: Callable[[str], str], console: Console
) -> None:
    """The narration's location and its transcript with each part's time range."""
    _say(console, f"\nnarration audio: {where(audio_key)}")
    if not timing_key:
        return
    text = _read(storage, timing_key, "narration timing", console)
    if text is None:
        return
    timing = NarrationTiming.from_json(text)
    _say(console, f"transcript ({timing.duration_s:.1f} s):")
    for p in timing.parts:
        label = "hook" if p.kind == "hook" else f"section {(p.section or 0) + 1}"
        _say(console, f"  {p.start:6.1f}-{p.end:6.1f} s  {label}: {p.text}")


def print_broll(storage: Storage, plan_key: str, console: Console) -> None:
    """Each part with its time range, then its pictures: on screen (with their own times) and the
    candidates a reviewer may swap in, each with source, relevance score, the query that found it."""
    text = _read(storage, plan_key, "b-roll plan", console)
    if text is None:
        return
    plan = RenderPlan.from_json(text)
    _say(console, f"\nb-roll ({len(plan.parts)} parts, {plan_key}):")
    for p in plan.parts:
        _say(console, f"  part {p.index} {p.label} ({p.start:.1f}-{p.end:.1f} s)")
        for use, items in (("on screen", p.items), ("candidate", p.candidates)):
            for m in items:
                span = f"{m.start:5.1f}-{m.end:5.1f} s" if use == "on screen" else " " * 13
                picture = m.description or m.key.rsplit("/", 1)[-1]
                _say(
                    console,
                    f"    {use:9} {span}  score {m.score:.2f}  query {m.cue!r}  {m.source}: {picture}  [{m.key}]",
                )
    for w in plan.warnings:
        _say(console, f"  warning: {w}")
