"""OAuth to a plain-http endpoint: allowed only on loopback, only with TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP.

Issue 24 item 8: connecting through a local proxy or a test fake failed with oauthlib's
InsecureTransportError and nothing said what to do.  The real flows run against the fake
Google in tests/test_channel_accounts.py, test_api_channels.py and test_cli_channels.py, all
with this setting and without OAUTHLIB_INSECURE_TRANSPORT; here, the rule itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from activities.youtube_connect import WebConnector, oauth_transport, plain_http_endpoints
from tests.conftest import tiny_settings
from tests.fake_youtube import FakeYouTube
from tubeflow.errors import ConfigError
from tubeflow.secret_box import new_key
from tubeflow.settings import Settings

VAR = "OAUTHLIB_INSECURE_TRANSPORT"


def client(auth: str, token: str) -> dict[str, Any]:
    return {"web": {"client_id": "c", "client_secret": "s", "auth_uri": auth, "token_uri": token}}


@pytest.fixture(autouse=True)
def no_process_wide_switch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(VAR, raising=False)
    yield


@pytest.fixture
def allowed(tmp_path: Path) -> Settings:
    return tiny_settings(tmp_path, oauth_allow_loopback_http=True)


def test_the_setting_is_read_from_its_variable() -> None:
    assert Settings.from_env({"TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP": "1"}).oauth_allow_loopback_http is True
    assert Settings.from_env({}).oauth_allow_loopback_http is False


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "127.1.2.3", "[::1]:9", "localhost:8", "auth.localhost"])
def test_loopback_http_is_refused_without_the_setting_and_allowed_with_it(
    host: str, tmp_path: Path, allowed: Settings
) -> None:
    config = client(f"http://{host}/auth", "https://oauth2.googleapis.com/token")
    with pytest.raises(ConfigError, match="TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP=1"):
        plain_http_endpoints(tiny_settings(tmp_path), config)
    assert plain_http_endpoints(allowed, config) == [f"http://{host}/auth"]


@pytest.mark.parametrize("host", ["example.com", "10.0.0.5", "192.168.1.2:8080", "127.0.0.1.example.com"])
def test_plain_http_to_another_machine_is_refused_even_with_the_setting(host: str, allowed: Settings) -> None:
    with pytest.raises(ConfigError, match="not this machine"):
        plain_http_endpoints(allowed, client("https://accounts.google.com/auth", f"http://{host}/token"))
    with pytest.raises(ConfigError, match="not this machine"), oauth_transport(allowed, client(f"http://{host}/a", "")):
        pass
    assert VAR not in os.environ


def test_oauthlib_may_use_plain_http_only_during_an_allowed_exchange(allowed: Settings) -> None:
    config = client("http://127.0.0.1:1/auth", "http://127.0.0.1:1/token")
    with oauth_transport(allowed, config):
        assert os.environ.get(VAR) == "1"
        with oauth_transport(allowed, config):  # two exchanges at once (the API)
            pass
        assert os.environ.get(VAR) == "1"  # the first one still runs
    assert VAR not in os.environ
    with oauth_transport(allowed, client("https://a.example/auth", "https://a.example/token")):
        assert VAR not in os.environ  # https needs nothing


def test_a_switch_the_operator_set_is_left_alone(allowed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "1")
    with oauth_transport(allowed, client("http://127.0.0.1:1/auth", "http://127.0.0.1:1/token")):
        pass
    assert os.environ.get(VAR) == "1"


def test_the_dashboard_flow_against_a_plain_http_fake(tmp_path: Path) -> None:
    """Without the setting: a message saying what to set (was InsecureTransportError); with it: the URL."""
    with FakeYouTube() as google:
        path = tmp_path / "web.json"
        path.write_text(json.dumps(google.client_config("web", ["http://testserver/oauth/callback"])))
        base = tiny_settings(tmp_path, secret_key=new_key(), youtube_client_secrets=str(path))
        with pytest.raises(ConfigError, match="TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP"):
            WebConnector(base).start("sky", "http://testserver/oauth/callback")
        url = WebConnector(base.with_overrides(oauth_allow_loopback_http=True)).start(
            "sky", "http://testserver/oauth/callback"
        )
        assert url.startswith(f"{google.base_url}/o/oauth2/auth?") and "code_challenge=" in url
        assert VAR not in os.environ
