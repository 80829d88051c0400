"""API keys for admins: list, create, revoke, rotate (the same as `tubeflow key ...`).

A key's secret is shown once, in the answer that creates it; lists show only its name, role,
prefix and dates.  Revoking moves the auth epoch, so every API process refuses the key (and ends
its dashboard sessions) within a second.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.answers import KeyCreated, KeyOut, KeyRotated, errors_doc
from api.auth import AdminKey
from api.context import Ctx
from api.schemas import KeyId, KeyIn
from tubeflow.db import repo
from tubeflow.db.records import ApiKey

router = APIRouter(prefix="/api/keys", tags=["keys"])


def key_view(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "name": k.name,
        "role": k.role,
        "prefix": k.prefix,
        "created_at": k.created_at.isoformat(),
        "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        "revoked": k.revoked,
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
    }


@router.get("", response_model=list[KeyOut])
async def list_keys(ctx: Ctx, _: AdminKey) -> list[dict[str, Any]]:
    return [key_view(k) for k in await repo.list_api_keys(ctx.db)]


@router.post("", status_code=201, response_model=KeyCreated)
async def create_key(body: KeyIn, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    """The new key's secret is in ``key``: store it now, it cannot be shown again."""
    plaintext, row = await repo.create_api_key(ctx.db, body.name, body.role)
    return {**key_view(row), "key": plaintext}


@router.post("/{key_id}/revoke", response_model=KeyOut, responses=errors_doc(404))
async def revoke_key(key_id: KeyId, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    row = await repo.revoke_api_key(ctx.db, key_id)  # an unknown id is a NotFoundError (404)
    ctx.auth.clear()
    return key_view(row)


@router.post("/{key_id}/rotate", status_code=201, response_model=KeyRotated, responses=errors_doc(400, 404))
async def rotate_key(key_id: KeyId, ctx: Ctx, _: AdminKey) -> dict[str, Any]:
    """A new key with the same name and role; the old one is revoked at once."""
    plaintext, row = await repo.rotate_api_key(ctx.db, key_id)
    ctx.auth.clear()
    return {**key_view(row), "key": plaintext, "replaces": key_id}
