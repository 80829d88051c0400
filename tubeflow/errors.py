"""Two kinds of failure, so activities can tell Temporal whether a retry can help.

Plain modules raise these; the activity adapters turn :class:`PermanentError` into a
non-retryable ``ApplicationError`` whose message a person can act on, and let everything else
(including :class:`TransientError`) retry with backoff.
"""

from __future__ import annotations


class TubeflowError(Exception):
    """Base class; the message is shown to people (CLI, dashboard, Web UI)."""


class PermanentError(TubeflowError):
    """Retrying cannot help: bad input, a wrong key, a missing channel, a rejected limit."""

    type_name = "PermanentError"


class TransientError(TubeflowError):
    """Worth retrying: a timeout, a 429, a 5xx, a worker that went away."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class MediaError(PermanentError):
    """A media file that cannot be read or is not what it should be."""

    type_name = "MediaError"


class ConfigError(PermanentError):
    """A setting, niche file or credential that is missing or wrong."""

    type_name = "ConfigError"


class QuotaExhausted(PermanentError):
    """The YouTube Data API quota of a Google Cloud project is spent until ``reset_at`` (midnight Pacific).

    Permanent for the activity (retrying within the day cannot help); the workflow waits on a
    durable timer until ``reset_at`` and publishes then.
    """

    type_name = "QuotaExhausted"

    def __init__(self, message: str, reset_at: str) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.details = reset_at


class AccountNeedsReconnect(PermanentError):
    """The channel's YouTube authorization was revoked or expired; a person must connect it again."""

    type_name = "AccountNeedsReconnect"


class PostingCapReached(PermanentError):
    """A platform's posting cap or rate limit (TikTok's posts per creator per day, Instagram's 50
    API posts per 24 h) is reached until ``retry_at`` (ISO-8601).

    Permanent for the activity; the workflow waits for that platform on a durable timer and tries
    again then.  The other platforms go on.
    """

    type_name = "PostingCapReached"

    def __init__(self, message: str, retry_at: str) -> None:
        super().__init__(message)
        self.retry_at = retry_at
        self.details = retry_at
