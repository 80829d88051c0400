"""`tubeflow quota show|reset`: the YouTube quota ledger (the `youtube_quota` table) per Google Cloud project.

Why an operator resets it: Google reset or raised the project's quota before midnight Pacific
(a quota extension was granted, or another client's spending was undone), or the ledger
over-counted.  A raised daily quota is `TUBEFLOW_YOUTUBE_DAILY_QUOTA` (workers read it at start);
either way, `tubeflow retry ID` then wakes each production blocked on the quota for one try now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console

from tubeflow.settings import Settings

console = Console()


def register(
    app: typer.Typer,
    run: Callable[[Any], Any],
    settings: Callable[[], Settings],
    db: Callable[[Settings], Any],
) -> None:
    quota_app = typer.Typer(help="The YouTube quota ledger per Google Cloud project.", no_args_is_help=True)
    app.add_typer(quota_app, name="quota")

    @quota_app.command("show")
    def show(project: str = typer.Option(..., help="the Google Cloud project of the channel's account")) -> None:
        """Units booked today (Pacific day) against TUBEFLOW_YOUTUBE_DAILY_QUOTA."""

        async def go() -> None:
            from tubeflow.db import channel_repo
            from tubeflow.youtube_quota import next_reset, pacific_day

            s = settings()
            database = await db(s)
            try:
                now = datetime.now(UTC)
                used = await channel_repo.quota_used(database, project, pacific_day(now))
            finally:
                await database.close()
            console.print(
                f"{project}: {used} of {s.youtube_daily_quota} units used on {pacific_day(now)} (Pacific); "
                f"resets at {next_reset(now).isoformat()}"
            )

        run(go())

    @quota_app.command("reset")
    def reset(project: str = typer.Option(..., help="the Google Cloud project of the channel's account")) -> None:
        """Clear today's bookings: Google reset the quota, or the ledger was wrong."""

        async def go() -> None:
            from tubeflow.db import channel_repo
            from tubeflow.youtube_quota import pacific_day

            s = settings()
            database = await db(s)
            try:
                day = pacific_day(datetime.now(UTC))
                cleared = await channel_repo.reset_quota(database, project, day)
            finally:
                await database.close()
            console.print(
                f"{project}: cleared {cleared} units booked on {day} (Pacific). Productions blocked on the quota "
                "publish at once with `tubeflow retry ID`; otherwise they wait for midnight Pacific."
            )

        run(go())
