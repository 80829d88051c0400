"""A TLS-terminating gRPC proxy in front of the test's Temporal dev server, which has no TLS itself.

The pip-installed ``temporal server start-dev`` has no TLS options, so the tests put this in front
of it: TLS with a throwaway CA (optionally requiring a client certificate, as a mTLS cluster does)
and an ``authorization: Bearer <key>`` check, as Temporal Cloud does with API keys.  Every call is
forwarded byte for byte to the dev server, so the production client code talks to it unchanged.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]  # grpcio ships no type information
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

_HOP = {"user-agent", "te", "content-type", "grpc-accept-encoding", "grpc-timeout", "grpc-encoding", "authorization"}


@dataclass
class Pem:
    cert: bytes
    key: bytes


@dataclass
class TestPki:
    ca: Pem
    server: Pem
    client: Pem

    def write(self, folder: Path) -> dict[str, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        out = {}
        for name, data in (
            ("ca.pem", self.ca.cert),
            ("client.pem", self.client.cert),
            ("client.key", self.client.key),
        ):
            (folder / name).write_bytes(data)
            out[name] = folder / name
        return out


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_pki(server_names: tuple[str, ...] = ("temporal.test", "localhost")) -> TestPki:
    """A CA, a server certificate for ``server_names`` and 127.0.0.1, and a client certificate."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tubeflow test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )  # digital signature, cert sign, crl sign
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(cn: str, server: bool) -> Pem:
        key = _key()
        b = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if server:
            sans: list[x509.GeneralName] = [x509.DNSName(n) for n in server_names]
            sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = b.sign(ca_key, hashes.SHA256())
        return Pem(cert.public_bytes(serialization.Encoding.PEM), _pem_key(key))

    return TestPki(
        ca=Pem(ca_cert.public_bytes(serialization.Encoding.PEM), _pem_key(ca_key)),
        server=leaf(server_names[0], True),
        client=leaf("tubeflow-worker", False),
    )


@dataclass
class ProxyLog:
    """What went through: (method, authorization header) per call, refusals counted."""

    calls: list[tuple[str, str]] = field(default_factory=list)
    refused: int = 0

    def methods(self) -> set[str]:
        return {m.rsplit("/", 1)[-1] for m, _ in self.calls}


class _Forward(grpc.GenericRpcHandler):  # type: ignore[misc]  # grpc is untyped (Any)
    def __init__(self, channel: grpc.aio.Channel, api_key: str | None, log: ProxyLog) -> None:
        self.channel = channel
        self.api_key = api_key
        self.log = log

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler:
        method = handler_call_details.method

        async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            md = tuple(context.invocation_metadata() or ())
            auth = next((str(v) for k, v in md if k == "authorization"), "")
            self.log.calls.append((method, auth))
            if self.api_key is not None and auth != f"Bearer {self.api_key}":
                self.log.refused += 1
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "API key missing or wrong")
            forward = tuple((k, v) for k, v in md if k not in _HOP and not k.startswith(":"))
            remaining = context.time_remaining()
            call = self.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
            try:
                return await call(request, metadata=forward, timeout=remaining)  # type: ignore[no-any-return]
            except grpc.aio.AioRpcError as e:
                context.set_trailing_metadata(tuple(e.trailing_metadata() or ()))
                await context.abort(e.code(), e.details() or "")
                raise  # unreachable: abort raises

        return grpc.unary_unary_rpc_method_handler(unary)


@asynccontextmanager
async def tls_proxy(
    target: str,
    pki: TestPki,
    *,
    require_client_cert: bool = True,
    api_key: str | None = None,
    listen: str = "127.0.0.1:0",
) -> AsyncIterator[tuple[str, ProxyLog]]:
    """Serve TLS on ``listen`` (a free port by default) forwarding to ``target``; yields ("host:port", log)."""
    log = ProxyLog()
    channel = grpc.aio.insecure_channel(target)
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((_Forward(channel, api_key, log),))
    creds = grpc.ssl_server_credentials(
        [(pki.server.key, pki.server.cert)],
        root_certificates=pki.ca.cert if require_client_cert else None,
        require_client_auth=require_client_cert,
    )
    port = server.add_secure_port(listen, creds)
    await server.start()
    try:
        yield f"{listen.rpartition(':')[0]}:{port}", log
    finally:
        await server.stop(0)
        await channel.close()
