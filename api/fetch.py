"""Fetching a URL a client gave us, without letting it reach what it should not.

(The checks themselves live in :mod:`tubeflow.net_guard`, shared with the job callbacks; their
names are re-exported here.)

The video API accepts ``url_video``/``url_image``/... inputs.  A naive fetch is a server-side
request forgery hole: ``http://169.254.169.254/`` (cloud metadata), ``http://localhost:7233``
(Temporal), a private database.  So every hop is checked the same way: http(s) only, the host
resolved here and *every* address it resolves to must be public (unless the host is allow-listed
in ``TUBEFLOW_FETCH_ALLOW_HOSTS``), and the connection goes to the address we checked (no second
DNS lookup an attacker could answer differently).  Redirects are followed by hand so each hop is
re-checked.  Size is limited by Content-Length and by counting streamed bytes; time by one
deadline for the whole fetch.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from tubeflow.net_guard import DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES
from tubeflow.net_guard import DEFAULT_TIMEOUT_S as DEFAULT_TIMEOUT_S
from tubeflow.net_guard import MAX_REDIRECTS as MAX_REDIRECTS
from tubeflow.net_guard import FetchError as FetchError
from tubeflow.net_guard import FetchFailed as FetchFailed
from tubeflow.net_guard import FetchPolicy as FetchPolicy
from tubeflow.net_guard import FetchRefused as FetchRefused
from tubeflow.net_guard import FetchTooLarge as FetchTooLarge
from tubeflow.net_guard import address_problem as address_problem
from tubeflow.net_guard import check_url as check_url
from tubeflow.net_guard import pinned_request
from tubeflow.net_guard import resolve as resolve
from tubeflow.storage import Storage

REDIRECTS = {301, 302, 303, 307, 308}


@dataclass
class FetchedFile:
    key: str
    size: int
    content_type: str
    final_url: str


async def fetch_to_storage(url: str, storage: Storage, key: str, policy: FetchPolicy) -> FetchedFile:
    """Download ``url`` under the policy and store it at ``key``; raises a :class:`FetchError`."""
    try:
        async with asyncio.timeout(policy.timeout_s):
            return await _fetch(url, storage, key, policy)
    except TimeoutError as e:
        raise FetchFailed(f"fetching {url!r} took longer than {policy.timeout_s:g} s") from e


async def _fetch(url: str, storage: Storage, key: str, policy: FetchPolicy) -> FetchedFile:
    current = url
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False, timeout=policy.timeout_s) as client:
        for _hop in range(policy.max_redirects + 1):
            _scheme, host, _port, addr = await check_url(current, policy)
            request = pinned_request(client, current, host, addr)
            try:
                response = await client.send(request, stream=True)
            except httpx.HTTPError as e:
                raise FetchFailed(f"could not fetch {current!r}: {type(e).__name__}: {e}") from e
            try:
                if response.status_code in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise FetchFailed(f"{current!r} redirected without a Location header")
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise FetchFailed(f"{current!r} answered HTTP {response.status_code}; expected 200")
                return await _store(response, current, storage, key, policy)
            finally:
                await response.aclose()
    raise FetchFailed(f"{url!r} redirected more than {policy.max_redirects} times")


async def _store(response: httpx.Response, url: str, storage: Storage, key: str, policy: FetchPolicy) -> FetchedFile:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchTooLarge(f"{url!r} is {int(declared)} bytes; the limit is {policy.max_bytes} bytes")
    size = 0
    with tempfile.TemporaryDirectory(prefix="tubeflow-fetch-") as tmp:
        path = Path(tmp) / "body"
        with path.open("wb") as out:
            async for chunk in response.aiter_raw():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise FetchTooLarge(f"{url!r} sent more than the limit of {policy.max_bytes} bytes")
                out.write(chunk)
        content_type = response.headers.get("content-type", "application/octet-stream").split(";")[0].strip()
        await asyncio.to_thread(storage.put_file, key, path, content_type)
    return FetchedFile(key=key, size=size, content_type=content_type, final_url=url)
