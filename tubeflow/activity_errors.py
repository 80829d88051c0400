"""The one mapping from tubeflow's error classes onto Temporal's retry semantics.

Both activity adapters (main and GPU queue) wrap their methods with :func:`permanent_errors`:
a :class:`PermanentError` or a bad storage key becomes a non-retryable ``ApplicationError`` whose
message is the person-readable one; a :class:`TransientError` retries, after the delay the
remote service asked for when it gave one (429 Retry-After).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import ParamSpec, TypeVar

from temporalio.exceptions import ApplicationError

from tubeflow.errors import PermanentError, TransientError
from tubeflow.storage import StorageError

P = ParamSpec("P")
R = TypeVar("R")


def permanent_errors(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except PermanentError as e:
            details = [e.details] if hasattr(e, "details") else []  # e.g. when a quota resets
            raise ApplicationError(str(e), *details, type=type(e).__name__, non_retryable=True) from e
        except StorageError as e:
            raise ApplicationError(str(e), type="StorageError", non_retryable=True) from e
        except TransientError as e:
            delay = timedelta(seconds=e.retry_after_s) if e.retry_after_s else None
            raise ApplicationError(str(e), type=type(e).__name__, next_retry_delay=delay) from e

    return wrapper
