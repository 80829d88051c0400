"""Upload slots: which key asked for which ``uploads/...`` key, and how much it stored.

Uploads are inputs for the video job API.  A slot is issued per caller so one key cannot fill or
use another's upload, and the quota (files and bytes per key over the last 24 hours) keeps one
key from filling the disk.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tubeflow.db.engine import Database
from tubeflow.db.models import UploadRow
from tubeflow.db.types import utcnow

QUOTA_WINDOW = timedelta(hours=24)


async def issue(db: Database, key: str, api_key_id: int) -> None:
    async with db.session() as s:
        s.add(UploadRow(key=key, api_key_id=api_key_id, created_at=utcnow(), size=0, content_type=""))


async def owner(db: Database, key: str) -> int | None:
    """The id of the API key the slot was issued to, or None for a key nobody issued."""
    async with db.session() as s:
        return (await s.execute(select(UploadRow.api_key_id).where(UploadRow.key == key))).scalar()


async def usage(db: Database, api_key_id: int, *, excluding: str = "") -> tuple[int, int]:
    """(slots issued, bytes stored) for this key within the quota window."""
    since = utcnow() - QUOTA_WINDOW
    stmt = select(func.count(), func.coalesce(func.sum(UploadRow.size), 0)).where(
        UploadRow.api_key_id == api_key_id, UploadRow.created_at >= since, UploadRow.key != excluding
    )
    async with db.session() as s:
        count, size = (await s.execute(stmt)).one()
    return int(count), int(size)


async def completed(db: Database, key: str, size: int, content_type: str) -> None:
    async with db.session() as s:
        row = await s.get(UploadRow, key)
        if row is not None:
            row.size, row.content_type, row.completed_at = size, content_type[:100], utcnow()
