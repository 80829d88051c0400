"""The audio checkpoint in headless Debian Chromium at 1366x768 and 390x844 (issue 22): a real
production voiced by eSpeak NG (an engine that reports when each word was said), its transcript
timed by those word boundaries, a part's ▶ that plays that part alone, and the channel's
pronunciation lexicon edited right there: Save and re-voice keeps it and voices the narration again.

With ``TUBEFLOW_SCREENSHOTS=docs/screenshots`` it writes review-audio-{laptop,phone}.png.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities import lexicon
from api.app import create_app
from api.auth import create_key
from api.testing import serve
from gpu_activities.align import align_to_script
from service.client import cancel, get_status, review, start_production
from tests.browser import open_page, playwright_api, sign_in
from tests.conftest import tiny_settings
from tests.workflow_helpers import Stack, running_stack, wait_checkpoint
from tubeflow.contracts import Checkpoint, ReviewDecision
from tubeflow.keys import channel_lexicon, spoken_words_for
from tubeflow.render_plan import NarrationTiming

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
PLAYING = "(() => { const a = document.querySelector('#narration'); return [a.currentTime, a.paused]; })()"


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(temporal_env.client, tiny_settings(tmp_path, tts="espeak"), gpu=False) as s:
        from tubeflow.db import repo

        await repo.create_channel(s.db, "voices", "science")
        yield s


async def test_audio_checkpoint_word_times_part_play_and_lexicon(stack: Stack, browser: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    shots = Path(os.environ.get("TUBEFLOW_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    lexicon.save(stack.storage, "voices", [lexicon.parse_entry("Rayleigh", "RAY-lee")])
    editor = await create_key(stack.db, "ana", "editor")
    pid = await start_production(stack.client, stack.db, stack.settings, "voices", "Why is the sky blue?")
    await wait_checkpoint(stack.client, pid, Checkpoint.SCRIPT, timeout_s=180)
    await review(stack.client, pid, ReviewDecision(Checkpoint.SCRIPT, True, "ana"))
    app = create_app(stack.settings, temporal_client=stack.client, db=stack.db, storage=stack.storage,
                     events_poll_s=0.2)  # fmt: skip
    async with serve(app) as base:
        ctx, page, errors = await open_page(browser, base, bypass_csp=True)
        await sign_in(page, editor)
        for attempt, (size, label, word, respelt) in enumerate(
            [(LAPTOP, "laptop", "Tyndall", "TIN-dull"), (PHONE, "phone", "Mie", "MEE")], start=1
        ):
            st = await wait_checkpoint(stack.client, pid, Checkpoint.AUDIO, attempt, timeout_s=180)
            await page.set_viewport_size(size)
            await page.goto(f"/productions/{pid}")
            await page.wait_for_function("document.querySelector('#narration').duration > 0", timeout=60_000)

            # Word times are the voice's own: the page's match the word boundaries eSpeak reported.
            await expect(page.locator("#word-times")).to_contain_text("as the voice reported")
            timing = NarrationTiming.from_json(stack.storage.get_text(st.artifacts.timing or ""))
            spoken = json.loads(stack.storage.get_text(spoken_words_for(st.artifacts.audio or "")))
            script = json.loads(stack.storage.get_text(st.artifacts.script or ""))
            expected, _ = align_to_script(script, spoken, timing)
            starts = [float(x) for x in await page.locator("#transcript .word").evaluate_all(
                "ws => ws.map(w => w.dataset.start)")]  # fmt: skip
            assert starts == [round(w["start"], 2) for w in expected]
            even = [p for p in timing.parts if len(p.text.split()) > 3]
            assert even, "the narration has parts of several words"  # so "by length" and "by voice" can differ

            # A part's ▶ plays from its start and stops at its end, not in the next part.
            play = page.locator("#transcript .tplay").nth(1)
            start = float(await play.get_attribute("data-start") or "nan")
            end = float(await play.get_attribute("data-end") or "nan")
            assert await play.get_attribute("aria-label") == f"Play Section 1 only, {start:.1f} to {end:.1f} seconds"
            await play.click()
            await page.wait_for_function(
                "(() => { const a = document.querySelector('#narration'); return !a.paused && a.currentTime > 0; })()"
            )
            at, _ = await page.evaluate(PLAYING)
            assert start - 0.05 <= at < end, (at, start, end)
            paused = "document.querySelector('#narration').paused"
            await page.wait_for_function(paused, timeout=(end - start + 10) * 1000)
            at, _ = await page.evaluate(PLAYING)
            assert end - 0.3 <= at <= end + 0.3, (at, end)  # stopped at the part's end
            lit = await page.locator("#transcript .word.now").count()
            assert lit <= 1

            # The channel's lexicon is there, editable; the screenshot shows the checkpoint as a reviewer sees it.
            field = page.locator("#pronounce")
            await expect(field).to_have_value(
                "Rayleigh=RAY-lee" if attempt == 1 else "Rayleigh=RAY-lee\nTyndall=TIN-dull"
            )
            await page.screenshot(path=str(shots / f"review-audio-{label}.png"), full_page=True)
            await field.fill(await field.input_value() + f"\n{word}={respelt}")
            await page.click("#revoice")
            await expect(page.locator("#review h2")).to_contain_text(f"attempt {attempt + 1}", timeout=180_000)
            saved = lexicon.load(stack.storage, "voices")
            assert saved[word.lower()].respelling == respelt and saved["rayleigh"].respelling == "RAY-lee"
            last = (await get_status(stack.client, pid)).reviews[-1]
            assert (last.stage, last.approved) == ("audio", False) and f"{word}={respelt}" in last.feedback
        assert errors == [], errors
        await ctx.close()
    assert "Tyndall" in stack.storage.get_text(channel_lexicon("voices"))
    await cancel(stack.client, pid, "done testing")
