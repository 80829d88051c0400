"""What a production spends beyond the GPU: the LLM's tokens and a paid voice's characters, counted
on every attempt (a rejected script was paid for too), shown in the status, written to the
production's cost, and split in the analytics report.

Through the real dev server with the production Groq SDK against a local Groq and the Azure
Speech SDK against a local server speaking its protocol.
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from activities.research import research
from service.client import cancel, review, start_production
from tests.conftest import tiny_settings
from tests.fake_groq import FakeGroq
from tests.test_script_writer import llm_script
from tests.test_tts import FakeAzureSpeech
from tests.workflow_helpers import running_stack, wait_checkpoint, wait_until
from tubeflow.analytics_report import _costs
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.db import repo
from tubeflow.db.analytics_repo import VideoSummary
from tubeflow.script_schema import narration_text

TOPIC = "Why is the sky blue?"


async def test_llm_tokens_and_paid_voice_characters_are_costed(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    azure = FakeAzureSpeech()
    try:
        with FakeGroq() as groq:
            settings = tiny_settings(
                tmp_path, script_writer="groq", llm_api_key=groq.api_key, llm_base_url=groq.base_url,
                llm_price_in_per_mtok=0.59, llm_price_out_per_mtok=0.79,
                tts="azure", azure_speech_key=azure.key, azure_speech_endpoint=azure.endpoint,
                azure_tts_price_per_mchar=15.0,
            )  # fmt: skip
            async with running_stack(temporal_env.client, settings, gpu=False) as stack:
                await repo.create_channel(stack.db, "paid", "science")
                facts = (await research(settings, stack.db, "science", "paid", TOPIC)).facts
                groq.answer_script(llm_script(TOPIC, facts))
                groq.answer_script(llm_script(TOPIC, facts))
                pid = await start_production(stack.client, stack.db, settings, "paid", TOPIC, make_shorts=False)
                await wait_checkpoint(stack.client, pid, "script")
                await review(stack.client, pid, ReviewDecision(Checkpoint.SCRIPT, False, "tester", "shorter please"))
                await wait_checkpoint(stack.client, pid, "script", attempt=2)
                await review(stack.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "tester"))
                st = await wait_checkpoint(stack.client, pid, "audio")

                # Both script attempts, as Groq counted them, at the configured prices.
                assert len(groq.usages) == 2
                assert st.outputs.llm_tokens == sum(u["total_tokens"] for u in groq.usages)
                per_attempt = [
                    round((u["prompt_tokens"] * 0.59 + u["completion_tokens"] * 0.79) / 1e6, 6) for u in groq.usages
                ]
                assert st.outputs.llm_cost_usd == round(sum(per_attempt), 6) and st.outputs.llm_cost_usd > 0
                # The characters sent to Azure (the script's narration) at $15 per million.
                script = json.loads(stack.storage.get_text(st.artifacts.script or ""))
                chars = sum(len(p) for p in narration_text(script))
                assert st.outputs.tts_characters == chars > 100
                assert st.outputs.tts_cost_usd == round(chars * 15.0 / 1e6, 6)
                assert st.outputs.cost_usd is None  # no GPU work yet

                # The database's cost is the sum, and the analytics report splits it.
                spent = round(st.outputs.llm_cost_usd + st.outputs.tts_cost_usd, 6)

                async def cost_recorded() -> bool:
                    return (await repo.get_production(stack.db, pid)).cost_usd == spent

                await wait_until(cost_recorded, 10, "the snapshot to record the production's cost")
                assert (await repo.get_production(stack.db, pid)).cost_usd == spent
                summary = VideoSummary(video_id="v1", production_id=pid)
                await _costs(stack.db, [summary])
                assert summary.cost_usd == {
                    "gpu": 0.0,
                    "llm": round(st.outputs.llm_cost_usd, 4),
                    "tts": round(st.outputs.tts_cost_usd, 4),
                }
                await cancel(stack.client, pid, "test over")
    finally:
        azure.close()
