"""Channels with Shorts published on the fake TikTok and the fake Instagram, for the platform
analytics tests: accounts stored as the connectors store them (a sealed token), each Short's post
row as cross-posting leaves it (published, with the platform's post id)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from activities.platform_api import PlatformToken
from tests.fake_instagram import LONG_LIVED_S, FakeInstagram
from tests.fake_tiktok import FakeTikTok
from tubeflow.db import platform_repo, repo
from tubeflow.db.engine import Database
from tubeflow.db.repo import NotFoundError
from tubeflow.secret_box import SecretBox
from tubeflow.settings import Settings


def platform_settings(settings: Settings, tt: FakeTikTok, ig: FakeInstagram) -> Settings:
    return settings.with_overrides(
        tiktok_client_key=tt.client_key, tiktok_client_secret=tt.client_secret, tiktok_base_url=tt.base_url,
        tiktok_auth_url=tt.auth_url, facebook_app_id=ig.app_id, facebook_app_secret=ig.app_secret,
        instagram_graph_url=ig.graph_url, instagram_upload_url=ig.upload_url, facebook_auth_url=ig.auth_url,
    )  # fmt: skip


def tiktok_token(tt: FakeTikTok, account: str = "default", expires_in: float = 86400) -> PlatformToken:
    acc = tt.accounts[account]
    return PlatformToken(
        access_token=tt.issue_token(account),
        refresh_token=acc.refresh_token,
        expires_at=time.time() + expires_in,
        refresh_expires_at=time.time() + 300 * 86400,
        account_id=acc.open_id,
        account_name=f"@{acc.username}",
    )


def instagram_token(ig: FakeInstagram) -> PlatformToken:
    page = ig.account()
    return PlatformToken(
        access_token=ig.issue_token(),
        expires_at=time.time() + LONG_LIVED_S,
        account_id=page.ig_id,
        account_name=page.username,
    )


async def store_account(settings: Settings, db: Database, channel: str, platform: str, token: PlatformToken) -> None:
    sealed = SecretBox.from_settings(settings).seal(token.to_json())
    expires = datetime.fromtimestamp(token.expires_at, UTC)
    await platform_repo.save_account(db, channel, platform, sealed, token.account_id, token.account_name, expires)


async def published_short(
    db: Database, channel: str, pid: str, platform: str, idx: int, post_id: str, url: str = "", title: str = ""
) -> None:
    """The Short ``idx`` of production ``pid`` as cross-posting leaves it on ``platform``."""
    try:
        await repo.get_production(db, pid)
    except NotFoundError:
        await repo.create_production(db, channel, title or pid, production_id=pid)
    await platform_repo.reserve_post(db, channel, pid, platform, idx, after=None)
    await platform_repo.update_post(
        db, pid, platform, idx, status="published", post_id=post_id, location=url, posted_at=datetime.now(UTC)
    )
