"""`tubeflow stats` as a real process: the channel table and one video's sections, as text and JSON,
the same numbers the collector stored, with each production's cost beside its views."""

from __future__ import annotations

import json
from pathlib import Path

from tests.analytics_helpers import TODAY, collected_channel
from tests.fake_youtube import FakeYouTube
from tests.test_cli import cli_env, tubeflow
from tubeflow.db import analytics_repo
from tubeflow.db.engine import open_database
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings
from tubeflow.storage import open_storage


async def test_stats_prints_the_collected_numbers_and_cost(settings: Settings, tmp_path: Path) -> None:
    with FakeYouTube() as fake:
        s = settings.with_overrides(
            secret_key=new_key(), youtube_base_url=fake.base_url, youtube_analytics_url=fake.base_url
        )
        db = await open_database(s)
        try:
            vids = await collected_channel(fake, s, db, open_storage(s))
            stored = {v.video_id: v for v in await analytics_repo.video_summaries(db, "sky")}
        finally:
            await db.close()
    env = cli_env(s, "127.0.0.1:1")  # no Temporal needed: stats reads the database

    got = await tubeflow(env, "stats", "sky", "--json")
    assert got.returncode == 0, got.stderr
    report = json.loads(got.stdout)
    by_id = {v["video_id"]: v for v in report["videos"]}
    blue = by_id[vids["blue"]]
    assert blue["views"] == stored[vids["blue"]].views == sum(120 + i for i in range(29))
    assert blue["avg_view_pct"] == 58.0 and blue["ctr"] == 6.0 and blue["cost_usd"] == {"gpu": 0.42}
    assert by_id[vids["rayleigh"]]["cost_usd"] == {"gpu": 0.0}
    assert report["daily"][-1]["day"] == TODAY.isoformat()
    assert report["daily"][-1]["views"] == 120 + 100 + 30

    text = await tubeflow(env, "stats", "sky")
    assert text.returncode == 0, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if vids["blue"] in ln)
    assert str(blue["views"]) in line and "58.0%" in line and "6.0%" in line and "$0.4200" in line

    one = await tubeflow(env, "stats", "sky", "--video", vids["stocks"], "--json")
    assert one.returncode == 0, one.stderr
    detail = json.loads(one.stdout)
    assert [s["name"] for s in detail["sections"]] == ["hook", "Sunlight", "Scattering", "Sunsets"]
    assert [s["sharp"] for s in detail["sections"]] == [False, False, True, False]
    assert detail["sections"][2]["start"] == 0.4 and len(detail["retention"]) == 100
    shown = await tubeflow(env, "stats", "sky", "--video", vids["stocks"])
    assert "Scattering" in shown.stdout and "sharp drop" in shown.stdout

    missing = await tubeflow(env, "stats", "sky", "--video", "nope")
    assert missing.returncode != 0 and "no collected video 'nope'" in (missing.stdout + missing.stderr)
