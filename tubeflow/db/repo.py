"""Typed async functions over the tables; every caller passes the :class:`~tubeflow.db.engine.Database`.

Each function is one short transaction and returns detached records (:mod:`tubeflow.db.records`),
never ORM rows.  Functions called from activities (``apply_snapshot``, ``record_review``,
``add_asset``) are idempotent because Temporal may run an activity more than once.
Missing things raise :class:`NotFoundError` and conflicts :class:`AlreadyExistsError` (both
permanent), so the API can map them to 404 and 409 without parsing messages.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tubeflow.contracts import STAGES, ReviewLog, Role, StateSnapshot, production_workflow_id
from tubeflow.contracts import TERMINAL_STATES as _TERMINAL_STATES
from tubeflow.db.engine import Database
from tubeflow.db.models import ApiKeyRow, AssetRow, AuthEpochRow, ChannelRow, EventRow, ProductionRow, ReviewRow
from tubeflow.db.records import ApiKey, Asset, Channel, Event, Production, Review
from tubeflow.db.types import to_utc, utcnow
from tubeflow.errors import PermanentError
from tubeflow.events import EventKind
from tubeflow.names import check_channel_name, check_text

# Defined once in the contracts; plain strings here because they are bound into SQL and messages.
ROLES: tuple[str, ...] = tuple(r.value for r in Role)  # each includes the ones before it
TERMINAL_STATES: frozenset[str] = frozenset(s.value for s in _TERMINAL_STATES)
KEY_PREFIX = "tfk_"
KEY_PREFIX_SHOWN = 12  # "tfk_" and 8 of the 43 random characters
# Touching last_used_at on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
MAX_PAGE = 1000

_Ts = TypeVarTuple("_Ts")  # the column types of a Select a filter keeps


class NotFoundError(PermanentError):
    """A channel, production or key that does not exist."""


class AlreadyExistsError(PermanentError):
    """A name that is already taken."""


# ---------------------------------------------------------------- conversions


def _channel(row: ChannelRow) -> Channel:
    return Channel(row.id, row.name, row.niche, row.created_at, dict(row.settings or {}))


def _production(row: ProductionRow, channel: str) -> Production:
    return Production(
        id=row.id,
        channel=channel,
        channel_id=row.channel_id,
        topic=row.topic,
        niche=row.niche,
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        stage=row.stage,
        state=row.state,
        progress=float(row.progress),
        checkpoint=row.checkpoint,
        detail=row.detail,
        title=row.title,
        error=row.error,
        artifacts=dict(row.artifacts or {}),
        outputs=dict(row.outputs or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        cost_usd=float(row.cost_usd),
    )


def _review(row: ReviewRow) -> Review:
    return Review(
        row.id, row.production_id, row.stage, row.approved, row.reviewer, row.feedback, row.attempt, row.at, row.note
    )


def _asset(row: AssetRow) -> Asset:
    return Asset(row.id, row.production_id, row.kind, row.key, row.created_at, dict(row.meta or {}))


def _api_key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        row.id, row.name, row.role, row.created_at, row.last_used_at, row.revoked, row.prefix or "", row.revoked_at
    )


def _event(row: EventRow) -> Event:
    return Event(row.id, row.production_id, row.kind, dict(row.payload or {}), row.at)


def _insert(db: Database, table: Any) -> Any:
    """INSERT with ON CONFLICT support for whichever dialect ``db`` speaks."""
    return (pg_insert if db.dialect == "postgresql" else sqlite_insert)(table)


def _clean_name(value: str, what: str, max_len: int = 100) -> str:
    value = (value or "").strip()
    if not value:
        raise PermanentError(f"a {what} cannot be empty")
    if len(value) > max_len:
        raise PermanentError(f"a {what} has at most {max_len} characters, got {len(value)}")
    return value


# ---------------------------------------------------------------- channels


async def create_channel(db: Database, name: str, niche: str, settings: dict[str, Any] | None = None) -> Channel:
    name = check_channel_name(_clean_name(name, "channel name"))
    niche = check_text(_clean_name(niche, "niche", 64), "niche", single_line=True)
    try:
        async with db.session() as s:
            row = ChannelRow(name=name, niche=niche, settings=settings or {}, created_at=utcnow())
            s.add(row)
            await s.flush()
            return _channel(row)
    except IntegrityError as e:
        raise AlreadyExistsError(f"channel {name!r} already exists; see `tubeflow channel list`") from e


async def _channel_row(s: AsyncSession, name: str) -> ChannelRow | None:
    return (await s.execute(select(ChannelRow).where(ChannelRow.name == name))).scalar_one_or_none()


async def get_channel(db: Database, name: str) -> Channel:
    async with db.session() as s:
        row = await _channel_row(s, name)
        if row is None:
            raise NotFoundError(f"unknown channel {name!r}; create it with `tubeflow channel add {name} --niche NICHE`")
        return _channel(row)


async def list_channels(db: Database) -> list[Channel]:
    async with db.session() as s:
        rows = (await s.execute(select(ChannelRow).order_by(ChannelRow.name))).scalars().all()
        return [_channel(r) for r in rows]


# ---------------------------------------------------------------- productions


def _with_channel() -> Select[ProductionRow, str]:
    return select(ProductionRow, ChannelRow.name).join(ChannelRow, ProductionRow.channel_id == ChannelRow.id)


async def create_production(
    db: Database, channel: str, topic: str, workflow_id: str = "", *, production_id: str | None = None
) -> Production:
    """Record a production before its workflow starts, so it is listed even if the start fails."""
    topic = _clean_name(topic, "topic", 500)
    pid = production_id or secrets.token_hex(6)
    now = utcnow()
    async with db.session() as s:
        ch = await _channel_row(s, channel)
        if ch is None:
            raise NotFoundError(
                f"unknown channel {channel!r}; create it with `tubeflow channel add {channel} --niche NICHE`"
            )
        if await s.get(ProductionRow, pid) is not None:
            raise AlreadyExistsError(f"production {pid!r} already exists")
        row = ProductionRow(
            id=pid,
            channel_id=ch.id,
            topic=topic,
            niche=ch.niche,
            workflow_id=workflow_id or production_workflow_id(pid),
            run_id="",
            stage="queued",
            state="running",
            progress=0.0,
            detail="",
            title="",
            artifacts={},
            outputs={},
            created_at=now,
            updated_at=now,
            cost_usd=0.0,
        )
        s.add(row)
        s.add(EventRow(production_id=pid, kind=EventKind.CREATED, payload={"channel": ch.name, "topic": topic}, at=now))
        await s.flush()
        return _production(row, ch.name)


async def get_production(db: Database, production_id: str) -> Production:
    async with db.session() as s:
        found = (await s.execute(_with_channel().where(ProductionRow.id == production_id))).one_or_none()
        if found is None:
            raise NotFoundError(f"unknown production {production_id!r}; `tubeflow status` lists them")
        return _production(found[0], found[1])


def _filtered(stmt: Select[*_Ts], channel: str | None, state: str | None, stage: str | None) -> Select[*_Ts]:
    if channel is not None:
        stmt = stmt.where(ChannelRow.name == channel)
    if state is not None:
        stmt = stmt.where(ProductionRow.state == state)
    if stage is not None:
        stmt = stmt.where(ProductionRow.stage == stage)
    return stmt


async def list_productions(
    db: Database,
    channel: str | None = None,
    state: str | None = None,
    stage: str | None = None,
    limit: int = 50,
    offset: int = 0,
    oldest_first: bool = False,
) -> list[Production]:
    """Newest first (``oldest_first``: the longest-waiting first, as the review queue takes them).
    Filters match exactly; an unknown channel simply matches nothing."""
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise PermanentError(f"limit must be 1..{MAX_PAGE} and offset >= 0, got limit={limit} offset={offset}")
    stmt = _filtered(_with_channel(), channel, state, stage)
    order = (ProductionRow.created_at, ProductionRow.id)
    stmt = stmt.order_by(*(c.asc() if oldest_first else c.desc() for c in order)).limit(limit).offset(offset)
    async with db.session() as s:
        return [_production(row, name) for row, name in (await s.execute(stmt)).all()]


async def count_productions(
    db: Database, channel: str | None = None, state: str | None = None, stage: str | None = None
) -> int:
    stmt = select(func.count()).select_from(ProductionRow).join(ChannelRow, ProductionRow.channel_id == ChannelRow.id)
    async with db.session() as s:
        return int((await s.execute(_filtered(stmt, channel, state, stage))).scalar_one())


def _stage_index(stage: str) -> int:
    return STAGES.index(stage) if stage in STAGES else -1


def _is_stale(row: ProductionRow, at: datetime, stage: str) -> bool:
    """True for a snapshot older than the one already applied (a retried or delayed activity)."""
    if row.snapshot_at is None:
        return False
    if at != row.snapshot_at:
        return at < row.snapshot_at
    # Two snapshots from one workflow task share a timestamp; the later stage wins.
    return _stage_index(stage) < _stage_index(row.stage)


async def apply_snapshot(db: Database, snap: StateSnapshot) -> bool:
    """Upsert a production from workflow state; False when the snapshot was stale and ignored.

    A production the database has not seen (started by another client) is inserted, with its
    channel if that is missing too: the workflow is already running, so refusing would only lose
    the record.  A change of stage or state appends a ``stage`` event for the live feed.
    """
    for attempt in range(2):
        try:
            return await _apply_snapshot_once(db, snap)
        except IntegrityError:
            if attempt:  # a concurrent first insert won the race; the retry updates that row
                raise
    return False  # pragma: no cover (loop always returns or raises)


async def _apply_snapshot_once(db: Database, snap: StateSnapshot) -> bool:
    st = snap.status
    at = to_utc(st.updated_at) if st.updated_at else utcnow()
    async with db.session() as s:
        row = await s.get(ProductionRow, st.production_id, with_for_update=True)
        if row is None:
            ch = await _channel_row(s, st.channel)
            if ch is None:
                ch = ChannelRow(name=st.channel, niche=st.niche, settings={}, created_at=at)
                s.add(ch)
                await s.flush()
            row = ProductionRow(
                id=st.production_id, channel_id=ch.id, topic=st.topic, niche=st.niche, created_at=at, cost_usd=0.0
            )
            s.add(row)
            before: tuple[str | None, str | None] = (None, None)
        else:
            if _is_stale(row, at, st.stage):
                return False
            before = (row.stage, row.state)
        row.workflow_id = snap.workflow_id
        row.run_id = snap.run_id
        row.stage = st.stage
        row.state = st.state
        row.progress = float(st.progress)
        row.checkpoint = st.checkpoint
        row.detail = st.detail
        row.title = st.title
        row.error = st.error
        row.artifacts = st.artifacts.to_dict()
        row.outputs = st.outputs.to_dict()
        # What the production cost so far, as its workflow counted it: GPU time, LLM tokens and paid
        # voice characters (before, nothing wrote this column, so the digest and analytics said $0).
        row.cost_usd = max(float(row.cost_usd or 0.0), st.outputs.spent_usd())
        row.updated_at = at
        row.snapshot_at = at
        if st.state in TERMINAL_STATES:
            row.finished_at = row.finished_at or at
        if (st.stage, st.state) != before:
            payload = {
                "stage": st.stage,
                "state": st.state,
                "previous_stage": before[0],
                "previous_state": before[1],
                "checkpoint": st.checkpoint,
                "progress": float(st.progress),
                "title": st.title,
                "error": st.error,
                "workflow_at": at.isoformat(),
            }
            s.add(EventRow(production_id=st.production_id, kind=EventKind.STAGE, payload=payload, at=utcnow()))
        return True


async def add_cost(db: Database, production_id: str, usd: float) -> float:
    """Add spend (API calls, cloud GPU time) to a production; returns the new total."""
    async with db.session() as s:
        await s.execute(
            update(ProductionRow).where(ProductionRow.id == production_id).values(cost_usd=ProductionRow.cost_usd + usd)
        )
        total = (await s.execute(select(ProductionRow.cost_usd).where(ProductionRow.id == production_id))).scalar()
        if total is None:
            raise NotFoundError(f"unknown production {production_id!r}")
        return float(total)


# ---------------------------------------------------------------- reviews and assets


async def record_review(db: Database, log: ReviewLog) -> bool:
    """Store one checkpoint decision; True if new, False if this exact record was already stored."""
    rec = log.record
    at = to_utc(rec.at)
    stmt = (
        _insert(db, ReviewRow)
        .values(
            production_id=log.production_id,
            stage=rec.stage,
            approved=rec.approved,
            reviewer=rec.reviewer,
            feedback=rec.feedback,
            attempt=rec.attempt,
            at=at,
            note=rec.note,
        )
        .on_conflict_do_nothing(index_elements=["production_id", "stage", "attempt", "at"])
        .returning(ReviewRow.id)
    )
    async with db.session() as s:
        if await s.get(ProductionRow, log.production_id) is None:
            raise NotFoundError(f"cannot record a review for unknown production {log.production_id!r}")
        new_id = (await s.execute(stmt)).scalar_one_or_none()
        if new_id is None:
            return False
        payload = {
            "review_id": new_id,
            "stage": rec.stage,
            "approved": rec.approved,
            "reviewer": rec.reviewer,
            "feedback": rec.feedback,
            "attempt": rec.attempt,
        }
        s.add(EventRow(production_id=log.production_id, kind=EventKind.REVIEW, payload=payload, at=utcnow()))
        return True


async def list_reviews(db: Database, production_id: str) -> list[Review]:
    """Every decision in the order it was made (empty for an unknown production)."""
    stmt = select(ReviewRow).where(ReviewRow.production_id == production_id).order_by(ReviewRow.at, ReviewRow.id)
    async with db.session() as s:
        return [_review(r) for r in (await s.execute(stmt)).scalars().all()]


async def add_asset(db: Database, production_id: str, kind: str, key: str, meta: dict[str, Any] | None = None) -> Asset:
    """Register a stored object; registering the same key again updates its kind and meta."""
    kind = _clean_name(kind, "asset kind", 64)
    key = _clean_name(key, "storage key", 1024)
    stmt = (
        _insert(db, AssetRow)
        .values(production_id=production_id, kind=kind, key=key, meta=meta or {}, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["production_id", "key"])
    )
    async with db.session() as s:
        if await s.get(ProductionRow, production_id) is None:
            raise NotFoundError(f"cannot add asset {key!r} to unknown production {production_id!r}")
        await s.execute(stmt)
        row = (
            await s.execute(select(AssetRow).where(AssetRow.production_id == production_id, AssetRow.key == key))
        ).scalar_one()
        row.kind, row.meta = kind, meta or {}
        await s.flush()
        return _asset(row)


async def list_assets(db: Database, production_id: str, kind: str | None = None) -> list[Asset]:
    stmt = select(AssetRow).where(AssetRow.production_id == production_id)
    if kind is not None:
        stmt = stmt.where(AssetRow.kind == kind)
    async with db.session() as s:
        return [_asset(r) for r in (await s.execute(stmt.order_by(AssetRow.id))).scalars().all()]


# ---------------------------------------------------------------- events


async def append_event(
    db: Database, kind: str, payload: dict[str, Any] | None = None, production_id: str | None = None
) -> Event:
    async with db.session() as s:
        row = EventRow(production_id=production_id, kind=kind, payload=payload or {}, at=utcnow())
        s.add(row)
        await s.flush()
        return _event(row)


async def events_since(
    db: Database, since: int | datetime | None = None, production_id: str | None = None, limit: int = 200
) -> list[Event]:
    """Events after an event id (a live feed's cursor) or after a time ("while you were away"), oldest first."""
    if not 1 <= limit <= MAX_PAGE:
        raise PermanentError(f"limit must be 1..{MAX_PAGE}, got {limit}")
    stmt = select(EventRow)
    if isinstance(since, datetime):
        stmt = stmt.where(EventRow.at > to_utc(since))
    elif since is not None:
        stmt = stmt.where(EventRow.id > int(since))
    if production_id is not None:
        stmt = stmt.where(EventRow.production_id == production_id)
    async with db.session() as s:
        return [_event(r) for r in (await s.execute(stmt.order_by(EventRow.id).limit(limit))).scalars().all()]


async def events_of(db: Database, production_id: str, kind: str) -> list[Event]:
    """A production's events of one kind, oldest first (whether something was already told)."""
    stmt = select(EventRow).where(EventRow.production_id == production_id, EventRow.kind == kind)
    async with db.session() as s:
        return [_event(r) for r in (await s.execute(stmt.order_by(EventRow.id))).scalars().all()]


# ---------------------------------------------------------------- API keys


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def role_allows(role: str, needed: str) -> bool:
    """True when ``role`` is ``needed`` or above it (admin > editor > viewer)."""
    return role in ROLES and needed in ROLES and ROLES.index(role) >= ROLES.index(needed)


async def create_api_key(db: Database, name: str, role: str) -> tuple[str, ApiKey]:
    """A new key; the plaintext is returned once and only its SHA-256 hash is stored."""
    name = _clean_name(name, "key name", 200)
    if role not in ROLES:
        raise PermanentError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    async with db.session() as s:
        return await _new_key(s, name, role)


def key_prefix(plaintext: str) -> str:
    """What `tubeflow key list` shows of a key (and what sign-in throttling groups guesses by)."""
    return plaintext[:KEY_PREFIX_SHOWN]


async def _new_key(s: AsyncSession, name: str, role: str) -> tuple[str, ApiKey]:
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKeyRow(
        name=name,
        role=role,
        key_hash=hash_api_key(plaintext),
        created_at=utcnow(),
        revoked=False,
        prefix=key_prefix(plaintext),
    )
    s.add(row)
    await s.flush()
    return plaintext, _api_key(row)


async def verify_api_key(db: Database, plaintext: str) -> ApiKey | None:
    """The key's record if it exists and is not revoked, else None."""
    if not plaintext:
        return None
    async with db.session() as s:
        row = (
            await s.execute(select(ApiKeyRow).where(ApiKeyRow.key_hash == hash_api_key(plaintext)))
        ).scalar_one_or_none()
        if row is None or row.revoked:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = now
            await s.flush()
        return _api_key(row)


async def list_api_keys(db: Database) -> list[ApiKey]:
    async with db.session() as s:
        return [_api_key(r) for r in (await s.execute(select(ApiKeyRow).order_by(ApiKeyRow.id))).scalars().all()]


async def revoke_api_key(db: Database, key_id: int) -> ApiKey:
    """Revoke a key (and so every dashboard session signed in with it); revoking twice is a no-op."""
    async with db.session() as s:
        row = await s.get(ApiKeyRow, key_id)
        if row is None:
            raise NotFoundError(f"unknown API key id {key_id}; `tubeflow key list` shows them")
        if not row.revoked:
            row.revoked, row.revoked_at = True, utcnow()
            await bump_auth_epoch(db, s)
        await s.flush()
        return _api_key(row)


async def rotate_api_key(db: Database, key_id: int) -> tuple[str, ApiKey]:
    """A new key with the old one's name and role, the old one revoked, in one transaction."""
    async with db.session() as s:
        row = await s.get(ApiKeyRow, key_id)
        if row is None:
            raise NotFoundError(f"unknown API key id {key_id}; `tubeflow key list` shows them")
        if row.revoked:
            raise PermanentError(f"API key {key_id} ({row.name}) is revoked; create a new one instead")
        row.revoked, row.revoked_at = True, utcnow()
        await bump_auth_epoch(db, s)
        return await _new_key(s, row.name, row.role)


async def bump_auth_epoch(db: Database, s: AsyncSession) -> None:
    """Move the revocation counter every API process watches (see AuthEpochRow), inside ``s``."""
    await s.execute(_insert(db, AuthEpochRow).values(id=1, epoch=0).on_conflict_do_nothing())
    await s.execute(update(AuthEpochRow).where(AuthEpochRow.id == 1).values(epoch=AuthEpochRow.epoch + 1))


async def auth_epoch(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(select(AuthEpochRow.epoch).where(AuthEpochRow.id == 1))).scalar() or 0)
