"""`tubeflow channel connect|set|show`, `topics`, `calendar` as a person runs them: a real process.

`channel connect --no-browser` prints Google's consent URL; the test plays the person's browser
(already signed in at the fake Google), which redirects to the CLI's loopback server.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import tiny_settings
from tests.fake_youtube import FakeYouTube
from tubeflow.secret_box import new_key


def env_for(tmp_path: Path, fake: FakeYouTube, key: str) -> dict[str, str]:
    client = tmp_path / "client.json"
    client.write_text(json.dumps(fake.client_config("installed")))
    settings = tiny_settings(tmp_path)
    env = dict(os.environ)
    env.update(
        TUBEFLOW_HOME=str(settings.home),
        TUBEFLOW_TEMPORAL_ADDRESS="127.0.0.1:1",  # nothing here needs Temporal
        TUBEFLOW_YOUTUBE_CLIENT_SECRETS=str(client),
        TUBEFLOW_YOUTUBE_BASE_URL=fake.base_url,
        TUBEFLOW_SECRET_KEY=key,
        TUBEFLOW_OAUTH_ALLOW_LOOPBACK_HTTP="1",  # the fake Google speaks plain HTTP on 127.0.0.1
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    env.pop("OAUTHLIB_INSECURE_TRANSPORT", None)  # the setting above is what allows it
    return env


def tubeflow(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=120)


async def connect(env: dict[str, str], channel: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli", "channel", "connect", channel, "--no-browser",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    url = ""
    while not url:
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line, "the CLI ended before printing the consent URL"
        if line.startswith("http"):
            url = line.strip()
    assert "code_challenge_method=S256" in url and "state=" in url and "redirect_uri=http%3A%2F%2F127.0.0.1" in url
    await asyncio.to_thread(httpx.get, url, follow_redirects=True, timeout=30)  # consent, back to the loopback
    out, errs = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), errs.decode()


async def test_connect_set_show_topics_calendar_through_the_cli(tmp_path: Path) -> None:
    with FakeYouTube() as fake:
        fake.add_account("sky", "Sky Facts")
        fake.consent_as = "sky"
        env = env_for(tmp_path, fake, new_key())
        assert tubeflow(env, "channel", "add", "sky", "--niche", "science").returncode == 0

        no_key = {**env, "TUBEFLOW_SECRET_KEY": ""}
        r = tubeflow(no_key, "channel", "connect", "sky", "--no-browser")
        assert r.returncode == 2 and "TUBEFLOW_SECRET_KEY is not set" in r.stderr

        code, out, errs = await connect(env, "sky")
        assert code == 0, errs
        assert "Sky Facts" in out and fake.accounts["sky"].channel_id in out
        # No Temporal here: the analytics schedule is left to the main worker's start, and it says so.
        assert "analytics collection starts when a main worker starts" in out

        r = tubeflow(env, "channel", "set", "sky", "privacy=secret")
        assert r.returncode == 2 and "privacy='secret'" in r.stderr
        r = tubeflow(
            env, "channel", "set", "sky", "publish_slots=tue 09:30", "timezone=Europe/Lisbon", "privacy=public"
        )
        assert r.returncode == 0, r.stderr
        shown = json.loads(tubeflow(env, "channel", "show", "sky", "--json").stdout)
        assert shown["settings"]["publish_slots"] == ["tue 09:30"] and shown["settings"]["privacy"] == "public"
        assert shown["youtube"]["youtube_title"] == "Sky Facts" and shown["youtube"]["status"] == "connected"
        assert fake.accounts["sky"].refresh_token not in json.dumps(shown)

        # Disconnect forgets the credentials; with Temporal down the schedule is left to the main worker.
        r = tubeflow(env, "channel", "disconnect", "sky")
        assert r.returncode == 0, r.stderr
        assert "disconnected from YouTube channel Sky Facts" in r.stdout and "credentials are deleted" in r.stdout
        assert "left for the main worker to remove" in r.stdout
        assert json.loads(tubeflow(env, "channel", "show", "sky", "--json").stdout)["youtube"] is None
        assert "no YouTube account was connected" in tubeflow(env, "channel", "disconnect", "sky").stdout
        code, out, errs = await connect(env, "sky")  # and it connects again
        assert code == 0 and "Sky Facts" in out, errs

        assert tubeflow(env, "topics", "add", "sky", "Why do stars twinkle?").returncode == 0
        assert "Why do stars twinkle?" in tubeflow(env, "topics", "list", "sky").stdout
        assert json.loads(tubeflow(env, "calendar", "sky", "--json").stdout) == []
        r = tubeflow(env, "calendar", "--week")
        assert r.returncode == 0 and r.stdout.startswith("nothing was published this week (since "), r.stdout
        assert "nothing is scheduled or published for sky" in tubeflow(env, "calendar", "sky").stdout

        # Temporal is down here: one line saying what to do, not the SDK's transport error.
        for args in (["channel", "pause", "sky"], ["status", "p1", "--script"]):
            r = tubeflow(env, *args)
            assert r.returncode == 2 and r.stderr.splitlines() == [
                "error: cannot connect to Temporal at 127.0.0.1:1 (connection refused); "
                "is the dev server running (`tubeflow dev`)?"
            ], (args, r.stderr)


def test_status_at_the_final_checkpoint_prints_the_metadata_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli.main import _print_status
    from tubeflow.contracts import Checkpoint, ProductionStatus, Stage, State
    from tubeflow.settings import Settings
    from tubeflow.storage import open_storage

    monkeypatch.setenv("TUBEFLOW_HOME", str(tmp_path))
    preview = {"title": "A title", "tags": ["a"], "fixes": ["title: longer than 100 characters; cut at a word to 98"]}
    open_storage(Settings.from_env()).put_text("productions/p9/metadata-preview.json", json.dumps(preview))
    st = ProductionStatus(
        "p9", "sky", "science", "t", Stage.REVIEW_FINAL, State.WAITING, 88.0, checkpoint=Checkpoint.FINAL
    )
    _print_status(st)
    out = capsys.readouterr().out
    assert "on YouTube: A title" in out and "cut at a word to 98" in out


def test_temporal_down_is_one_line_with_the_fix() -> None:
    from cli.context import temporal_down

    raw = (
        "cannot connect to Temporal at temporal:7233: Failed client connect: Server connection error: "
        'tonic::transport::Error(Transport, ConnectError(ConnectError("dns error", Custom { kind: Uncategorized, '
        'error: "failed to lookup address information: Name or service not known" })))'
    )
    assert temporal_down(raw) == (
        "cannot connect to Temporal at temporal:7233 (failed to lookup address information: name or service not "
        "known); is the dev server running (`tubeflow dev`)?"
    )
    assert temporal_down("cannot connect to Temporal at h:1: odd") == (
        "cannot connect to Temporal at h:1; is the dev server running (`tubeflow dev`)?"
    )
