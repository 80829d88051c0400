"""Pixabay (photos and videos; the key is a query parameter)."""

from __future__ import annotations

from typing import Any

import httpx

from activities.stock import StockApi, StockAsset, StockProvider
from tubeflow.settings import Settings

PIXABAY_BASE_URL = "https://pixabay.com"


class PixabayClient(StockApi):
    """Pixabay's image and video search (the key is a query parameter)."""

    RENDITIONS = ("large", "medium", "small", "tiny")
    DEFAULT_BASE_URL = PIXABAY_BASE_URL
    MISSING_KEY = "Pixabay b-roll needs TUBEFLOW_PIXABAY_API_KEY"
    LABEL = "Pixabay"
    KEY_REFUSED = "TUBEFLOW_PIXABAY_API_KEY is missing or wrong; get a key at https://pixabay.com/api/docs/ and set it"

    @classmethod
    def from_settings(cls, settings: Settings) -> PixabayClient:
        return cls(settings.pixabay_api_key, settings.pixabay_base_url)

    def refuses_key(self, resp: httpx.Response) -> bool:
        """Pixabay answers a bad key with 400 "[ERROR 400] Invalid or missing API key" (not 401)."""
        return resp.status_code in (400, 401, 403) and "key" in resp.text.lower()

    def _get(self, path: str, query: str, per_page: int, what: str, **extra: Any) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"key": self.api_key, "q": query[:100], "per_page": max(3, min(200, per_page))}
        params["safesearch"] = "true"
        data = self.get_json(path, what, {**params, **extra})
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


PROVIDER = StockProvider(
    name="pixabay",
    choice="pixabay",
    key_env="TUBEFLOW_PIXABAY_API_KEY",
    key_hint="a Pixabay API key",
    api_key=lambda s: s.pixabay_api_key,
    client=PixabayClient.from_settings,
)
