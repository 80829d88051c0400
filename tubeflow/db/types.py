"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zones, so a naive ``DateTime`` there and an aware one on PostgreSQL would make
comparisons (``events_since``) and equality (idempotent review records) differ between the two.
Everything is stored as UTC and always read back as an aware UTC datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime | str) -> datetime:
    """Parse ISO-8601 (as written by ``workflow.now().isoformat()``) and normalise to aware UTC."""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        dt = to_utc(value)
        return dt.replace(tzinfo=None) if dialect.name == "sqlite" else dt

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return to_utc(value)
