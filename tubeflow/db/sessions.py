"""Dashboard sessions: an opaque token in the cookie, its hash here, mapped to an API key.

The cookie used to hold the API key itself for 30 days, so a stolen cookie was a stolen key and
signing out revoked nothing.  Now the browser holds a random token that means something only
while its row here is unexpired and unrevoked and its key is unrevoked; signing out revokes the
row, revoking the key ends all its sessions, and both move the auth epoch so every API process
drops its cached copy within a second.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update

from tubeflow.db.engine import Database
from tubeflow.db.models import ApiKeyRow, SessionRow
from tubeflow.db.records import ApiKey, Session
from tubeflow.db.repo import _api_key, bump_auth_epoch
from tubeflow.db.types import utcnow

TOKEN_PREFIX = "tfs_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "backslashreplace")).hexdigest()


def _session(row: SessionRow) -> Session:
    return Session(row.id, row.api_key_id, row.created_at, row.expires_at, row.revoked_at)


async def create_session(db: Database, api_key_id: int, ttl_s: float) -> tuple[str, Session]:
    """A new session for a (verified) key; the token is returned once and only its hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    async with db.session() as s:
        row = SessionRow(
            id=hash_token(token), api_key_id=api_key_id, created_at=now, expires_at=now + timedelta(seconds=ttl_s)
        )
        s.add(row)
        await s.flush()
        return token, _session(row)


async def session_key(db: Database, token: str) -> tuple[Session, ApiKey] | None:
    """The live session for ``token`` and its key, or None (unknown, expired, signed out, key revoked)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    stmt = (
        select(SessionRow, ApiKeyRow)
        .join(ApiKeyRow, ApiKeyRow.id == SessionRow.api_key_id)
        .where(SessionRow.id == hash_token(token))
    )
    async with db.session() as s:
        found = (await s.execute(stmt)).first()
    if found is None:
        return None
    session, key = found
    if session.revoked_at is not None or session.expires_at <= utcnow() or key.revoked:
        return None
    return _session(session), _api_key(key)


async def revoke_session(db: Database, token: str) -> bool:
    """Sign out: True when a live session was revoked."""
    async with db.session() as s:
        result = await s.execute(
            update(SessionRow)
            .where(SessionRow.id == hash_token(token), SessionRow.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        await bump_auth_epoch(db, s)
        return True


async def purge_sessions(db: Database, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete sessions that expired or were revoked more than ``older_than`` ago; returns how many."""
    cutoff = utcnow() - older_than
    async with db.session() as s:
        result = await s.execute(
            delete(SessionRow).where((SessionRow.expires_at < cutoff) | (SessionRow.revoked_at < cutoff))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
