"""How far a running stage is, in its own units, and how long it still needs.

"Working on broll…" for 35 s says nothing; "7 of 12 pictures picked, about 20 s left" does.  A
stage that can count its work (pictures picked, narration parts voiced, segments rendered) reports
``done`` of ``total``; the estimate is the stage's own pace so far carried to the end:

    eta_s = elapsed_s / done * (total - done)          (none before the first item is done)

the same "measured speed times what is left" that ``api/estimate.py`` applies to video jobs, with
this run's own speed (the items of one stage are alike; earlier productions' speeds are not).
The activity, which sees its wall clock, computes it; the workflow only carries the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StageStep:
    """The running stage's own count (``done`` of ``total`` ``unit``) and the seconds it still needs."""

    done: int
    total: int
    unit: str  # plural noun phrase: "pictures picked", "narration words voiced", "segments rendered"
    eta_s: float | None = None  # None: not known yet (nothing done)


def eta_s(elapsed_s: float, done: int, total: int) -> float | None:
    if done <= 0 or total <= 0 or elapsed_s < 0:
        return None
    return round(max(0.0, elapsed_s / done * (total - done)), 1)


def left_in_words(seconds: float | None) -> str:
    """Time left as "about 20 s left", "about 3 min left"; "" when unknown, "almost done" at zero."""
    if seconds is None:
        return ""
    if seconds < 1:
        return "almost done"
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    return f"about {minutes} min left" if minutes < 90 else f"about {seconds / 3600:.1f} h left"


def step_detail(step: StageStep) -> str:
    """The status line's detail: "7 of 12 pictures picked, about 20 s left"."""
    left = left_in_words(step.eta_s) if step.done < step.total else ""
    return f"{step.done} of {step.total} {step.unit}" + (f", {left}" if left else "")
