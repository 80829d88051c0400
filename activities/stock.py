"""Stock footage client for a Pexels-style REST API (photos and videos search, then download).

Only what the b-roll planner needs: search by cue, pick a landscape rendition close to the plan
size, download it.  Errors are classified for Temporal: a rejected key is permanent (retrying
will not fix it), throttling and server trouble are transient and carry the server's Retry-After.
The base URL comes from settings so tests talk to a local fake speaking the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tubeflow.errors import ConfigError, PermanentError, TransientError
from tubeflow.settings import Settings

DEFAULT_BASE_URL = "https://api.pexels.com"


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


def slug_words(url: str) -> str:
    """Pexels pages are named for what they show: ".../video/rainbow-over-a-lake-857195/" -> "rainbow over a lake"."""
    path = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    words = [w for w in path.split("-") if w and not w.isdigit()]
    return " ".join(words)


def _retry_after(resp: httpx.Response) -> float:
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


def check_response(resp: httpx.Response, what: str) -> None:
    if resp.status_code in (401, 403):
        raise PermanentError(
            f"stock API refused {what} ({resp.status_code}): TUBEFLOW_STOCK_API_KEY is missing, wrong or revoked; "
            "get a key at https://www.pexels.com/api/ and set it"
        )
    if resp.status_code == 429:
        raise TransientError(f"stock API rate limit reached during {what} (429)", retry_after_s=_retry_after(resp))
    if resp.status_code >= 500:
        raise TransientError(f"stock API server error {resp.status_code} during {what}", retry_after_s=10.0)
    if resp.status_code >= 400:
        raise PermanentError(f"stock API rejected {what} ({resp.status_code}): {resp.text[:200]}")


class StockClient:
    def __init__(self, api_key: str, base_url: str = "", timeout_s: float = 30.0, http: httpx.Client | None = None):
        if not api_key:
            raise ConfigError("stock b-roll needs TUBEFLOW_STOCK_API_KEY (a Pexels API key)")
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.http = http or httpx.Client(timeout=timeout_s, follow_redirects=True)
        self.api_key = api_key

    @classmethod
    def from_settings(cls, settings: Settings) -> StockClient:
        return cls(settings.stock_api_key, settings.stock_base_url)

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        try:
            resp = self.http.get(f"{self.base_url}{path}", params=params, headers={"Authorization": self.api_key})
        except httpx.TransportError as e:
            raise TransientError(f"stock API unreachable at {self.base_url} ({e.__class__.__name__}: {e})") from e
        check_response(resp, what)
        try:
            data = resp.json()
        except ValueError as e:
            raise TransientError(f"stock API sent a non-JSON answer to {what}") from e
        if not isinstance(data, dict):
            raise TransientError(f"stock API sent an unexpected answer to {what}")
        return data

    def search_photos(self, query: str, per_page: int = 5, min_width: int = 0) -> list[StockAsset]:
        data = self._get(
            "/v1/search",
            {"query": query, "per_page": per_page, "orientation": "landscape"},
            f"photo search {query!r}",
        )
        out = []
        for p in data.get("photos") or []:
            src = p.get("src") or {}
            url = src.get("large2x") if min_width > 940 else src.get("large")
            url = url or src.get("original") or src.get("landscape")
            if not url:
                continue
            name = p.get("photographer") or "unknown"
            out.append(
                StockAsset(
                    provider_id=str(p.get("id")),
                    kind="image",
                    url=url,
                    width=int(p.get("width") or 0),
                    height=int(p.get("height") or 0),
                    credit=f"Photo by {name} on Pexels",
                    page_url=str(p.get("url") or ""),
                    description=str(p.get("alt") or "") or slug_words(str(p.get("url") or "")),
                )
            )
        return out

    def search_videos(self, query: str, per_page: int = 5, target_width: int = 1920) -> list[StockAsset]:
        data = self._get(
            "/videos/search",
            {"query": query, "per_page": per_page, "orientation": "landscape"},
            f"video search {query!r}",
        )
        out = []
        for v in data.get("videos") or []:
            files = [f for f in v.get("video_files") or [] if f.get("link") and (f.get("width") or 0) > 0]
            if not files:
                continue
            # The smallest rendition at least as wide as the output, else the widest one.
            wide = [f for f in files if f["width"] >= target_width]
            best = min(wide, key=lambda f: f["width"]) if wide else max(files, key=lambda f: f["width"])
            user = (v.get("user") or {}).get("name") or "unknown"
            out.append(
                StockAsset(
                    provider_id=str(v.get("id")),
                    kind="video",
                    url=best["link"],
                    width=int(best["width"]),
                    height=int(best.get("height") or 0),
                    duration_s=float(v.get("duration") or 0),
                    credit=f"Video by {user} on Pexels",
                    page_url=str(v.get("url") or ""),
                    description=slug_words(str(v.get("url") or "")),
                )
            )
        return out

    def download(self, asset: StockAsset, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".part-{dest.name}")
        try:
            with self.http.stream("GET", asset.url) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    check_response(resp, f"download of {asset.provider_id}")
                with tmp.open("wb") as fh:
                    for chunk in resp.iter_bytes(1 << 16):
                        fh.write(chunk)
        except httpx.TransportError as e:
            tmp.unlink(missing_ok=True)
            raise TransientError(f"stock download of {asset.provider_id} failed ({e.__class__.__name__})") from e
        tmp.replace(dest)
        return dest


# ---------------------------------------------------------------- Pixabay

PIXABAY_BASE_URL = "https://pixabay.com"


def check_pixabay(resp: httpx.Response, what: str) -> None:
    """Pixabay answers a bad key with 400 "[ERROR 400] Invalid or missing API key" (not 401)."""
    if resp.status_code in (400, 401, 403) and "key" in resp.text.lower():
        raise PermanentError(
            f"Pixabay refused {what} ({resp.status_code}): TUBEFLOW_PIXABAY_API_KEY is missing or wrong; "
            "get a key at https://pixabay.com/api/docs/ and set it"
        )
    if resp.status_code == 429:
        raise TransientError(f"Pixabay rate limit reached during {what} (429)", retry_after_s=_retry_after(resp))
    if resp.status_code >= 500:
        raise TransientError(f"Pixabay server error {resp.status_code} during {what}", retry_after_s=10.0)
    if resp.status_code >= 400:
        raise PermanentError(f"Pixabay rejected {what} ({resp.status_code}): {resp.text[:200]}")


class PixabayClient:
    """Pixabay's image and video search (the key is a query parameter), same surface as StockClient."""

    RENDITIONS = ("large", "medium", "small", "tiny")

    def __init__(self, api_key: str, base_url: str = "", timeout_s: float = 30.0, http: httpx.Client | None = None):
        if not api_key:
            raise ConfigError("Pixabay b-roll needs TUBEFLOW_PIXABAY_API_KEY")
        self.base_url = (base_url or PIXABAY_BASE_URL).rstrip("/")
        self.http = http or httpx.Client(timeout=timeout_s, follow_redirects=True)
        self.api_key = api_key

    @classmethod
    def from_settings(cls, settings: Settings) -> PixabayClient:
        return cls(settings.pixabay_api_key, settings.pixabay_base_url)

    def _get(self, path: str, query: str, per_page: int, what: str, **extra: Any) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"key": self.api_key, "q": query[:100], "per_page": max(3, min(200, per_page))}
        params["safesearch"] = "true"
        try:
            resp = self.http.get(f"{self.base_url}{path}", params={**params, **extra})
        except httpx.TransportError as e:
            raise TransientError(f"Pixabay unreachable at {self.base_url} ({e.__class__.__name__}: {e})") from e
        check_pixabay(resp, what)
        try:
            data = resp.json()
        except ValueError as e:
            raise TransientError(f"Pixabay sent a non-JSON answer to {what}") from e
        hits = data.get("hits") if isinstance(data, dict) else None
        return [h for h in hits or [] if isinstance(h, dict)]

    def search_photos(self, query: str, per_page: int = 5, min_width: int = 0) -> list[StockAsset]:
        out = []
        for h in self._get("/api/", query, per_page, f"photo search {query!r}", image_type="photo",
                           orientation="horizontal"):  # fmt: skip
            url = h.get("largeImageURL") if min_width > 640 else h.get("webformatURL")
            url = url or h.get("largeImageURL") or h.get("webformatURL")
            if not url:
                continue
            out.append(
                StockAsset(
                    provider_id=str(h.get("id")),
                    kind="image",
                    url=str(url),
                    width=int(h.get("imageWidth") or 0),
                    height=int(h.get("imageHeight") or 0),
                    credit=f"Image by {h.get('user') or 'unknown'} on Pixabay",
                    page_url=str(h.get("pageURL") or ""),
                    description=str(h.get("tags") or ""),
                )
            )
        return out[:per_page]

    def search_videos(self, query: str, per_page: int = 5, target_width: int = 1920) -> list[StockAsset]:
        out = []
        for h in self._get("/api/videos/", query, per_page, f"video search {query!r}"):
            files = [f for f in ((h.get("videos") or {}).get(r) or {} for r in self.RENDITIONS) if f.get("url")]
            files = [f for f in files if int(f.get("width") or 0) > 0]
            if not files:
                continue
            wide = [f for f in files if int(f["width"]) >= target_width]
            best = min(wide, key=lambda f: int(f["width"])) if wide else max(files, key=lambda f: int(f["width"]))
            out.append(
                StockAsset(
                    provider_id=str(h.get("id")),
                    kind="video",
                    url=str(best["url"]),
                    width=int(best["width"]),
                    height=int(best.get("height") or 0),
                    duration_s=float(h.get("duration") or 0),
                    credit=f"Video by {h.get('user') or 'unknown'} on Pixabay",
                    page_url=str(h.get("pageURL") or ""),
                    description=str(h.get("tags") or ""),
                )
            )
        return out[:per_page]

    def download(self, asset: StockAsset, dest: Path) -> Path:
        return StockClient.download(self, asset, dest)  # type: ignore[arg-type]  # same streaming download
