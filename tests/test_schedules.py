"""The knowledge maintenance Schedule exists once and, when triggered, really consolidates."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from knowledge.search import list_facts
from knowledge.store import NewFact, add_facts
from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack
from tubeflow.schedules import KNOWLEDGE_SCHEDULE_ID, ensure_schedules


async def test_schedule_is_idempotent_and_expires_facts(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    async with running_stack(client, settings, gpu=False) as stack:
        old = datetime.now(UTC) - timedelta(days=400)
        stale = NewFact(claim="Stale claim about the sky", source="https://example.org/a", ttl=timedelta(days=30))
        await add_facts(stack.db, "science", [stale], now=old)
        await add_facts(
            stack.db, "science", [NewFact(claim="Fresh claim about rainbows", source="https://example.org/b")]
        )
        assert len(await list_facts(stack.db, "science", include_expired=True)) == 2
        await ensure_schedules(client, settings)
        await ensure_schedules(client, settings)  # a second worker starting must not fail
        handle = client.get_schedule_handle(f"{KNOWLEDGE_SCHEDULE_ID}-{settings.main_queue}")
        await handle.trigger()
        for _ in range(100):
            claims = [f.claim for f in await list_facts(stack.db, "science", include_expired=True)]
            if "Stale claim about the sky" not in claims:
                break
            await asyncio.sleep(0.2)
        assert claims == ["Fresh claim about rainbows"]
        await handle.delete()
