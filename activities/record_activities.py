"""What a production leaves behind: its database row (snapshots), its reviews and the learnings
they teach, and the daily knowledge consolidation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.adapter_base import MainAdapter
from tubeflow import activity_defs as act
from tubeflow.activity_defs import implements
from tubeflow.contracts import ReviewLog, StateSnapshot


class RecordActivities(MainAdapter):
    def all(self) -> list[Callable[..., Any]]:
        return [self.record_snapshot, self.record_review, self.consolidate_knowledge]

    @implements(act.RECORD_SNAPSHOT)
    async def record_snapshot(self, snap: StateSnapshot) -> None:
        from tubeflow.db import repo

        changed = await repo.apply_snapshot(self.db, snap)
        st = snap.status
        if changed and st.state.finished:
            # The outcome teaches the niche (a failure's reason becomes a learning); stored once.
            from knowledge.store import list_outcomes, record_outcome

            if not await list_outcomes(self.db, st.production_id):
                detail = st.error or st.title
                await record_outcome(
                    self.db, st.production_id, st.state, channel=st.channel, niche=st.niche, detail=detail
                )

    @implements(act.CONSOLIDATE_KNOWLEDGE)
    async def consolidate_knowledge(self, _: None = None) -> dict[str, int]:
        """Takes no input (the Schedule starts it without one)."""
        from knowledge.consolidate import consolidate_knowledge

        return await consolidate_knowledge(self.settings, self.db)

    @implements(act.RECORD_REVIEW)
    async def record_review(self, log: ReviewLog) -> None:
        """Store the review; a rejection's feedback also becomes a learning of the channel's niche.

        The learning is filed under the stage it is about (a final rejection sent back to the
        b-roll teaches the b-roll), and that stage reads it in every later production.
        """
        from knowledge.store import add_learning
        from tubeflow.db import repo

        await repo.record_review(self.db, log)
        r = log.record
        if r.approved or not r.feedback.strip() or r.ignored:
            return
        about = r.about
        try:
            row = await repo.get_production(self.db, log.production_id)
        except repo.NotFoundError:
            return
        await add_learning(self.db, row.niche, r.feedback, f"review:{about}", channel=None)
