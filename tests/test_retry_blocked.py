"""`tubeflow retry` wakes a production blocked on the YouTube quota: one try now, the timer again if still spent.

Issue 24 item 8: a production blocked on quota used to wait for midnight Pacific even after the
operator had the quota reset, and `retry` refused it.  A real production through the dev server,
the real workers and the fake Google (tests/fake_youtube.py, which keeps every uploaded video);
the quota's reset is hours away (no clock hook), so only `retry` can make it publish today.
The operator's steps are the CLI's, as a person types them, and the last is the dashboard's
"Try publishing now" button, clicked in headless Chromium.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.auth import create_key
from api.testing import serve
from service.client import NothingToRetry, get_status, retry
from tests.browser import open_page, playwright_api, sign_in
from tests.fake_youtube import FakeYouTube
from tests.test_cli import cli_env, tubeflow
from tests.test_publish_waits import connected_channel, google, video_id, youtube_settings  # noqa: F401 (fixture)
from tests.workflow_helpers import running_stack, wait_for
from tubeflow.db import channel_repo
from tubeflow.youtube_quota import pacific_day

PROJECT = "fake-project"  # the fake OAuth client's project_id, the ledger's key


async def test_retry_after_quota_reset_publishes_at_once_exactly_once(
    temporal_env: WorkflowEnvironment,
    tmp_path: Path,
    google: FakeYouTube,  # noqa: F811
    browser: Any,
) -> None:
    settings = youtube_settings(tmp_path, google)
    client = temporal_env.client
    env = cli_env(settings, client.service_client.config.target_host)
    async with running_stack(client, settings) as stack:
        await connected_channel(stack, settings)
        google.quota_exceeded = True
        from service.client import start_production

        pid = await start_production(client, stack.db, settings, "sky", "Why is the sky blue?", make_shorts=False)

        async def blocked(what: str) -> None:
            st = await wait_for(client, pid, lambda s: s.state == "blocked", 300, what)
            assert st.stage == "publish" and "quota reset" in st.detail and "tubeflow retry" in st.detail
            day = pacific_day(datetime.now(UTC))
            assert await channel_repo.quota_used(stack.db, PROJECT, day) == settings.youtube_daily_quota

        await blocked("blocked on quota")

        def uploads_tried() -> int:
            return sum(1 for _method, path in google.log if path.startswith("/upload/"))

        tried = uploads_tried()
        assert tried >= 1  # YouTube refused the upload: that is how the quota was found spent

        # 1. Retry while the ledger still says the day is spent: one try (refused before calling
        #    YouTube), blocked again on the timer; nothing uploaded.
        r = await tubeflow(env, "retry", pid, "--note", "too early")
        assert r.returncode == 0 and "running again" in r.stdout, r.stdout + r.stderr
        await blocked("blocked again: the ledger is still full")
        assert google.videos_of("sky") == {} and uploads_tried() == tried

        # 2. The ledger cleared, but YouTube itself still refuses: the try is refused by YouTube,
        #    the ledger marks the day spent again, blocked again; still nothing uploaded.
        r = await tubeflow(env, "quota", "reset", "--project", PROJECT)
        assert r.returncode == 0 and "cleared 10000 units" in r.stdout, r.stdout + r.stderr
        await retry(client, pid, "olga", "Google says it is reset")
        await blocked("blocked again: YouTube still refuses")
        assert google.videos_of("sky") == {} and uploads_tried() == tried + 1

        # 3. Google really reset it: the operator clears the ledger and presses the dashboard's
        #    button; published at once, once.
        google.quota_exceeded = False
        r = await tubeflow(env, "quota", "reset", "--project", PROJECT)
        assert r.returncode == 0, r.stderr
        editor = await create_key(stack.db, "olga", "editor")
        app = create_app(settings, temporal_client=client, db=stack.db, storage=stack.storage)
        async with serve(app) as base:
            ctx, page, errors = await open_page(browser, base)
            await sign_in(page, editor, f"/productions/{pid}")
            expect = playwright_api.expect
            await expect(page.locator("#blocked")).to_contain_text("Waiting to publish")
            await expect(page.locator("#blocked")).to_contain_text("quota")
            await page.click("#retry")
            await expect(page.locator("#toast")).to_contain_text("Retrying publish", timeout=20_000)
            assert errors == []
            await ctx.close()
        done = await wait_for(client, pid, lambda s: s.state == "completed", 120, "published after the retry")
        videos = google.videos_of("sky")
        assert list(videos) == [video_id(done)]
        entries = await channel_repo.list_publications(stack.db, "sky")
        assert [(e.production_id, e.video_id) for e in entries] == [(pid, video_id(done))]

        # A finished production has nothing to retry.
        with pytest.raises(NothingToRetry):
            await retry(client, pid, "olga")
        assert (await get_status(client, pid)).state == "completed"
