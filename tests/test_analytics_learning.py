"""Outcomes feed the knowledge store: a topic ranking that changes because of what viewers did,
with its explanation; retention drops as script-writer learnings with evidence; thumbnail vs CTR;
every analytics learning expires like a fact."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from activities.script_writer import build_messages, niche_learnings, viewer_learnings
from knowledge.consolidate import consolidate
from knowledge.performance import learn_from_channel
from knowledge.store import NewFact, add_facts, get_learnings, utcnow
from knowledge.topics import RankedTopic, rank_for_channel
from niches.config import load_niche
from tests.analytics_helpers import collected_channel
from tests.fake_youtube import FakeYouTube
from tubeflow.db.engine import open_database
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings
from tubeflow.storage import open_storage

SKY_TOPIC, BOND_TOPIC = "Blue sky colors at noon", "Bond market basics"


def _facts(topic: str, n: int) -> list[NewFact]:
    words = ["alpha", "bravo", "charlie", "delta"]  # digits are not tokens: distinct words make distinct claims
    return [
        NewFact(claim=f"{topic}: {words[i]} observation", source=f"https://example.org/{i}", topic=topic)
        for i in range(n)
    ]


async def test_outcomes_change_the_topic_ranking_and_teach_the_writer(settings: Settings, tmp_path: Path) -> None:
    with FakeYouTube() as fake:
        s = settings.with_overrides(
            secret_key=new_key(), youtube_base_url=fake.base_url, youtube_analytics_url=fake.base_url
        )
        db = await open_database(s)
        storage = open_storage(s)
        try:
            await add_facts(db, "science", _facts(SKY_TOPIC, 2) + _facts(BOND_TOPIC, 3))
            vids = await collected_channel(fake, s, db, storage)

            def order(ranked: list[RankedTopic]) -> list[str]:
                return [r.topic for r in ranked if r.topic in (SKY_TOPIC, BOND_TOPIC)]

            before = await rank_for_channel(s, db, "sky", 100)
            assert order(before) == [BOND_TOPIC, SKY_TOPIC]  # by supporting facts: 3 before 2
            assert all(not r.explanation for r in before)

            assert await learn_from_channel(db, storage, "sky") > 0
            after = {r.topic: r for r in await rank_for_channel(s, db, "sky", 100)}
            assert order(list(after.values())) == [SKY_TOPIC, BOND_TOPIC]
            sky = after[SKY_TOPIC].explanation
            # "Why the sky is blue" 58 % and "Rayleigh scattering and the blue sky" 62 %: 60 % on average
            assert sky.startswith("ranked up: similar topics averaged 60% view percentage (channel average 47%")
            assert vids["blue"] in sky and vids["rayleigh"] in sky and vids["stocks"] not in sky
            bond = after[BOND_TOPIC].explanation
            assert (
                bond.startswith("ranked down: similar topics averaged 21% view percentage") and vids["stocks"] in bond
            )

            # Retention: "Scattering" of the stock video lost viewers sharply: a learning for the writer.
            niche = load_niche("science", s)
            learned = await niche_learnings(db, niche, "sky")
            retention = [lr for lr in learned if lr.origin == "analytics:retention"]
            assert len(retention) == 1 and '"Scattering"' in retention[0].text and "30 s" in retention[0].text
            ev = retention[0].evidence or {}
            assert ev["video_ids"] == [vids["stocks"]] and ev["section"] == "Scattering" and ev["drop"] >= 0.25
            assert retention[0].expires_at is not None
            assert not [lr for lr in learned if lr.origin in ("analytics:topic", "analytics:thumbnail")]
            prompt = build_messages("Sunsets", niche, [], [lr.text for lr in learned], [], 150)[1]["content"]
            assert retention[0].text in prompt
            shown = await viewer_learnings(db, niche, "sky")
            assert len(shown) == 1 and vids["stocks"] in shown[0] and "Scattering 40-70 s" in shown[0]

            # Thumbnail choice vs CTR recorded, with its evidence.
            thumbs = await get_learnings(db, "science", "sky", origins=("analytics:thumbnail",))
            by_video = {(t.evidence or {})["video_ids"][0]: t for t in thumbs}
            assert (by_video[vids["rayleigh"]].evidence or {})["thumbnail_option"] == 1
            assert "5.0% click-through" in by_video[vids["rayleigh"]].text

            # Learning again (tomorrow's collection) replaces, it does not pile up.
            await learn_from_channel(db, storage, "sky")
            assert len(await get_learnings(db, "science", "sky", limit=100, origins=("analytics:topic",))) == 3

            # Expiry: 91 days on, the outcomes no longer count and the ranking is back to facts alone.
            later = utcnow() + timedelta(days=91)
            assert await get_learnings(db, "science", "sky", origins=("analytics:retention",), now=later) == []
            report = await consolidate(db, now=later)
            assert report.learnings_expired == 7  # 3 topics + 3 thumbnails + 1 retention
            again = await rank_for_channel(s, db, "sky", 100)
            assert order(again) == [BOND_TOPIC, SKY_TOPIC] and all(not r.explanation for r in again)
        finally:
            await db.close()
