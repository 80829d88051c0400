"""Reaching a URL a client gave us, without letting it reach what it should not.

Shared by the API's input fetcher (:mod:`api.fetch`) and the job callbacks
(:mod:`activities.callbacks`): http(s) only, the host resolved here and *every* address it
resolves to must be public (unless the host is allow-listed in ``TUBEFLOW_FETCH_ALLOW_HOSTS``),
and the connection goes to the address we checked (no second DNS lookup an attacker could answer
differently).  A caller that follows redirects checks every hop with :func:`check_url` again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from tubeflow.errors import PermanentError
from tubeflow.settings import Settings

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


def pinned_request(
    client: httpx.AsyncClient,
    url: str,
    host: str,
    addr: str,
    method: str = "GET",
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Request:
    """A request to the checked address, with the original Host header and TLS name."""
    parts = urlsplit(url)
    ip = ipaddress.ip_address(addr)
    netloc_host = f"[{addr}]" if ip.version == 6 else addr
    netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
    pinned = parts._replace(netloc=netloc).geturl()
    host_header = f"{host}:{parts.port}" if parts.port else host
    base = {"Host": host_header, "User-Agent": "tubeflow-fetch/1", "Accept-Encoding": "identity"}
    return client.build_request(
        method, pinned, headers={**base, **(headers or {})}, content=content, extensions={"sni_hostname": host}
    )
