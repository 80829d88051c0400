"""Temporal over TLS with a client certificate and an API key, through the one connect function.

The dev server has no TLS, so a TLS-terminating gRPC proxy (tests/tls_proxy.py) stands in front
of it, checking the client certificate against a throwaway CA and the ``authorization`` header.
The client, the autoscaler's queue observation and the API's lifespan connect through it; the GPU
worker does too, in tests/test_worker_env.py.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from service.backlog import observe_queue
from service.client import connect
from tests.conftest import tiny_settings
from tests.tls_proxy import make_pki, tls_proxy
from tubeflow.errors import ConfigError, TransientError
from tubeflow.settings import Settings

API_KEY = "tf-test-key-7f3a"


def _target(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def test_client_autoscaler_and_api_connect_with_mtls_and_an_api_key(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    pki = make_pki()
    files = pki.write(tmp_path / "pki")
    async with tls_proxy(_target(temporal_env), pki, api_key=API_KEY) as (address, log):
        s = tiny_settings(
            tmp_path,
            temporal_address=address,
            temporal_namespace=temporal_env.client.namespace,
            temporal_tls_ca=str(files["ca.pem"]),  # a file path ...
            temporal_tls_cert=pki.client.cert.decode().replace("\n", "\\n"),  # ... or PEM text, escaped
            temporal_tls_key=str(files["client.key"]),
            temporal_tls_server_name="temporal.test",  # the name in the certificate, not the IP dialled
            temporal_api_key=API_KEY,
        )
        client = await connect(s)
        obs = await observe_queue(client, s.temporal_namespace, s.gpu_queue)
        assert obs.backlog_count == 0
        assert "GetSystemInfo" in log.methods() and "DescribeTaskQueue" in log.methods()
        assert all(auth == f"Bearer {API_KEY}" for _, auth in log.calls), "every call carries the API key"

        from api.app import create_app
        from tubeflow.db.engine import open_database

        db = await open_database(s)
        app = create_app(s, db=db)
        calls_before = len(log.calls)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                health = (await http.get("/healthz")).json()
        await db.close()
        assert health["temporal"] is True
        assert len(log.calls) > calls_before, "the API connected through the TLS proxy"
        assert log.refused == 0


async def test_wrong_key_missing_client_cert_or_unknown_ca_are_refused(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    pki = make_pki()
    other = make_pki()
    async with tls_proxy(_target(temporal_env), pki, api_key=API_KEY) as (address, log):
        good = Settings(
            temporal_address=address,
            temporal_tls_ca=pki.ca.cert.decode(),
            temporal_tls_cert=pki.client.cert.decode(),
            temporal_tls_key=pki.client.key.decode(),
            temporal_tls_server_name="temporal.test",
            temporal_api_key=API_KEY,
        )
        await connect(good)
        with pytest.raises(TransientError):
            await connect(good.with_overrides(temporal_api_key="wrong"))
        assert log.refused >= 1
        with pytest.raises(TransientError):
            await connect(good.with_overrides(temporal_tls_cert="", temporal_tls_key=""))
        with pytest.raises(TransientError):
            await connect(good.with_overrides(temporal_tls_ca=other.ca.cert.decode()))
        with pytest.raises(ConfigError, match="go together"):
            await connect(good.with_overrides(temporal_tls_key=""))
        with pytest.raises(ConfigError, match="cannot read the PEM file"):
            await connect(good.with_overrides(temporal_tls_ca=str(tmp_path / "missing.pem")))
