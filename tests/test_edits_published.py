"""Edits carry through to what is published (issue 22 item 4), through the real dev server, the real
activities and tiny real media.

At the script checkpoint the reviewer rewrites the hook and the last section and cuts a body
section; at the final checkpoint they fix the description by hand.  The published metadata.json
(outbox) carries their description, the preview shown at the final checkpoint had already followed
the edited hook, the b-roll was searched with cues of the rewritten text, and only the sources the
narration still says are listed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from service.client import review, start_production
from tests.conftest import tiny_settings
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_for
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo
from tubeflow.keys import ProductionKeys
from tubeflow.render_plan import RenderPlan
from tubeflow.script_citations import cited_sources

TOPIC = "Why is the sky blue?"
HOOK = "Look up: that blue is sunlight bounced around by the air itself."
LAST = "Tonight, watch the horizon glow orange while volcanic dust drifts across the fading daylight."


async def test_script_and_final_edits_reach_the_published_metadata(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = tiny_settings(tmp_path)
    client = temporal_env.client
    async with running_stack(client, settings) as stack:
        await repo.create_channel(stack.db, "skyline", "science")
        pid = await start_production(client, stack.db, settings, "skyline", TOPIC, make_shorts=False)

        first = await wait_checkpoint(client, pid, "script")
        written = json.loads(stack.storage.get_text(first.artifacts.script or ""))
        assert len(written["sections"]) >= 3, written["sections"]
        script = json.loads(json.dumps(written))
        script["hook"] = HOOK
        script["sections"][-1]["narration"] = LAST
        cut = script["sections"].pop(1)  # a body section and the facts it said
        await review(client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana", edits={"script": script}))

        audio = await wait_checkpoint(client, pid, "audio")
        approved_key = audio.artifacts.script or ""
        assert approved_key.endswith("-edited.json")
        approved = json.loads(stack.storage.get_text(approved_key))
        # The rewritten section's cues come from its new words; the untouched one keeps the writer's.
        old_cues, new_cues = written["sections"][-1]["broll_cues"], approved["sections"][-1]["broll_cues"]
        assert new_cues and not set(new_cues) & set(old_cues), (old_cues, new_cues)
        assert all(any(w in LAST.lower() for w in c.split()) for c in new_cues), new_cues
        assert approved["sections"][0]["broll_cues"] == written["sections"][0]["broll_cues"]
        await review(client, pid, ReviewDecision(Checkpoint.AUDIO, True, "ana"))

        broll = await wait_checkpoint(client, pid, "broll", timeout_s=300)
        plan = RenderPlan.from_json(stack.storage.get_text(broll.artifacts.plan or ""))
        last_part = plan.parts[-1]
        used = {m.cue for m in last_part.items if m.cue}
        assert used and used <= set(new_cues) | {approved["sections"][-1]["heading"].lower()}, (used, new_cues)
        await review(client, pid, ReviewDecision(Checkpoint.BROLL, True, "bo"))

        await wait_checkpoint(client, pid, "final", timeout_s=300)
        preview = json.loads(stack.storage.get_text(ProductionKeys(pid).metadata_preview()))
        assert preview["description"].startswith(HOOK) and written["hook"] not in preview["description"]
        fixed = preview["description"].replace(HOOK, "Look up: that blue is sunlight scattered by the air itself.")
        edits = {"thumbnail": 0, "description": fixed}
        await review(client, pid, ReviewDecision(Checkpoint.FINAL, True, "bo", edits=edits))

        done = await wait_for(client, pid, lambda s: s.state == "completed", 240, "completion")
        meta = json.loads(
            (settings.resolved_outbox_dir() / (done.outputs.published or "") / "metadata.json").read_text()
        )
        assert meta["description"] == fixed
        assert meta["title"] == approved["title"]  # not edited at the final checkpoint: the script's
        # Only what the narration still says is listed: the cut section's facts are gone.
        listed = [(s["claim"], s["source"]) for s in meta["sources"]]
        assert listed == [(s["claim"], s["source"]) for s in cited_sources(approved) if s["source"]]
        said_in_cut = [
            (s["claim"], s["source"]) for s in written["sources"] if s["claim"].rstrip(".") in cut["narration"]
        ]
        assert said_in_cut and not set(said_in_cut) & set(listed), (said_in_cut, listed)
        # The description derived at the final checkpoint lists addresses of cited sources only.
        shown = set(re.findall(r"https?://\S+", preview["description"]))
        assert shown and shown <= {src for _, src in listed}, (shown, listed)
