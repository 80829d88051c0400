"""What the CLI and the API do to productions, in one place.

Both front ends start, review, inspect and cancel productions through these functions so they
cannot drift apart: the same checks (unknown channel, topic already covered, checkpoint not
open) give the same messages everywhere.
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import Priority, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from tubeflow.contracts import (
    PRODUCTION_WORKFLOW,
    QUERY_STATUS,
    SA_CHANNEL,
    SA_NICHE,
    SA_STAGE,
    SIGNAL_CANCEL,
    UPDATE_RETRY,
    UPDATE_REVIEW,
    UPDATE_REVISE,
    ProductionStatus,
    RetryRequest,
    ReviewDecision,
    production_workflow_id,
)
from tubeflow.db.engine import Database
from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings


class CheckpointNotOpen(PermanentError):
    """A review for a checkpoint the production is not waiting at (HTTP 409 in the API)."""


class NothingToRetry(PermanentError):
    """A retry for a production that is not waiting in needs_attention (HTTP 409 in the API)."""


class TemporalUnavailable(TransientError, RuntimeError):
    """Temporal cannot be reached (down, wrong address, TLS or API key refused); a RuntimeError as
    the SDK's own connect error is, so callers written against the SDK still catch it."""


class UnknownProduction(PermanentError):
    pass


class TopicAlreadyCovered(PermanentError):
    """The channel already published this topic; pass force to produce it anyway."""


async def connect(settings: Settings, *, runtime: Any = None) -> Client:
    """The one way every process (CLI, API, workers, autoscaler) reaches Temporal.

    TLS (server CA, mTLS client cert/key, server name) and the API key come from the
    ``TUBEFLOW_TEMPORAL_*`` settings; when tracing is on, Temporal's TracingInterceptor rides on the
    client, so workers built from it trace workflows and activities into the caller's trace.
    """
    from temporalio.client import Interceptor
    from temporalio.service import TLSConfig

    from tubeflow import tracing
    from tubeflow.worker_config import load_pem

    s = settings
    if bool(s.temporal_tls_cert) != bool(s.temporal_tls_key):
        raise ConfigError("TUBEFLOW_TEMPORAL_TLS_CERT and TUBEFLOW_TEMPORAL_TLS_KEY go together (mTLS)")
    tls: TLSConfig | bool = False
    if s.temporal_tls_enabled():
        tls = TLSConfig(
            server_root_ca_cert=load_pem(s.temporal_tls_ca) if s.temporal_tls_ca else None,
            client_cert=load_pem(s.temporal_tls_cert) if s.temporal_tls_cert else None,
            client_private_key=load_pem(s.temporal_tls_key) if s.temporal_tls_key else None,
            domain=s.temporal_tls_server_name or None,
        )
    interceptors: list[Interceptor] = []
    tp = tracing.provider()
    if tp is not None:
        from temporalio.contrib.opentelemetry import TracingInterceptor

        interceptors.append(TracingInterceptor(tp.get_tracer("tubeflow.temporal")))
    try:
        return await Client.connect(
            s.temporal_address,
            namespace=s.temporal_namespace,
            tls=tls,
            api_key=s.temporal_api_key or None,
            interceptors=interceptors,
            runtime=runtime,
        )
    except RuntimeError as e:
        # Never echo the settings: the message may otherwise be logged next to a key.
        raise TemporalUnavailable(f"cannot connect to Temporal at {s.temporal_address}: {e}") from e


def new_production_id() -> str:
    return uuid.uuid4().hex[:12]


async def start_production(
    client: Client,
    db: Database,
    settings: Settings,
    channel: str,
    topic: str,
    *,
    force: bool = False,
    make_shorts: bool | None = None,
) -> str:
    """Validate, record and start a production; returns its id."""
    from niches.config import load_niche
    from tubeflow.db import repo

    topic = topic.strip()
    if not topic:
        raise PermanentError("a production needs a topic")
    from niches.channel_profile import effective_niche, production_input
    from service.languages import require_language_support
    from tubeflow.channel_settings import parse_settings

    ch = await repo.get_channel(db, channel)
    niche = load_niche(ch.niche, settings)
    cs = parse_settings(ch.settings)

    require_language_support(settings, effective_niche(niche, cs))  # never English audio for a Portuguese channel
    if not force:
        covered = await _covered(db, channel, topic)
        if covered:
            raise TopicAlreadyCovered(
                f"channel {channel!r} already covered {covered!r}; choose another topic "
                "(see `tubeflow topics`) or force it (--force)"
            )
    pid = new_production_id()
    wf_id = production_workflow_id(pid)
    await repo.create_production(db, channel, topic, wf_id, production_id=pid)
    inp = production_input(settings, pid, channel, niche, cs, topic, make_shorts)
    await client.start_workflow(
        PRODUCTION_WORKFLOW,
        inp,
        id=wf_id,
        task_queue=settings.main_queue,
        # Activities inherit it: a contended GPU queue serves the lower key (higher-priority channel) first.
        priority=Priority(priority_key=cs.priority),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributeKey.for_keyword(SA_CHANNEL), channel),
                SearchAttributePair(SearchAttributeKey.for_keyword(SA_NICHE), niche.name),
                SearchAttributePair(SearchAttributeKey.for_keyword(SA_STAGE), "queued"),
            ]
        ),
    )
    return pid


async def _covered(db: Database, channel: str, topic: str) -> str | None:
    """The earlier topic this one repeats, if the knowledge system knows of one."""
    from knowledge.coverage import check_coverage

    hit = await check_coverage(db, channel, topic)
    if hit is None:
        return None
    return getattr(hit, "topic", str(hit))


async def review(client: Client, production_id: str, decision: ReviewDecision) -> ProductionStatus:
    """Apply a reviewer's decision through the workflow's update, which refuses closed checkpoints."""
    handle = client.get_workflow_handle(production_workflow_id(production_id))
    try:
        reviewed: ProductionStatus = await handle.execute_update(UPDATE_REVIEW, decision, result_type=ProductionStatus)
        return reviewed
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        message = getattr(cause, "message", None) or str(cause or e)
        raise CheckpointNotOpen(message) from e
    except RPCError as e:
        raise _rpc_problem(production_id, e) from e


async def revise(client: Client, production_id: str, decision: ReviewDecision) -> ProductionStatus:
    """Save b-roll edits at the open checkpoint: applied and previewed again, the checkpoint kept open.

    Answers once the edits are applied (the preview is still rendering); refused (CheckpointNotOpen,
    with why) when the checkpoint is not open or the plan cannot take them."""
    handle = client.get_workflow_handle(production_workflow_id(production_id))
    try:
        revised: ProductionStatus = await handle.execute_update(UPDATE_REVISE, decision, result_type=ProductionStatus)
        return revised
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        message = getattr(cause, "message", None) or str(cause or e)
        raise CheckpointNotOpen(message) from e
    except RPCError as e:
        raise _rpc_problem(production_id, e) from e


async def retry(client: Client, production_id: str, operator: str = "anonymous", note: str = "") -> ProductionStatus:
    """Continue a production that needs attention (its failed stage runs again, nothing before it), or
    wake one blocked on the YouTube quota for one try now (blocked again on its timer if still spent)."""
    handle = client.get_workflow_handle(production_workflow_id(production_id))
    try:
        retried: ProductionStatus = await handle.execute_update(
            UPDATE_RETRY, RetryRequest(operator=operator, note=note), result_type=ProductionStatus
        )
        return retried
    except WorkflowUpdateFailedError as e:
        cause = e.cause
        raise NothingToRetry(getattr(cause, "message", None) or str(cause or e)) from e
    except RPCError as e:
        if _finished(e):
            raise NothingToRetry(f"production {production_id!r} has finished; nothing to retry") from e
        raise _rpc_problem(production_id, e) from e


async def get_status(client: Client, production_id: str) -> ProductionStatus:
    handle = client.get_workflow_handle(production_workflow_id(production_id))
    try:
        status: ProductionStatus = await handle.query(QUERY_STATUS, result_type=ProductionStatus)
        return status
    except RPCError as e:
        raise _rpc_problem(production_id, e) from e


async def cancel(client: Client, production_id: str, reason: str = "cancelled by a reviewer") -> None:
    handle = client.get_workflow_handle(production_workflow_id(production_id))
    try:
        await handle.signal(SIGNAL_CANCEL, reason)
    except RPCError as e:
        raise _rpc_problem(production_id, e) from e


def _finished(e: RPCError) -> bool:
    """The workflow has closed, or closed while the request was in flight (the server then aborts
    an update with NOT_FOUND, "aborted by closing workflow"): finished, not unknown."""
    text = str(e).lower()
    return e.status == RPCStatusCode.FAILED_PRECONDITION or "completed" in text or "closing workflow" in text


def _rpc_problem(production_id: str, e: RPCError) -> Exception:
    if _finished(e):
        return CheckpointNotOpen(f"production {production_id!r} has finished; no checkpoint is open")
    if e.status == RPCStatusCode.NOT_FOUND:
        return UnknownProduction(f"unknown production {production_id!r}")
    return e


async def signal_reconnected(client: Client, production_id: str) -> None:
    """Tell a production blocked on its channel's YouTube authorization that it works again."""
    from tubeflow.contracts import SIGNAL_RECONNECTED

    handle = client.get_workflow_handle(production_workflow_id(production_id))
    try:
        await handle.signal(SIGNAL_RECONNECTED)
    except RPCError as e:
        raise _rpc_problem(production_id, e) from e


async def retry_platform(client: Client, production_id: str, platform: str) -> str:
    """Wake one platform's posting of the production's Shorts that waits (failed for good and fixed,
    a cap raised, an account reconnected): it tries once now.  Returns what it was waiting on."""
    from tubeflow.contracts import SIGNAL_PLATFORM_RETRY, shorts_workflow_id

    handle = client.get_workflow_handle(shorts_workflow_id(production_id))
    try:
        status = await handle.query("status")
    except RPCError as e:
        if _finished(e) or e.status == RPCStatusCode.NOT_FOUND:
            raise NothingToRetry(f"production {production_id!r} is not posting Shorts now; nothing to retry") from e
        raise
    state = str((status.get("platforms") or {}).get(platform, "")) if isinstance(status, dict) else ""
    if not state.startswith(("needs attention", "blocked", "waiting")):
        raise NothingToRetry(
            f"production {production_id!r}: {platform} is not waiting ({state or 'not one of its platforms'}); "
            "nothing to retry"
        )
    await handle.signal(SIGNAL_PLATFORM_RETRY, platform)
    return state


async def signal_platform_reconnected(client: Client, production_id: str, platform: str) -> bool:
    """Tell a production's Shorts that the channel's account on ``platform`` works again; False when
    it is not posting Shorts (nothing waits)."""
    from tubeflow.contracts import SIGNAL_PLATFORM_RECONNECTED, shorts_workflow_id

    try:
        handle = client.get_workflow_handle(shorts_workflow_id(production_id))
        await handle.signal(SIGNAL_PLATFORM_RECONNECTED, platform)
    except RPCError:
        return False
    return True
