"""Fetching a URL a client gave us, without letting it reach what it should not.

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
import ipaddress
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from tubeflow.errors import PermanentError
from tubeflow.settings import Settings
from tubeflow.storage import Storage

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(PermanentError):
    """A URL input we will not or could not fetch; ``status_code`` is the HTTP answer for the client."""

    status_code = 400


class FetchRefused(FetchError):
    status_code = 400


class FetchTooLarge(FetchError):
    status_code = 413


class FetchFailed(FetchError):
    """The remote end answered badly or too slowly: the client's URL is the problem, so still 4xx."""

    status_code = 422


@dataclass(frozen=True)
class FetchPolicy:
    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_redirects: int = MAX_REDIRECTS

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        hosts = frozenset(h.strip().lower() for h in settings.fetch_allow_hosts.split(",") if h.strip())
        return cls(allow_hosts=hosts, max_bytes=settings.fetch_max_bytes, timeout_s=settings.fetch_timeout_s)

    def allows(self, host: str, port: int) -> bool:
        host = host.lower()
        return host in self.allow_hosts or f"{host}:{port}" in self.allow_hosts


@dataclass
class FetchedFile:
    key: str
    size: int
    content_type: str
    final_url: str


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address must not be fetched from, or None if it is an ordinary public address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for attr, label in (
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local (cloud metadata lives here)"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
        ("is_unspecified", "unspecified"),
    ):
        if getattr(ip, attr):
            return label
    if not ip.is_global:
        return "not globally routable"
    return None


async def resolve(host: str, port: int) -> list[str]:
    try:
        literal = ipaddress.ip_address(host)
        return [str(literal)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise FetchRefused(f"cannot resolve host {host!r}: {e.strerror}") from e
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_url(url: str, policy: FetchPolicy) -> tuple[str, str, int, str]:
    """Validate one hop; returns (scheme, host, port, address to connect to)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise FetchRefused(f"not a valid URL: {url!r}") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs can be fetched, not {scheme or 'a relative URL'}: {url!r}")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchRefused(f"URL has no host: {url!r}")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials are not accepted; upload the file instead (POST /uploads)")
    port = port or (443 if scheme == "https" else 80)
    addresses = await resolve(host, port)
    if not addresses:
        raise FetchRefused(f"host {host!r} resolves to no address")
    if policy.allows(host, port):
        return scheme, host, port, addresses[0]
    for addr in addresses:
        problem = address_problem(ipaddress.ip_address(addr))
        if problem:
            raise FetchRefused(
                f"refusing to fetch {url!r}: {host} resolves to {addr}, a {problem} address. "
                "Use a public URL, upload the file (POST /uploads), or allow-list the host in "
                "TUBEFLOW_FETCH_ALLOW_HOSTS"
            )
    return scheme, host, port, addresses[0]


def _pinned_request(client: httpx.AsyncClient, url: str, host: str, addr: str) -> httpx.Request:
    """A request to the checked address, with the original Host header and TLS name."""
    parts = urlsplit(url)
    ip = ipaddress.ip_address(addr)
    netloc_host = f"[{addr}]" if ip.version == 6 else addr
    netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = f"{host}:{parts.port}" if parts.port else host
    return client.build_request(
        "GET",
        pinned,
        headers={"Host": host_header, "User-Agent": "tubeflow-fetch/1", "Accept-Encoding": "identity"},
        extensions={"sni_hostname": host},
    )


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
            request = _pinned_request(client, current, host, addr)
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
