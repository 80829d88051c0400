"""Stock pictures and footage: what every stock API client shares, and the shape of a registry entry.

A client searches photos and videos by a visual query and downloads the chosen rendition; errors
are classified for Temporal: a rejected key is permanent (retrying will not fix it), throttling
and server trouble are transient and carry the server's Retry-After.  Base URLs come from
settings so tests talk to local fakes speaking each protocol.  One module per API
(``stock_pexels``, ``stock_pixabay``); ``stock_sources`` is the registry the b-roll planner reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings


@dataclass(frozen=True)
class StockAsset:
    provider_id: str
    kind: str  # image | video
    url: str  # the rendition to download
    width: int
    height: int
    duration_s: float = 0.0
    credit: str = ""  # "Photo by X on Pexels": YouTube descriptions should carry it
    page_url: str = ""
    description: str = ""  # alt text, tags or the page's slug: what the relevance ranking reads

    @property
    def suffix(self) -> str:
        tail = self.url.split("?")[0].rsplit(".", 1)
        ext = tail[1].lower() if len(tail) == 2 and len(tail[1]) <= 4 else ""
        return f".{ext}" if ext else (".mp4" if self.kind == "video" else ".jpg")


def retry_after(resp: httpx.Response) -> float:
    for header in ("Retry-After", "X-Ratelimit-Reset"):
        raw = resp.headers.get(header)
        if raw:
            try:
                value = float(raw)
            except ValueError:
                continue
            # X-Ratelimit-Reset is an epoch timestamp on Pexels; anything huge is not a delay.
            return value if value < 86_400 else 60.0
    return 30.0


class StockApi:
    """One stock API's HTTP client.  Subclasses say where it lives, what a missing key means,
    how its answers are checked and how its search results become :class:`StockAsset`."""

    DEFAULT_BASE_URL = ""
    MISSING_KEY = ""
    LABEL = "stock API"  # how its errors name it
    KEY_REFUSED = ""  # what to do when it refuses the key

    def __init__(self, api_key: str, base_url: str = "", timeout_s: float = 30.0, http: httpx.Client | None = None):
        if not api_key:
            raise ConfigError(self.MISSING_KEY)
        self.base_url = (base_url or self.DEFAULT_BASE_URL).rstrip("/")
        self.http = http or httpx.Client(timeout=timeout_s, follow_redirects=True)
        self.api_key = api_key

    def close(self) -> None:
        self.http.close()

    def get_json(self, path: str, what: str, params: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        """One search request, its answer checked and parsed; unreachable or garbled is transient."""
        try:
            resp = self.http.get(f"{self.base_url}{path}", params=params, headers=headers)
        except httpx.TransportError as e:
            raise TransientError(f"{self.LABEL} unreachable at {self.base_url} ({e.__class__.__name__}: {e})") from e
        self.check(resp, what)
        try:
            return resp.json()
        except ValueError as e:
            raise TransientError(f"{self.LABEL} sent a non-JSON answer to {what}") from e

    def refuses_key(self, resp: httpx.Response) -> bool:
        return resp.status_code in (401, 403)

    def check(self, resp: httpx.Response, what: str) -> None:
        """A refused key or a bad request is permanent; throttling and server trouble are transient."""
        code, label = resp.status_code, self.LABEL
        if self.refuses_key(resp):
            raise PermanentError(f"{label} refused {what} ({code}): {self.KEY_REFUSED}")
        if code == 429:
            raise TransientError(f"{label} rate limit reached during {what} (429)", retry_after_s=retry_after(resp))
        if code >= 500:
            raise TransientError(f"{label} server error {code} during {what}", retry_after_s=10.0)
        if code >= 400:
            raise PermanentError(f"{label} rejected {what} ({code}): {resp.text[:200]}")

    def search_photos(self, query: str, per_page: int = 5, min_width: int = 0) -> list[StockAsset]:
        raise NotImplementedError

    def search_videos(self, query: str, per_page: int = 5, target_width: int = 1920) -> list[StockAsset]:
        raise NotImplementedError

    def download(self, asset: StockAsset, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".part-{dest.name}")
        try:
            with self.http.stream("GET", asset.url) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    self.check(resp, f"download of {asset.provider_id}")
                with tmp.open("wb") as fh:
                    for chunk in resp.iter_bytes(1 << 16):
                        fh.write(chunk)
        except httpx.TransportError as e:
            tmp.unlink(missing_ok=True)
            raise TransientError(f"stock download of {asset.provider_id} failed ({e.__class__.__name__})") from e
        tmp.replace(dest)
        return dest


@dataclass(frozen=True)
class StockProvider:
    """One entry of the registry (``activities.stock_sources``)."""

    name: str  # the plan's source name and storage folder: stored plans spell it, so it never changes
    choice: str  # the TUBEFLOW_BROLL value that asks for it
    key_env: str  # the setting holding its API key, and how to get one
    key_hint: str
    api_key: Callable[[Settings], str]
    client: Callable[[Settings], StockApi]
    aliases: tuple[str, ...] = ()  # other names a niche's broll_sources may call it

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.name, self.choice, *self.aliases)))
