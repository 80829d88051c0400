"""Answers holding a video's quality report (``tubeflow.quality_report.QualityReport``): in a
production's outputs, at the final checkpoint's material, and at ``GET /api/productions/{id}/quality``.

``Stored`` because the report is kept in the database with the production's outputs: a report
written by a newer version may carry more than these fields."""

from __future__ import annotations

from pydantic import Field

from api.answers import Answer, Stored


class MomentOut(Stored):
    start: float = Field(description="seconds on the video's timeline")
    end: float


class QualityFigureOut(Stored):
    """One measured figure; ``passed`` is null when it could not be measured (``message`` says why)."""

    name: str
    value: float | None
    unit: str
    threshold: str = Field(description="the channel's limit as a reviewer reads it: '-14 ± 1 LUFS', '≤ 3.5 s'")
    passed: bool | None
    message: str
    at_s: float | None = Field(default=None, description="the moment to look at (the first failing one)")
    moments: list[MomentOut] = Field(default_factory=list)
    label: str = Field(default="", description="the figure's name as a reviewer reads it")


class QualityReportOut(Stored):
    video: str = Field(description="'long' or 'short-<n>'")
    duration_s: float
    width: int
    height: int
    figures: list[QualityFigureOut]
    notes: list[str] = Field(default_factory=list, description="what could not be measured, and why")
    passed: bool = Field(description="no measured figure failed")
    key: str = Field(default="", description="where the report's JSON is stored")


class QualityReportsOut(Answer):
    """The reports of one production: the long-form's latest render and each Short's."""

    production_id: str
    video: QualityReportOut | None = Field(description="null until the video was rendered and measured")
    shorts: list[QualityReportOut]
