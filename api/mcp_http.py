"""`tubeflow mcp --http`: the MCP tools over streamable HTTP, behind the API's keys and roles.

Every request must carry an API key (``Authorization: Bearer <key>`` or ``X-API-Key``); the key's
name and role reach the tools through :data:`api.mcp_server.CALLER`, so a viewer key can read
status and checkpoints but not approve, exactly as in the REST API.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from api.mcp_server import CALLER, Backend, build_server, local_backend
from tubeflow.settings import Settings

Scope = dict[str, Any]


def _key(scope: Scope) -> str | None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return headers.get("x-api-key") or None


def http_app(settings: Settings, backend: Any = None) -> Any:
    """An ASGI app serving ``/mcp``; ``backend`` (an async context manager factory) defaults to this machine's."""
    from tubeflow.db import repo

    opener = backend or (lambda: local_backend(settings))
    shared: dict[str, Backend] = {}

    @asynccontextmanager
    async def keep() -> AsyncIterator[Backend]:
        yield shared["b"]

    server = build_server(keep)
    inner = server.streamable_http_app(host=settings.api_host)

    async def refuse(send: Any, status: int, message: str) -> None:
        body = json.dumps({"detail": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            async with opener() as b:
                shared["b"] = b
                await inner(scope, receive, send)
            return
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        key = _key(scope)
        found = await repo.verify_api_key(shared["b"].db, key) if key else None
        if found is None:
            await refuse(send, 401, "an API key is required: send 'Authorization: Bearer <key>'")
            return
        token = CALLER.set((found.name, found.role))
        try:
            await inner(scope, receive, send)
        finally:
            CALLER.reset(token)

    return app
