"""Delivering a video job's completion callback: a signed POST to the client's URL.

The URL passes the same SSRF rules as the API's input fetches (:mod:`tubeflow.net_guard`:
public addresses only unless allow-listed, connection pinned to the checked address, no
redirects followed: a redirect is an answer, not a new destination).  A 5xx, 408, 429 or a
network error is transient (the workflow retries with backoff); another 4xx or a refused URL is
permanent (retrying cannot help).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tubeflow.activity_defs import VIDEO_JOB_CALLBACK, implements
from tubeflow.activity_errors import permanent_errors
from tubeflow.errors import PermanentError, TransientError
from tubeflow.job_contracts import CallbackRequest
from tubeflow.net_guard import FetchError, FetchPolicy, check_url, pinned_request
from tubeflow.settings import Settings
from tubeflow.signing import HEADER, key_secret, signature

TIMEOUT_S = 10.0


async def deliver(req: CallbackRequest, settings: Settings) -> int:
    """POST the body, signed with the key's secret; the receiver's HTTP status."""
    policy = FetchPolicy.from_settings(settings)
    try:
        _scheme, host, _port, addr = await check_url(req.url, policy)
    except FetchError as e:
        raise PermanentError(f"callback URL refused: {e}") from e
    body = req.body.encode()
    headers = {
        "Content-Type": "application/json",
        HEADER: signature(key_secret(settings.secret_key, req.api_key_id), body),
        "X-Tubeflow-Event": req.event,
        "X-Tubeflow-Delivery": req.delivery_id,
    }
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=TIMEOUT_S) as client:
        request = pinned_request(client, req.url, host, addr, "POST", body, headers)
        try:
            response = await client.send(request)
        except httpx.HTTPError as e:
            raise TransientError(f"callback to {req.url!r} failed: {type(e).__name__}: {e}") from e
    code = response.status_code
    if 200 <= code < 300:
        return code
    if code >= 500 or code in (408, 429):
        raise TransientError(f"callback to {req.url!r} answered HTTP {code}; retrying")
    raise PermanentError(f"callback to {req.url!r} answered HTTP {code}; not retried")


class CallbackActivities:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def all(self) -> list[Callable[..., Any]]:
        return [self.video_job_callback]

    @implements(VIDEO_JOB_CALLBACK)
    @permanent_errors
    async def video_job_callback(self, req: CallbackRequest) -> int:
        return await deliver(req, self.settings)
