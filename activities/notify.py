"""Telling people about productions: outgoing webhooks (signed JSON, Slack, Discord) and e-mail.

Targets come from settings only (``TUBEFLOW_WEBHOOKS`` for every channel, ``TUBEFLOW_CHANNEL_WEBHOOKS``
for the channels whose ``webhooks`` setting names them), so webhook URLs, which are secrets for
Slack and Discord, never sit in the database or come back from the API.

The generic ``json`` format is signed so a receiver can trust it and refuse replays::

    X-Tubeflow-Timestamp: <unix seconds>   (informational: the signed time is t= below)
    X-Tubeflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(TUBEFLOW_WEBHOOK_SECRET, "<t>.<raw body>")>
    X-Tubeflow-Delivery: <unique id; the same id again is a retry of the same delivery>

It is the one signing scheme of tubeflow (:mod:`tubeflow.signing`), the same as video job callbacks,
so one receiver can verify both.

A receiver recomputes the HMAC over the exact bytes it received, compares in constant time, and
refuses a timestamp more than 5 minutes from its clock (and a delivery id it has already seen):
:func:`verify` does exactly that.
"""

from __future__ import annotations

import json
import smtplib
import time
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from tubeflow import signing
from tubeflow.contracts import Notification
from tubeflow.errors import ConfigError
from tubeflow.settings import Settings

FORMATS = ("json", "slack", "discord")
TOLERANCE_S = signing.TOLERANCE_S
TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Target:
    name: str
    format: str
    url: str

    def __str__(self) -> str:  # never the URL: Slack/Discord URLs are credentials
        return f"{self.name} ({self.format})"


def parse_targets(spec: str, where: str = "TUBEFLOW_WEBHOOKS") -> list[Target]:
    """``"ops=slack:https://hooks.slack.com/...; audit=json:https://example.org/hook"``."""
    out: list[Target] = []
    for n, entry in enumerate(x.strip() for x in spec.split(";")):
        if not entry:
            continue
        name, sep, rest = entry.partition("=")
        if not sep or "://" in name:
            name, rest = f"hook{n + 1}", entry
        fmt, sep, url = rest.partition(":")
        if not sep or fmt not in FORMATS or url.startswith("//"):
            if rest.startswith(("http://", "https://")):
                fmt, url = "json", rest
            else:
                raise ConfigError(
                    f"{where}: {name.strip()!r} must be name=format:url with format one of {', '.join(FORMATS)}"
                )
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: {name.strip()!r} needs an http(s) URL")
        out.append(Target(name.strip(), fmt, url.strip()))
    return out


def targets_for(settings: Settings, channel_names: list[str]) -> list[Target]:
    """Every channel's targets plus the named ones the channel opted into."""
    named = {t.name: t for t in parse_targets(settings.channel_webhooks, "TUBEFLOW_CHANNEL_WEBHOOKS")}
    missing = [n for n in channel_names if n not in named]
    if missing:
        raise ConfigError(
            f"channel webhooks {missing} are not defined in TUBEFLOW_CHANNEL_WEBHOOKS "
            f"(defined: {', '.join(named) or 'none'})"
        )
    return parse_targets(settings.webhooks) + [named[n] for n in channel_names]


# ---------------------------------------------------------------- payloads


def absolute_link(settings: Settings, link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return settings.resolved_public_base_url() + link


def generic_body(n: Notification, delivery_id: str) -> dict[str, Any]:
    return {"id": delivery_id, **asdict(n)}


def text_of(n: Notification) -> str:
    lines = [n.summary]
    if n.link:
        lines.append(n.link)
    return "\n".join(lines)


def body_for(target: Target, n: Notification, delivery_id: str) -> bytes:
    if target.format == "slack":
        payload: dict[str, Any] = {"text": text_of(n)}
    elif target.format == "discord":
        payload = {"content": text_of(n)[:2000]}
    else:
        payload = generic_body(n, delivery_id)
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def headers_for(target: Target, n: Notification, body: bytes, secret: str, delivery_id: str) -> dict[str, str]:
    h = {"Content-Type": "application/json", "User-Agent": "tubeflow-webhooks/1"}
    if target.format == "json":
        ts = int(time.time())
        h.update(
            {
                "X-Tubeflow-Event": n.event,
                "X-Tubeflow-Delivery": delivery_id,
                "X-Tubeflow-Timestamp": str(ts),
            }
        )
        if secret:
            h[signing.HEADER] = signing.signature(secret, body, ts)
    return h


class SignatureError(Exception):
    pass


def verify(
    secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None, tolerance_s: int = TOLERANCE_S
) -> None:
    """What a receiver does (raises SignatureError): recompute, compare in constant time, refuse stale."""
    given = {k.lower(): v for k, v in headers.items()}.get(signing.HEADER.lower(), "")
    parts = dict(p.split("=", 1) for p in given.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or not parts.get("v1"):
        raise SignatureError(f"missing or malformed {signing.HEADER}")
    ts = int(parts["t"])
    if abs((time.time() if now is None else now) - ts) > tolerance_s:
        raise SignatureError(f"timestamp {ts} is more than {tolerance_s} s from now: refused as a replay")
    if not signing.verify(secret, body, given, now=ts, tolerance_s=tolerance_s):
        raise SignatureError("signature does not match the body")


# ---------------------------------------------------------------- delivery


@dataclass
class Outcome:
    target: str
    ok: bool
    detail: str


def deliver(target: Target, n: Notification, secret: str, delivery_id: str) -> Outcome:
    """One POST; a 2xx is delivered, anything else (or no answer) is an error worth retrying."""
    body = body_for(target, n, delivery_id)
    try:
        r = httpx.post(
            target.url, content=body, headers=headers_for(target, n, body, secret, delivery_id), timeout=TIMEOUT_S
        )
    except httpx.HTTPError as e:
        return Outcome(str(target), False, f"{type(e).__name__}: {e}")
    if 200 <= r.status_code < 300:
        return Outcome(str(target), True, str(r.status_code))
    return Outcome(str(target), False, f"HTTP {r.status_code}: {r.text[:200]}")


def send_email(settings: Settings, n: Notification) -> Outcome:
    to = [a.strip() for a in settings.notify_email.split(",") if a.strip()]
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"[tubeflow] {n.summary}"[:200]
    msg.set_content(text_of(n) + "\n\n" + json.dumps(n.data, indent=2, ensure_ascii=False, default=str))
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT_S) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as e:
        return Outcome(f"e-mail to {len(to)} recipient(s)", False, f"{type(e).__name__}: {e}")
    return Outcome(f"e-mail to {len(to)} recipient(s)", True, "sent")


def new_delivery_id() -> str:
    return uuid.uuid4().hex
