"""Serving the app on a real socket from inside a test or the bench.

httpx's ASGITransport buffers whole responses, which is fine for JSON but cannot show a
Server-Sent Events stream arriving over time, and a browser needs a real port anyway.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serve(app: FastAPI, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Run ``app`` with uvicorn in this event loop; yields its base URL."""
    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):
            if server.started:
                break
            if task.done():
                task.result()  # surfaces the start-up error
            await asyncio.sleep(0.02)
        else:
            raise TimeoutError(f"uvicorn did not start on {host}:{port}")
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        # Open SSE streams can hold a graceful shutdown; after a moment, stop waiting for them.
        done, _ = await asyncio.wait({task}, timeout=3)
        if not done:
            server.force_exit = True
            await asyncio.wait_for(task, 10)
