"""`tubeflow mcp` over stdio, driven by the MCP SDK's own client: a production from topic to
published through the MCP tools alone, against the real dev server and workers."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from temporalio.testing import WorkflowEnvironment

from tests.conftest import tiny_settings
from tests.test_cross_post_waits import Rig, rig  # noqa: F401 (the stub platforms' workflow rig)
from tests.workflow_helpers import running_stack
from tubeflow.db import repo
from tubeflow.settings import REPO_ROOT


def result(res: Any) -> Any:
    """A tool's answer: its structured content when given, else the JSON text."""
    if getattr(res, "is_error", False) or getattr(res, "isError", False):
        raise AssertionError(f"tool error: {res.content[0].text if res.content else res}")
    structured = getattr(res, "structured_content", None) or getattr(res, "structuredContent", None)
    if structured is not None:
        return structured.get("result", structured) if isinstance(structured, dict) else structured
    text = res.content[0].text if res.content else "null"
    return json.loads(text)


async def call(session: ClientSession, tool: str, **args: Any) -> Any:
    return result(await session.call_tool(tool, args))


async def until(session: ClientSession, pid: str, pred: Any, timeout_s: float, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    st: dict[str, Any] = {}
    while time.monotonic() < deadline:
        st = await call(session, "status", production_id=pid)
        if pred(st):
            return st
        assert st["state"] not in ("failed", "cancelled"), st
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {st}")


async def test_an_agent_takes_a_production_from_topic_to_published_through_mcp(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    env = {
        **os.environ,
        "TUBEFLOW_HOME": str(settings.home),
        "TUBEFLOW_TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TUBEFLOW_TEMPORAL_NAMESPACE": client.namespace,
        "TUBEFLOW_MAIN_QUEUE": settings.main_queue,
        "TUBEFLOW_GPU_QUEUE": settings.gpu_queue,
        "TUBEFLOW_DATABASE_URL": settings.resolved_database_url(),
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "cli", "mcp"], env=env, cwd=str(REPO_ROOT))
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "agentic", "science")
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            assert {"list_channels", "suggest_topics", "start_production", "status", "list_waiting_reviews",
                    "show_checkpoint", "approve", "reject", "retry"} <= tools  # fmt: skip

            assert {"name": "agentic", "niche": "science"} in await call(session, "list_channels")
            topics = await call(session, "suggest_topics", channel="agentic", count=3)
            assert topics
            started = await call(session, "start_production", channel="agentic", topic=topics[0], make_shorts=False)
            pid = started["id"]

            st = await until(session, pid, lambda s: s["checkpoint"] == "script", 240, "script checkpoint")
            held = await call(session, "show_checkpoint", production_id=pid)
            assert held["checkpoint"] == "script" and held["script"]["sections"]
            waiting = await call(session, "list_waiting_reviews")
            assert [w["id"] for w in waiting] == [pid]
            # A rejection needs feedback; the refusal comes back as the tool's error.
            refused = await session.call_tool("reject", {"production_id": pid, "feedback": " "})
            assert getattr(refused, "is_error", None) or getattr(refused, "isError", None)
            await call(session, "reject", production_id=pid, feedback="Shorter, please")
            await until(session, pid, lambda s: s["checkpoint"] == "script" and s["attempts"]["script"] == 2, 240, "v2")
            await call(session, "approve", production_id=pid)

            for cp in ("audio", "broll", "final"):
                st = await until(session, pid, lambda s, cp=cp: s["checkpoint"] == cp, 400, f"{cp} checkpoint")
                held = await call(session, "show_checkpoint", production_id=pid)
                if cp == "audio":
                    assert held["audio"]["url"].startswith("http") and "/api/media/" in held["audio"]["url"]
                if cp == "broll":
                    assert held["preview"]["url"].endswith(".mp4")
                if cp == "final":
                    assert held["video"]["url"] and len(held["thumbnails"]) >= 2
                await call(session, "approve", production_id=pid)

            st = await until(session, pid, lambda s: s["state"] == "completed", 300, "published")
            assert st["published"] and st["video_id"] is not None
            assert (settings.resolved_outbox_dir() / st["published"] / "video.mp4").is_file()
        reviews = await repo.list_reviews(stack.db, pid)
        assert [(r.stage, r.approved) for r in reviews] == [
            ("script", False), ("script", True), ("audio", True), ("broll", True), ("final", True),
        ]  # fmt: skip
        assert all(r.reviewer == "mcp (mcp)" for r in reviews)


async def test_mcp_over_http_needs_a_key_and_obeys_its_role(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    from contextlib import asynccontextmanager

    import httpx
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.types import TextContent

    from api.auth import create_key
    from api.mcp_http import http_app
    from api.mcp_server import Backend
    from api.testing import serve

    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    async with running_stack(client, settings, gpu=False) as stack:
        await repo.create_channel(stack.db, "remote", "science")
        viewer = await create_key(stack.db, "vera", "viewer")
        editor = await create_key(stack.db, "eddie", "editor")

        @asynccontextmanager
        async def backend() -> Any:
            yield Backend(settings, client, stack.db, stack.storage)

        async with serve(http_app(settings, backend)) as base:
            async with httpx.AsyncClient() as http:
                r = await http.post(f"{base}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
                assert r.status_code == 401

            async def session_with(key: str) -> Any:
                return streamable_http_client(
                    f"{base}/mcp", http_client=create_mcp_http_client(headers={"Authorization": f"Bearer {key}"})
                )

            async with await session_with(viewer) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                assert {"name": "remote", "niche": "science"} in await call(session, "list_channels")
                refused = await session.call_tool("start_production", {"channel": "remote", "topic": "Why?"})
                assert getattr(refused, "is_error", None) or getattr(refused, "isError", None)
                assert isinstance(refused.content[0], TextContent)
                assert "needs an editor key" in refused.content[0].text
            async with await session_with(editor) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                started = await call(
                    session, "start_production", channel="remote", topic="How do rainbows form?", make_shorts=False
                )
                st = await until(session, started["id"], lambda s: s["checkpoint"] == "script", 240, "script")
                assert st["state"] == "waiting"
        assert [r.channel for r in await repo.list_productions(stack.db)] == ["remote"]


async def test_mcp_approves_with_platform_edits_shows_each_post_and_retries_one_platform(
    rig: Rig,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    """The Shorts' TikTok and Instagram through MCP: the real workflow on the dev server, the stub
    cross-posting activity of tests/test_cross_post_waits.py (TikTok refuses the first post), and
    the database the tools read each post from (its rows written here as the real activity would)."""
    from contextlib import asynccontextmanager

    from mcp import Client

    from api.mcp_server import Backend, build_server
    from service.client import review
    from tests.test_cross_post_waits import refused
    from tests.workflow_helpers import wait_checkpoint
    from tubeflow.contracts import (
        Checkpoint,
        ProductionInput,
        ProductionStatus,
        ReviewDecision,
        production_workflow_id,
    )
    from tubeflow.db import platform_repo
    from tubeflow.db.engine import open_database
    from tubeflow.storage import open_storage
    from workflows.production import ProductionWorkflow

    settings = tiny_settings(tmp_path)
    db = await open_database(settings)
    await repo.create_channel(db, "sky", "science")

    @asynccontextmanager
    async def backend() -> Any:
        yield Backend(settings, rig.client, db, open_storage(settings))

    rig.stubs.fail["tiktok"] = [refused()]
    pid = "mcpx" + os.urandom(4).hex()
    inp = ProductionInput(pid, "sky", "science", "Why is the sky blue?", make_shorts=True,
                          main_queue=rig.main_queue, gpu_queue=rig.gpu_queue)  # fmt: skip
    await rig.client.start_workflow(
        ProductionWorkflow.run, inp, id=production_workflow_id(pid), task_queue=rig.main_queue
    )
    try:
        for cp in (Checkpoint.SCRIPT, Checkpoint.AUDIO, Checkpoint.BROLL):
            await wait_checkpoint(rig.client, pid, cp, timeout_s=20)
            await review(rig.client, pid, ReviewDecision(cp, True, "ana"))
        await wait_checkpoint(rig.client, pid, Checkpoint.FINAL, timeout_s=20)
        async with Client(build_server(backend)) as mc:
            tools = {t.name: t for t in (await mc.list_tools()).tools}
            assert "platforms_off" in (tools["approve"].description or "")
            assert "platform" in tools["retry"].input_schema["properties"]
            held = result(await mc.call_tool("show_checkpoint", {"production_id": pid}))
            assert held["checkpoint"] == "final" and "publish_plan" in held and held["platform_posts"] == []
            refusal = await mc.call_tool(
                "approve", {"production_id": pid, "edits": {"platform_captions": {"tiktok": ""}}}
            )
            assert refusal.is_error and "1 to 2200 characters" in refusal.content[0].text  # type: ignore[union-attr]
            edits = {"platforms_off": ["instagram"], "platform_captions": {"tiktok": "Sky, in 30 s #sky"}}
            result(await mc.call_tool("approve", {"production_id": pid, "edits": edits}))
            said = await rig.until(pid, "tiktok", "needs attention")
            assert "refused the file" in said
            posts = rig.stubs.of(pid, "cross_post")
            assert {r.platform for r in posts} == {"tiktok"} and posts[0].caption == "Sky, in 30 s #sky"

            # What the real activity wrote for this production: the tools read it back.
            await platform_repo.reserve_post(db, "sky", pid, "tiktok", 0, after=None)
            await platform_repo.update_post(db, pid, "tiktok", 0, status="needs_attention", reason=said)
            await platform_repo.reserve_post(db, "sky", pid, "instagram", 0, after=None, status="skipped")
            st = result(await mc.call_tool("status", {"production_id": pid}))
            by = {(p["platform"], p["short"]): p for p in st["platform_posts"]}
            assert by[("tiktok", 1)]["state"] == "needs_attention" and "refused the file" in by[("tiktok", 1)]["reason"]
            assert by[("instagram", 1)]["state"] == "skipped" and by[("tiktok", 1)]["link"] == ""
            waiting = result(await mc.call_tool("list_platform_posts", {"channel": "sky", "state": "needs_attention"}))
            assert [(p["production_id"], p["platform"]) for p in waiting] == [(pid, "tiktok")]

            # Instagram was unticked and YouTube is no such platform: refused, with the reason.
            for platform, why in (("instagram", "nothing to retry"), ("youtube", "unknown platform 'youtube'")):
                no = await mc.call_tool("retry", {"production_id": pid, "platform": platform})
                assert no.is_error and why in no.content[0].text, no  # type: ignore[union-attr]
            again = result(await mc.call_tool("retry", {"production_id": pid, "platform": "tiktok"}))
            assert again["retrying"] and again["was"].startswith("needs attention")
            assert [p["state"] for p in again["platform_posts"]] == ["needs_attention"]
        handle = rig.client.get_workflow_handle(production_workflow_id(pid), result_type=ProductionStatus)
        done = await handle.result()
        assert done.state == "completed"
        assert [p for p in rig.stubs.posted if p[0] == pid] == [(pid, "tiktok", 0), (pid, "tiktok", 1)]
    finally:
        await db.close()
