"""tubeflow as an MCP server: agents review productions with the same operations people use.

Built on the official ``mcp`` Python SDK (``MCPServer``).  Every tool goes through
:mod:`service.client` (start, review, retry, status) and the database views the REST API uses, so
an agent gets the same checks and the same messages as the CLI and the dashboard.  ``tubeflow mcp``
serves it over stdio (a local agent, with the rights of whoever runs the command, like the CLI);
``tubeflow mcp --http`` serves streamable HTTP at ``/mcp`` where every request carries an API key
(``Authorization: Bearer``) and each tool checks the key's role (viewer reads, editor decides).
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from temporalio.client import Client

from tubeflow.contracts import CHECKPOINTS, Checkpoint, ReviewDecision, Role, redo_target_named
from tubeflow.db.engine import Database
from tubeflow.errors import PermanentError
from tubeflow.settings import Settings
from tubeflow.storage import Storage

ROLES = tuple(r.value for r in Role)
# Who is calling: set per HTTP request from its API key; stdio runs as the local operator.
CALLER: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "tubeflow_mcp_caller", default=("mcp", "editor")
)


@dataclass
class Backend:
    settings: Settings
    client: Client
    db: Database
    storage: Storage


class ToolError(SdkToolError):
    """A refusal the agent reads: the SDK passes its message on as the tool's error text."""


def _need(role: str) -> str:
    name, have = CALLER.get()
    if ROLES.index(have) < ROLES.index(role):
        raise ToolError(f"this needs an {role} key; {name!r} is a {have}")
    return name


def _summary(st: Any) -> dict[str, Any]:
    out = {
        "id": st.production_id,
        "channel": st.channel,
        "topic": st.topic,
        "title": st.title,
        "stage": st.stage,
        "state": st.state,
        "progress": st.progress,
        "checkpoint": st.checkpoint,
        "attempts": dict(st.attempts),
        "error": st.error,
        "detail": st.detail,
    }
    if st.state == "completed":
        out["published"] = st.outputs.published
        out["video_id"] = st.outputs.video_id
    if st.outputs.quality is not None:
        out["quality"] = _quality_summary(st.outputs.quality)
    return out


def _quality_summary(report: Any) -> dict[str, Any]:
    """Passed, and each failing figure with its moment (the ``quality_report`` tool has every figure)."""
    return {
        "passed": report.passed,
        "failures": [
            {"figure": f.name, "value": f.value, "threshold": f.threshold, "at_s": f.at_s, "message": f.message}
            for f in report.failures()
        ],
        "not_measured": [f.name for f in report.figures if f.passed is None],
    }


def _post_summary(post: Any) -> dict[str, Any]:
    """One Short on TikTok or Instagram: where it stands, its slot there, its link or why not."""
    d = post.to_dict()
    return {
        "production_id": d["production_id"],
        "platform": d["platform"],
        "short": d["idx"] + 1,
        "state": d["status"],  # reserved | posting | published | waiting | reconnect_needed | needs_attention | skipped
        "slot": d["publish_at"],  # its time on the platform's calendar (UTC); None: with the YouTube Short, at once
        "posted_at": d["posted_at"],
        "link": d["location"],  # "" for a post only its creator sees (a private channel's TikTok)
        "private": d["status"] == "published" and not d["location"],
        "reason": d["reason"],  # why it waits or needs attention, or why it was skipped
    }


async def platform_posts(db: Database, production_id: str = "", channel: str = "") -> list[dict[str, Any]]:
    from tubeflow.db import platform_repo

    rows = await platform_repo.list_posts(db, channel or None, production_id=production_id or None)
    return [_post_summary(p) for p in rows]


def build_server(open_backend: Any) -> MCPServer:
    """``open_backend``: an async context manager factory yielding a :class:`Backend`."""
    state: dict[str, Backend] = {}

    @asynccontextmanager
    async def lifespan(_server: MCPServer[Any]) -> AsyncIterator[None]:
        async with open_backend() as backend:
            state["b"] = backend
            yield None

    server: MCPServer[Any] = MCPServer(
        name="tubeflow",
        instructions=(
            "Drive tubeflow video productions: list channels, suggest topics, start a production, follow "
            "its status, see what a checkpoint holds, approve or reject with feedback, retry a failed stage. "
            "Shorts also go to the channel's TikTok and Instagram: each post's state is in status and "
            "list_platform_posts; retry with platform continues one platform alone."
        ),
        lifespan=lifespan,
    )

    def b() -> Backend:
        return state["b"]

    async def guarded(coro: Any) -> Any:
        try:
            return await coro
        except PermanentError as e:
            raise ToolError(str(e)) from e

    @server.tool()
    async def list_channels() -> list[dict[str, Any]]:
        """Channels with their niche."""
        from tubeflow.db import repo

        _need("viewer")
        return [{"name": c.name, "niche": c.niche} for c in await repo.list_channels(b().db)]

    @server.tool()
    async def suggest_topics(channel: str, count: int = 5) -> list[str]:
        """Next topics for a channel: its niche's knowledge minus what the channel already covered."""
        from knowledge.topics import suggest_topics as suggest
        from niches.config import load_niche
        from tubeflow.db import repo

        _need("viewer")
        ch = await guarded(repo.get_channel(b().db, channel))
        return await suggest(b().db, channel, load_niche(ch.niche, b().settings), max(1, min(count, 20)))

    @server.tool()
    async def start_production(
        channel: str, topic: str, force: bool = False, make_shorts: bool = True
    ) -> dict[str, Any]:
        """Start a production; returns its id. A topic the channel covered is refused unless force."""
        from service.client import start_production as start

        _need("editor")
        be = b()
        pid = await guarded(start(be.client, be.db, be.settings, channel, topic, force=force, make_shorts=make_shorts))
        return {"id": pid}

    @server.tool()
    async def status(production_id: str) -> dict[str, Any]:
        """Stage, state, progress, the open checkpoint, attempts, error, and where it was published;
        ``platform_posts``: each Short on TikTok and Instagram (state, slot, link, reason)."""
        from service.client import get_status

        _need("viewer")
        out = _summary(await guarded(get_status(b().client, production_id)))
        out["platform_posts"] = await platform_posts(b().db, production_id)
        return out

    @server.tool()
    async def list_platform_posts(channel: str, state: str = "") -> list[dict[str, Any]]:
        """A channel's Shorts on TikTok and Instagram, by calendar time: each post's production, state,
        slot, link and reason.  ``state`` keeps only those in it (e.g. needs_attention, waiting)."""
        from tubeflow.db import repo

        _need("viewer")
        await guarded(repo.get_channel(b().db, channel))
        return [p for p in await platform_posts(b().db, channel=channel) if not state or p["state"] == state]

    @server.tool()
    async def quality_report(production_id: str) -> dict[str, Any]:
        """The measured quality report of the video (loudness, true peak, pacing, black/frozen frames,
        b-roll relevance, captions) and of each Short: every figure, its threshold, and the moment
        to look at when it failed."""
        from api.views import quality_view
        from service.client import get_status

        _need("viewer")
        return quality_view(await guarded(get_status(b().client, production_id)))

    @server.tool()
    async def list_waiting_reviews() -> list[dict[str, Any]]:
        """Productions waiting at a checkpoint (and those that need attention after a failure)."""
        from tubeflow.db import repo

        _need("viewer")
        rows = await repo.list_productions(b().db, state="waiting", limit=200)
        rows += await repo.list_productions(b().db, state="needs_attention", limit=200)
        return [
            {
                "id": r.id,
                "channel": r.channel,
                "topic": r.topic,
                "state": r.state,
                "checkpoint": r.checkpoint,
                "stage": r.stage,
                "error": r.error,
            }  # fmt: skip
            for r in rows
        ]

    @server.tool()
    async def show_checkpoint(production_id: str) -> dict[str, Any]:
        """What the open checkpoint holds: the script text, the narration or preview URL, b-roll, final video.

        At final also ``publish_plan``: where and when approving publishes, and per platform
        (TikTok, Instagram) the account and the caption that will be posted, which ``approve``'s
        ``platform_captions`` replaces and ``platforms_off`` skips; and ``platform_posts`` once any exist."""
        from api.views import checkpoint_material
        from service.client import get_status

        _need("viewer")
        be = b()
        st = await guarded(get_status(be.client, production_id))
        if not st.checkpoint:
            raise ToolError(f"no checkpoint is open: the production is {st.state} at stage {str(st.stage)!r}")
        material = await checkpoint_material(be.storage, st) or {}
        out = {"checkpoint": st.checkpoint, "attempt": st.attempts.get(st.checkpoint, 1), **_absolute(material)}
        if st.checkpoint == Checkpoint.FINAL:
            from api.publish_plan import publish_plan
            from api.views import production_view

            view = await production_view(be.settings, be.storage, st, "workflow")
            try:
                out["publish_plan"] = await publish_plan(be.db, be.settings, be.storage, view)
            except PermanentError as e:  # the channel gone since: the checkpoint still shows
                out["publish_plan"] = {"error": str(e)}
        out["platform_posts"] = await platform_posts(be.db, production_id)
        return out

    @server.tool()
    async def approve(production_id: str, stage: str = "", edits: dict[str, Any] | None = None) -> dict[str, Any]:
        """Approve the open checkpoint (stage defaults to it).

        edits: final {"thumbnail": i, "title", "description", "tags"} (YouTube's limits are checked),
        and for the Shorts' other platforms {"platforms_off": ["tiktok"]} (not posted there for this
        production) and {"platform_captions": {"instagram": "..."}} (the caption posted instead of
        the one ``show_checkpoint``'s publish_plan shows; each platform's limit is checked) and
        {"platform_covers": {"tiktok": 2.5}} (the cover frame, seconds into each Short, 0 to 180);
        audio {"pronounce"}, script {"script"}, broll {"swap"}."""
        return await _decide(production_id, stage, True, "", edits, "")

    @server.tool()
    async def reject(
        production_id: str,
        feedback: str,
        stage: str = "",
        to: str = "",
        pronounce: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Reject the open checkpoint with feedback; at final, ``to`` redoes from script|broll|render|thumbnail."""
        edits = {"pronounce": pronounce} if pronounce else None
        return await _decide(production_id, stage, False, feedback, edits, to)

    @server.tool()
    async def retry(production_id: str, note: str = "", platform: str = "") -> dict[str, Any]:
        """Continue a production that needs attention from its failed stage (approved work is kept), or wake
        one blocked on the YouTube quota after it was reset, for one try now.

        platform ("tiktok" or "instagram"): continue only the Shorts' posting there, which waits
        alone (failed for good and fixed, a daily cap raised or reset, an account reconnected);
        the answer says what it waited on and its posts."""
        from service.client import retry as do_retry
        from service.client import retry_platform
        from tubeflow.platforms import platform_problem

        who = _need("editor")
        if platform:
            if (problem := platform_problem(platform)) is not None:
                raise ToolError(problem)
            was = await guarded(retry_platform(b().client, production_id, platform))
            posts = [p for p in await platform_posts(b().db, production_id) if p["platform"] == platform]
            return {"id": production_id, "platform": platform, "was": was, "retrying": True, "platform_posts": posts}
        return _summary(await guarded(do_retry(b().client, production_id, who, note)))

    async def _decide(
        production_id: str, stage: str, approved: bool, feedback: str, edits: dict[str, Any] | None, to: str
    ) -> dict[str, Any]:
        from service.client import get_status, review

        who = _need("editor")
        if not stage:
            st = await guarded(get_status(b().client, production_id))
            if not st.checkpoint:
                raise ToolError(f"no checkpoint is open: the production is {st.state} at stage {str(st.stage)!r}")
            stage = st.checkpoint
        if stage not in CHECKPOINTS:
            raise ToolError(f"stage must be one of {', '.join(CHECKPOINTS)}")
        decision = ReviewDecision(
            Checkpoint(stage), approved, f"{who} (mcp)", feedback, edits, redo_from=redo_target_named(to)
        )
        return _summary(await guarded(review(b().client, production_id, decision)))

    def _absolute(material: dict[str, Any]) -> dict[str, Any]:
        base = b().settings.resolved_public_base_url()

        def fix(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: (base + x if k == "url" and isinstance(x, str) and x.startswith("/") else fix(x))
                        for k, x in v.items()}  # fmt: skip
            if isinstance(v, list):
                return [fix(x) for x in v]
            return v

        out: dict[str, Any] = fix(material)
        return out

    return server


@asynccontextmanager
async def local_backend(settings: Settings) -> AsyncIterator[Backend]:
    """The stdio server's own connections: Temporal, the database and storage of this machine's settings."""
    from service.client import connect
    from tubeflow.db.engine import open_database
    from tubeflow.storage import open_storage

    client = await connect(settings)
    db = await open_database(settings)
    try:
        yield Backend(settings, client, db, open_storage(settings))
    finally:
        await db.close()


def summary_json(st: Any) -> dict[str, Any]:  # pragma: no cover - used by callers formatting results
    return asdict(st)
