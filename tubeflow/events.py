"""The kinds of events tubeflow records and the notifications it sends, named once.

Two audiences read them: the events table (``/api/events``, the dashboard's live updates, the
production page's feed) and the people told by webhook or e-mail (:class:`tubeflow.contracts.Notification`).
The names are part of the public API (``kind`` of an event, ``event`` of a webhook body and its
``X-Tubeflow-Event`` header), so they are written here and nowhere else.

A platform event's payload (TikTok, Instagram) carries ``channel``, ``platform``, ``index`` (the
Short, from 0), ``summary`` (the sentence a person reads, times in the channel's time zone) and,
by kind: ``location``/``post_id``/``private``/``posted_at`` (posted), ``reason`` (needs attention,
blocked, waiting) and ``until`` (waiting on a cap, ISO-8601).  No payload has ``stage``, ``state``,
``progress`` or ``detail``: those top-level fields move a production's stage bar in the dashboard.
"""

from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """A row of the events table."""

    CREATED = "created"
    STAGE = "stage"
    REVIEW = "review"
    ACCOUNT_RECONNECT_NEEDED = "account_reconnect_needed"
    ACCOUNT_RECONNECTED = "account_reconnected"
    ACCOUNT_DISCONNECTED = "account_disconnected"
    PLATFORM_PUBLISHED = "platform_published"  # a Short is up on TikTok or Instagram
    PLATFORM_NEEDS_ATTENTION = "platform_needs_attention"  # failed for good: fix, then retry --platform
    PLATFORM_BLOCKED = "platform_blocked"  # waits for the account to be reconnected
    PLATFORM_WAITING = "platform_waiting"  # waits for the channel's or the platform's daily cap


class NotifyEvent(StrEnum):
    """What a notification is about (``Notification.event``)."""

    CHECKPOINT_OPENED = "checkpoint_opened"
    REMINDER = "reminder"
    NEEDS_ATTENTION = "needs_attention"
    FAILED = "failed"
    PUBLISHED = "published"
    DIGEST = "digest"
    TEST = "test"
    PLATFORM_PUBLISHED = EventKind.PLATFORM_PUBLISHED.value
    PLATFORM_NEEDS_ATTENTION = EventKind.PLATFORM_NEEDS_ATTENTION.value
    PLATFORM_BLOCKED = EventKind.PLATFORM_BLOCKED.value
    PLATFORM_WAITING = EventKind.PLATFORM_WAITING.value


# The platform events, each with the post status that starts it (platform_posts.status).
PLATFORM_EVENTS: dict[str, EventKind] = {
    "published": EventKind.PLATFORM_PUBLISHED,
    "needs_attention": EventKind.PLATFORM_NEEDS_ATTENTION,
    "reconnect_needed": EventKind.PLATFORM_BLOCKED,
    "waiting": EventKind.PLATFORM_WAITING,
}
