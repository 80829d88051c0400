"""What a stored file really is, from its first bytes, for serving it safely.

The API must not trust a file name (``clip.mp4`` can hold HTML) nor an uploader's declared
type.  Only the container signatures below are served inline, with the type named here;
everything else goes out as a download.  Reading 64 bytes is cheap enough for every media
request, unlike a full probe (:mod:`tubeflow.media.probe`, used once when an upload arrives).
"""

from __future__ import annotations

import re
from pathlib import Path

from tubeflow.errors import MediaError
from tubeflow.media.probe import probe

HEAD_BYTES = 64


def media_type(head: bytes) -> str | None:
    """The MIME type of audio, video or a still image starting with ``head``; None for anything else."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return "video/quicktime"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"RIFF") and len(head) >= 12:
        return {b"WAVE": "audio/wav", b"WEBP": "image/webp", b"AVI ": "video/x-msvideo"}.get(head[8:12])
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        # MPEG audio frame sync: layer bits 00 are ADTS (AAC), anything else MP1/2/3.
        return "audio/aac" if head[1] & 0x06 == 0 else "audio/mpeg"
    return None


# Non-media files the pipeline writes and people download: typed by name, always as attachments.
DOWNLOAD_TYPES = {
    ".json": "application/json",
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".ass": "text/x-ssa",
    ".txt": "text/plain; charset=utf-8",
}


_CUE = re.compile(rb"\d{1,2}:\d{2}:\d{2}[,.]\d{3}\s*-->\s*\d{1,2}:\d{2}:\d{2}[,.]\d{3}")
MAX_SUBTITLE_BYTES = 5 * 1024 * 1024


def usable_input(path: Path) -> str:
    """The type of an uploaded input the pipeline can use (audio, video, a still, SRT/VTT subtitles),
    or :class:`~tubeflow.errors.MediaError` saying why not.  Media is probed (decoded), not only named."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    kind = media_type(head)
    if kind is not None:
        probe(path, label="the upload")
        return kind
    size = path.stat().st_size
    if 0 < size <= MAX_SUBTITLE_BYTES:
        data = path.read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            data = b""
        if data and _CUE.search(data):
            return "text/vtt" if data.lstrip(b"\xef\xbb\xbf").startswith(b"WEBVTT") else "application/x-subrip"
    raise MediaError(
        "the upload is not audio, video, a still image (MP4, MOV, WebM, WAV, MP3, AAC, Ogg, FLAC, JPEG, PNG, "
        "GIF, WebP) or SRT/VTT subtitles, so no job could use it"
    )
