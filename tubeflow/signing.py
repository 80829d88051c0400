"""Signed webhook bodies: what a receiver checks to know a callback really came from tubeflow.

Scheme (README, "Callbacks"): the header ``X-Tubeflow-Signature: t=<unix seconds>,v1=<hex>``
where ``hex = HMAC-SHA256(secret, "<t>." + body)``.  The timestamp inside the MAC lets a
receiver refuse replays older than a few minutes; comparing in constant time keeps the MAC from
leaking byte by byte.  Each API key gets its own secret, derived from ``TUBEFLOW_SECRET_KEY`` and
the key's id (nothing to store, and one client cannot forge callbacks to another's receiver).
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Tubeflow-Signature"
TOLERANCE_S = 300


def key_secret(secret_key: str, api_key_id: str) -> str:
    """The callback signing secret of one API key (hex), derived from the deployment's secret."""
    if not secret_key:
        raise ValueError("callbacks are signed with a secret derived from TUBEFLOW_SECRET_KEY, which is not set")
    return hmac.new(secret_key.encode(), f"tubeflow-callback:{api_key_id}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes, t: int | None = None) -> str:
    """The header value for ``body`` signed now (or at ``t``)."""
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: float | None = None, tolerance_s: int = TOLERANCE_S) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance_s`` old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    t, mac = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or not mac:
        return False
    if abs((time.time() if now is None else now) - int(t)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, body, int(t)), f"t={t},v1={mac}")
