"""What every `tubeflow` command shares: its settings, how it runs async work, and its database.

Kept apart from :mod:`cli.main` so the command modules (:mod:`cli.channels`) and the app that
gathers them both import it, instead of the app handing its helpers down to them.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from tubeflow.errors import TubeflowError
from tubeflow.settings import Settings, SettingsError

if TYPE_CHECKING:
    from tubeflow.db.engine import Database

T = TypeVar("T")

console = Console()
err = Console(stderr=True)


def load_settings() -> Settings:
    """The process's settings; a wrong TUBEFLOW_* value ends it with one line on stderr and exit code 2.

    Plain ``print``, not rich: rich wraps at the terminal's width, and the promise is one line.
    """
    try:
        return Settings.from_env()
    except SettingsError as e:
        print(f"error: {e}", file=sys.stderr)
        raise typer.Exit(2) from None


def observed(process: str) -> Settings:
    """Settings for a long-running process, with JSON logs and (when configured) OTLP traces."""
    from tubeflow.logging import configure_logging
    from tubeflow.tracing import configure_tracing

    s = load_settings()
    configure_logging(process, s.log_level)
    configure_tracing(s, process)
    return s


def flush_traces() -> None:
    from tubeflow.tracing import shutdown

    shutdown()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's async body; a :class:`TubeflowError` is one red line and exit code 2."""
    try:
        return asyncio.run(coro)
    except TubeflowError as e:
        from service.client import TemporalUnavailable  # here, not above: most commands never need Temporal

        if isinstance(e, TemporalUnavailable):
            print(f"error: {temporal_down(str(e))}", file=sys.stderr)
        else:
            err.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None


def temporal_down(message: str) -> str:
    """The SDK's multi-line transport error as one line with the fix, as the dashboard says it.

    ``message`` is :class:`service.client.TemporalUnavailable`'s: "cannot connect to Temporal at
    ADDRESS: <the SDK's error>"; the SDK's part is reduced to the OS's reason when it names one.
    """
    head, _, detail = message.partition(": ")
    reason = re.search(r'(?:message|error): "([^"]+)"', detail)
    why = f" ({reason.group(1).lower()})" if reason else ""
    return f"{head}{why}; is the dev server running (`tubeflow dev`)?"


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, migrated (or checked) as every process opens it, closed afterwards."""
    from tubeflow.db.engine import open_database

    db = await open_database(settings)
    try:
        yield db
    finally:
        await db.close()


@asynccontextmanager
async def raw_database(url: str) -> AsyncIterator[Database]:
    """A database as it is, schema untouched: for the `db` commands that inspect or migrate it."""
    from tubeflow.db.engine import Database

    db = Database(url)
    try:
        yield db
    finally:
        await db.close()


def with_db(fn: Callable[[Settings, Database], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``fn(settings, db)`` with the database open for its whole run: the body of most commands."""
    s = settings if settings is not None else load_settings()

    async def body() -> T:
        async with database(s) as db:
            return await fn(s, db)

    return run(body())


def with_settings(fn: Callable[[Settings], Awaitable[T]]) -> T:
    """Run ``fn(settings)``: commands that talk to Temporal only."""
    s = load_settings()

    async def body() -> T:
        return await fn(s)

    return run(body())
