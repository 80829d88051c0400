"""Request bodies of the REST API, validated strictly so a bad body is a 422 that says why.

Strict on purpose: an unknown field is refused (``{"role": "admin"}`` on a channel must not be
silently dropped, the sender believes it did something), ``true`` is not the number 1, numbers
are finite, and every string and container has a bound.  Text may not hold lone surrogates or
control characters (see :mod:`tubeflow.names`), which would otherwise fail later inside Temporal
or the database as a 500.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from fastapi import Path as PathParam
from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from tubeflow.contracts import CHECKPOINTS
from tubeflow.job_contracts import IMG2VID_MAX_DURATION_S, IMG2VID_MAX_ZOOM, IMG2VID_MIN_ZOOM
from tubeflow.names import CHANNEL_NAME_PATTERN, text_problem

MAX_EDITS_BYTES = 256 * 1024  # a long script with every section rewritten is ~40 KB
MAX_EDITS_DEPTH = 16


def _line(v: str) -> str:
    problem = text_problem(v, single_line=True)
    if problem:
        raise ValueError(f"text {problem}")
    return v


def _text(v: str) -> str:
    problem = text_problem(v)
    if problem:
        raise ValueError(f"text {problem}")
    return v


Line = Annotated[str, AfterValidator(_line)]
# Identifiers in paths and filters: what ids and names can be, so nothing else reaches the database
# (PostgreSQL refuses NUL in text, SQLite integers stop at 2**63).
ProductionId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
KeyId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]
NameFilter = Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
MAX_OFFSET = 1_000_000_000
Text = Annotated[str, AfterValidator(_text)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ChannelIn(Strict):
    name: Line = Field(min_length=1, max_length=64, pattern=CHANNEL_NAME_PATTERN)
    niche: Line = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ProductionIn(Strict):
    channel: Line = Field(min_length=1, max_length=64)
    topic: Line = Field(min_length=1, max_length=300)
    force: bool = False


class _Review(Strict):
    stage: str = Field(max_length=32)

    @field_validator("stage")
    @classmethod
    def _checkpoint(cls, v: str) -> str:
        if v not in CHECKPOINTS:
            raise ValueError(f"stage must be a checkpoint: one of {', '.join(CHECKPOINTS)}")
        return v


def _edits_problem(value: Any, depth: int = 0) -> str | None:
    if depth > MAX_EDITS_DEPTH:
        return f"nested deeper than {MAX_EDITS_DEPTH} levels"
    if isinstance(value, str):
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "holds a number that is not finite"
    if isinstance(value, dict):
        for k, v in value.items():
            problem = _edits_problem(k, depth + 1) or _edits_problem(v, depth + 1)
            if problem:
                return problem
    if isinstance(value, list):
        for v in value:
            problem = _edits_problem(v, depth + 1)
            if problem:
                return problem
    return None


class ApproveIn(_Review):
    edits: dict[str, Any] | None = Field(
        default=None, description=f"changes to the reviewed artifact; at most {MAX_EDITS_BYTES} bytes as JSON"
    )

    @field_validator("edits")
    @classmethod
    def _bounded(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is None:
            return v
        problem = _edits_problem(v)
        if problem:
            raise ValueError(f"edits {problem}")
        size = len(json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > MAX_EDITS_BYTES:
            raise ValueError(f"edits are {size} bytes as JSON; the limit is {MAX_EDITS_BYTES}")
        return v


class RejectIn(_Review):
    feedback: Text = Field(min_length=1, max_length=4000)
    to: Literal["script", "broll", "render", "thumbnail"] | None = Field(
        default=None, description="final checkpoint only: redo from this stage (default: the thumbnails)"
    )
    pronounce: dict[Line, Line] | None = Field(
        default=None,
        max_length=50,
        description="audio checkpoint only: word -> respelling ('RAY-lee') or 'ipa:<phonemes>', kept per channel",
    )

    @field_validator("feedback")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("feedback must say what to change")
        return v.strip()


class CancelIn(Strict):
    reason: Text = Field(default="cancelled by a reviewer", max_length=500)


class RetryIn(Strict):
    note: Text = Field(default="", max_length=500)  # what the operator fixed, kept in the logs
    # tiktok | instagram: continue only the Shorts' posting to that platform (failed for good, or on its cap)
    platform: Literal["", "tiktok", "instagram"] = ""


Url = Annotated[Line, Field(min_length=1, max_length=4096)]


class CaptionIn(Strict):
    url_video: Url
    url_srt: Url
    callback_url: Url | None = None


class Img2VidIn(Strict):
    url_image: Url
    duration: float = Field(gt=0, le=IMG2VID_MAX_DURATION_S)
    zoom: float = Field(default=1.2, ge=IMG2VID_MIN_ZOOM, le=IMG2VID_MAX_ZOOM)
    callback_url: Url | None = None


class AddAudioIn(Strict):
    url_video: Url
    url_audio: Url
    callback_url: Url | None = None


class CaptionOp(CaptionIn):
    op: Literal["caption"]


class Img2VidOp(Img2VidIn):
    op: Literal["img2vid"]


class AddAudioOp(AddAudioIn):
    op: Literal["addaudio"]


class BatchIn(Strict):
    """Up to TUBEFLOW_VIDEO_BATCH_MAX operations, each ``{op, ...its own fields}``."""

    operations: list[Annotated[CaptionOp | Img2VidOp | AddAudioOp, Field(discriminator="op")]] = Field(
        min_length=1, max_length=200
    )


class UploadIn(Strict):
    filename: Line = Field(default="input", max_length=200)
    content_type: Line = Field(default="application/octet-stream", max_length=200)


class KeyIn(Strict):
    name: Line = Field(min_length=1, max_length=200)
    role: str = Field(pattern=r"^(viewer|editor|admin)$")


class ReviseIn(ApproveIn):
    """Edits saved at the b-roll checkpoint before deciding: applied and previewed, the checkpoint kept open."""

    edits: dict[str, Any] | None = Field(
        default=None,
        description="b-roll edits: {'parts': {'<part>': [<keys in order>]}} and/or {'swap': {...}}; "
        f"at most {MAX_EDITS_BYTES} bytes as JSON",
    )
