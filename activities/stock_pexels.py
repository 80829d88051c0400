"""Pexels (photos and videos search, then download): the stock source called "stock" in plans."""

from __future__ import annotations

from typing import Any

from activities.stock import StockApi, StockAsset, StockProvider
from tubeflow.errors import TransientError
from tubeflow.settings import Settings

DEFAULT_BASE_URL = "https://api.pexels.com"


def slug_words(url: str) -> str:
    """Pexels pages are named for what they show: ".../video/rainbow-over-a-lake-857195/" -> "rainbow over a lake"."""
    path = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    words = [w for w in path.split("-") if w and not w.isdigit()]
    return " ".join(words)


class PexelsClient(StockApi):
    DEFAULT_BASE_URL = DEFAULT_BASE_URL
    MISSING_KEY = "stock b-roll needs TUBEFLOW_STOCK_API_KEY (a Pexels API key)"
    KEY_REFUSED = (
        "TUBEFLOW_STOCK_API_KEY is missing, wrong or revoked; get a key at https://www.pexels.com/api/ and set it"
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> PexelsClient:
        return cls(settings.stock_api_key, settings.stock_base_url)

    def _get(self, path: str, params: dict[str, Any], what: str) -> dict[str, Any]:
        data = self.get_json(path, what, params, headers={"Authorization": self.api_key})
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


PROVIDER = StockProvider(
    name="stock",
    choice="pexels",
    key_env="TUBEFLOW_STOCK_API_KEY",
    key_hint="a Pexels API key",
    api_key=lambda s: s.stock_api_key,
    client=PexelsClient.from_settings,
)
