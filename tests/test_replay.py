"""Upgrade safety: today's workflow code must replay the histories earlier code recorded.

Each file in tests/histories/ is a real history written by ``python -m tests.histories.record``
(productions waiting at every checkpoint, after a reject-redo, mid-render, completed with
Shorts, failed, cancelled; Shorts, video jobs, maintenance).  A workflow change that would make
one of those in-flight workflows take a different path fails here: guard the change with
``workflow.patched`` (see ARCHITECTURE.md), and record a new history for any new path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from service.worker import workflow_classes

HERE = Path(__file__).parent / "histories"
WORKFLOW_IDS: dict[str, str] = json.loads((HERE / "workflow_ids.json").read_text())
HISTORIES = sorted(p for p in HERE.glob("*.json") if p.stem in WORKFLOW_IDS)
EXPECTED = {
    "production_waiting_script",
    "production_script_redo",
    "production_waiting_audio",
    "production_waiting_broll",
    "production_mid_render",
    "production_waiting_final",
    "production_completed_with_shorts",
    "production_failed_rejected",
    "production_failed_activity",
    "production_cancelled",
    "production_cancelled_temporal",
    "production_needs_attention",
    "production_retried_after_attention",
    "production_final_redo_render",
    "production_waiting_broll_preview",
    "production_reminded_at_script",
    "shorts_completed",
    "production_fanout_mid_render",
    "production_fanout_completed",
    "shorts_fanout_completed",
    "videojob_completed",
    "videojob_failed",
    "videojob_completed_live",
    "maintenance_completed",
    "analytics_not_connected",
    "production_published_after_quota",
    "production_published_after_reconnect",
    "production_shorts_needs_attention",
    "production_shorts_retried_completed",
    "cadence_started_production",
    "production_retried_after_quota_reset",
    "production_published_with_final_edits",
    "production_broll_edits_saved_final",
    "production_quality_at_final",
    "production_quality_needs_attention",
    "production_quality_retried_published",
    "shorts_quality_completed",
    "production_stage_progress_at_broll",
    "production_cross_posted",
    "shorts_cross_posted",
}


def test_every_recorded_scenario_is_present() -> None:
    assert EXPECTED <= {p.stem for p in HISTORIES}
    assert {p.stem for p in HERE.glob("*.json")} == set(WORKFLOW_IDS) | {"workflow_ids"}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_current_workflows_replay_recorded_history(path: Path) -> None:
    history = WorkflowHistory.from_json(WORKFLOW_IDS[path.stem], path.read_text())
    # A nondeterminism error raises here, with the SDK's explanation of which command differs.
    result = await Replayer(workflows=workflow_classes()).replay_workflow(history)
    assert result.replay_failure is None
