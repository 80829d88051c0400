"""Request bodies of the REST API (validated by pydantic, so a bad body is a 422 that says why)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from tubeflow.contracts import CHECKPOINTS


class ChannelIn(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    niche: str = Field(min_length=1, max_length=64)


class ProductionIn(BaseModel):
    channel: str = Field(min_length=1)
    topic: str = Field(min_length=1, max_length=300)
    force: bool = False


class _Review(BaseModel):
    stage: str

    @field_validator("stage")
    @classmethod
    def _checkpoint(cls, v: str) -> str:
        if v not in CHECKPOINTS:
            raise ValueError(f"stage must be a checkpoint: one of {', '.join(CHECKPOINTS)}")
        return v


class ApproveIn(_Review):
    edits: dict[str, Any] | None = None


class RejectIn(_Review):
    feedback: str = Field(min_length=1, max_length=4000)

    @field_validator("feedback")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("feedback must say what to change")
        return v.strip()


class CancelIn(BaseModel):
    reason: str = Field(default="cancelled by a reviewer", max_length=500)


class CaptionIn(BaseModel):
    url_video: str = Field(min_length=1, max_length=4096)
    url_srt: str = Field(min_length=1, max_length=4096)


class Img2VidIn(BaseModel):
    url_image: str = Field(min_length=1, max_length=4096)
    duration: float = Field(gt=0, le=600)
    zoom: float = Field(default=1.2, ge=1.0, le=4.0)


class AddAudioIn(BaseModel):
    url_video: str = Field(min_length=1, max_length=4096)
    url_audio: str = Field(min_length=1, max_length=4096)


class UploadIn(BaseModel):
    filename: str = Field(default="input", max_length=200)
    content_type: str = Field(default="application/octet-stream", max_length=200)
