"""`tubeflow quota show|reset`: the YouTube quota ledger (the `youtube_quota` table) per Google Cloud project.

Why an operator resets it: Google reset or raised the project's quota before midnight Pacific
(a quota extension was granted, or another client's spending was undone), or the ledger
over-counted.  A raised daily quota is `TUBEFLOW_YOUTUBE_DAILY_QUOTA` (workers read it at start);
either way, `tubeflow retry ID` then wakes each production blocked on the quota for one try now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from cli.context import console, with_db
from tubeflow.settings import Settings

if TYPE_CHECKING:
    from tubeflow.db.engine import Database

quota_app = typer.Typer(help="The YouTube quota ledger per Google Cloud project.", no_args_is_help=True)
PROJECT = typer.Option(..., help="the Google Cloud project of the channel's account")


@quota_app.command("show")
def show(project: str = PROJECT) -> None:
    """Units booked today (Pacific day) against TUBEFLOW_YOUTUBE_DAILY_QUOTA."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import channel_repo
        from tubeflow.youtube_quota import next_reset, pacific_day

        now = datetime.now(UTC)
        used = await channel_repo.quota_used(db, project, pacific_day(now))
        console.print(
            f"{project}: {used} of {s.youtube_daily_quota} units used on {pacific_day(now)} (Pacific); "
            f"resets at {next_reset(now).isoformat()}"
        )

    with_db(go)


@quota_app.command("reset")
def reset(project: str = PROJECT) -> None:
    """Clear today's bookings: Google reset the quota, or the ledger was wrong."""

    async def go(s: Settings, db: Database) -> None:
        from tubeflow.db import channel_repo
        from tubeflow.youtube_quota import pacific_day

        day = pacific_day(datetime.now(UTC))
        cleared = await channel_repo.reset_quota(db, project, day)
        console.print(
            f"{project}: cleared {cleared} units booked on {day} (Pacific). Productions blocked on the quota "
            "publish at once with `tubeflow retry ID`; otherwise they wait for midnight Pacific."
        )

    with_db(go)
