"""Several hosts on one Linux machine: one production rendered across two GPU worker hosts, and one
host's link cut in the middle of a segment.  Prints ONE JSON object.

Everything stays inside this machine (Linux network namespaces joined by a bridge; needs root and
iproute2).  The topology is what an operator runs across machines:

    root namespace: bridge tfb<tag> at 10.R.S.1; PostgreSQL (127.0.0.1:5432) relayed on 10.R.S.1:5432
    ns tf<tag>c  10.R.S.2  control plane: the Temporal dev server (127.0.0.1 of its namespace only),
                           the TLS + API-key proxy in front of it (:7443), S3 (moto, :5000), two API
                           replicas (:8001, :8002) and the main worker; PostgreSQL over the veth
    ns tf<tag>g1 10.R.S.3  GPU worker host 1 } each reaches the control plane only at :7443 (Temporal,
    ns tf<tag>g2 10.R.S.4  GPU worker host 2 } TLS + key) and :5000 (S3), and is launched by the
                           autoscaler's local provider with the environment that provider hands it

One production, every checkpoint auto-approved, is started through API replica 1 and followed
through replica 2.  As soon as host 1 has a segment in flight its link goes down
(``ip link set … down``).  The segments it held come back after the heartbeat timeout and are
encoded again on host 2; nothing else is redone.  The figures say how the segments spread over the
hosts, what was in flight on the cut host, how many segments were encoded more than once, and
whether the video was published exactly once.

Usage: sudo python bench/multihost.py [--timeout 900]
       (``proxy`` is the internal subcommand the control namespace runs the TLS proxy with)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

API_KEY = "tf-multihost-key-7d1e"
S3_KEY_ID = "AKIDMULTIHOST"
S3_SECRET = "multihost/s3+secret"
PG_ADMIN = os.environ.get("TUBEFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
OS_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR")
CUT_AFTER = 5  # segments host 1 finishes before its link goes down


def preflight() -> str | None:
    """Why this machine cannot run it, or None."""
    if sys.platform != "linux":
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root (ip netns add, veth pairs, a bridge)"
    if not shutil.which("ip"):
        return "iproute2's `ip` is not installed"
    probe = f"tfprobe{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` is not allowed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def sh(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")


@dataclasses.dataclass
class Net:
    """The namespaces, links and addresses of one run (names fit Linux's 15-character limit)."""

    tag: str
    prefix: str  # "10.R.S"
    bridge: str = ""
    hosts: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> namespace
    links: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> root-side veth
    addrs: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> address

    @property
    def gateway(self) -> str:
        return f"{self.prefix}.1"


def network_up(tag: str) -> Net:
    net = Net(tag, f"10.{random.randint(200, 250)}.{random.randint(0, 254)}")
    net.bridge = f"tfb{tag}"
    sh("ip", "link", "add", net.bridge, "type", "bridge")
    sh("ip", "addr", "add", f"{net.gateway}/24", "dev", net.bridge)
    sh("ip", "link", "set", net.bridge, "up")
    for i, role in enumerate(("control", "gpu1", "gpu2"), start=2):
        ns, outside = f"tf{tag}{role[0]}{role[-1]}", f"tfv{tag}{i}"
        net.hosts[role], net.links[role], net.addrs[role] = ns, outside, f"{net.prefix}.{i}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", f"tfp{tag}{i}")
        sh("ip", "link", "set", f"tfp{tag}{i}", "netns", ns)
        sh("ip", "link", "set", outside, "master", net.bridge)
        sh("ip", "link", "set", outside, "up")
        inside = ["ip", "netns", "exec", ns, "ip"]
        sh(*inside, "link", "set", "lo", "up")
        sh(*inside, "link", "set", f"tfp{tag}{i}", "name", "eth0")
        sh(*inside, "addr", "add", f"{net.addrs[role]}/24", "dev", "eth0")
        sh(*inside, "link", "set", "eth0", "up")
        sh(*inside, "route", "add", "default", "via", net.gateway)
    return net


def network_down(net: Net) -> None:
    for ns in net.hosts.values():
        pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    for link in net.links.values():
        subprocess.run(["ip", "link", "del", link], capture_output=True)
    subprocess.run(["ip", "link", "del", net.bridge], capture_output=True)


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


@contextlib.asynccontextmanager
async def postgres_on_the_bridge(address: str) -> AsyncIterator[None]:
    """PostgreSQL listens on 127.0.0.1 only: relay the bridge's port 5432 to it, as a router would."""

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", 5432)
        except OSError:
            w.close()
            return
        await asyncio.gather(_relay(r, uw), _relay(ur, w))

    server = await asyncio.start_server(handle, address, 5432)
    try:
        yield
    finally:
        server.close()


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    import asyncpg  # type: ignore[import-untyped]

    name = f"tubeflow_multihost_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield name
    finally:
        admin = await asyncpg.connect(PG_ADMIN, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _pg_url(host: str, db: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN).set(drivername="postgresql+asyncpg", database=db, host=host)
    return url.render_as_string(hide_password=False)


class Plane:
    """The processes of the control namespace, started with ``ip netns exec``."""

    def __init__(self, ns: str, logs: Path) -> None:
        self.ns, self.logs = ns, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        base = {k: os.environ[k] for k in OS_ENV if k in os.environ}
        with open(self.logs / f"{name}.log", "wb") as out:
            self.procs[name] = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, *argv], env={**base, **env}, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def check(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                tail = (self.logs / f"{name}.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"{name} exited with {p.returncode}:\n{tail}")

    def stop(self) -> None:
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def _media_env(settings: Any) -> dict[str, str]:
    from tubeflow.worker_config import env_name

    names = ("width", "height", "fps", "segment_seconds", "video_quality", "main_queue", "gpu_queue", "storage",
             "s3_bucket", "s3_endpoint_url", "s3_access_key_id", "s3_secret_access_key")  # fmt: skip
    return {env_name(n): str(getattr(settings, n)) for n in names}


async def _wait_http(url: str, plane: Plane, timeout_s: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            plane.check()
            try:
                if (await http.get(url)).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")
            await asyncio.sleep(0.3)


async def _connect_temporal(address: str, pki: Any, plane: Plane, timeout_s: float = 90) -> Any:
    from temporalio.client import Client, TLSConfig

    tls = TLSConfig(
        server_root_ca_cert=pki.ca.cert, client_cert=pki.client.cert, client_private_key=pki.client.key,
        domain="temporal.test",
    )  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while True:
        plane.check()
        try:
            client = await Client.connect(address, tls=tls, api_key=API_KEY)
            await client.count_workflows()
            return client
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def _finished_by(history: Any, identity: str) -> int:
    """Segments ``identity`` has completed so far."""
    segments = {
        e.event_id for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "render_segment"
    }  # fmt: skip
    return sum(
        1 for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
        and e.activity_task_completed_event_attributes.scheduled_event_id in segments
        and e.activity_task_completed_event_attributes.identity == identity
    )  # fmt: skip


def _work_by_host(history: Any) -> dict[str, dict[str, int]]:
    """Completed activities per worker identity and activity type (the GPU hosts and the main worker)."""
    kinds = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }  # fmt: skip
    out: dict[str, dict[str, int]] = {}
    for e in history.events:
        if e.HasField("activity_task_completed_event_attributes"):
            a = e.activity_task_completed_event_attributes
            host = out.setdefault(a.identity.split("@")[0] if "@" in a.identity else a.identity, {})
            kind = kinds.get(a.scheduled_event_id, "?")
            host[kind] = host.get(kind, 0) + 1
    return out


def _segment_attempts(history: Any) -> list[dict[str, Any]]:
    """Each render_segment of the history: who finished it and on which attempt."""
    scheduled: dict[int, str] = {}
    out = []
    for e in history.events:
        if e.HasField("activity_task_scheduled_event_attributes"):
            a = e.activity_task_scheduled_event_attributes
            if a.activity_type.name == "render_segment":
                scheduled[e.event_id] = a.activity_id
        elif e.HasField("activity_task_started_event_attributes"):
            a = e.activity_task_started_event_attributes
            if a.scheduled_event_id in scheduled:
                out.append({"activity_id": scheduled[a.scheduled_event_id], "identity": a.identity,
                            "attempt": a.attempt})  # fmt: skip
    return out


async def run(timeout_s: float) -> dict[str, Any]:
    import httpx
    from temporalio.api.enums.v1 import PendingActivityState

    from autoscaler.providers.local import LocalProvider
    from tests.tls_proxy import make_pki
    from tubeflow.settings import Settings
    from tubeflow.temporal_dev import DevServerConfig, server_command

    started = time.monotonic()
    tag = uuid.uuid4().hex[:4]
    tmp = Path(tempfile.mkdtemp(prefix="tubeflow-multihost-"))
    logs = tmp / "logs"
    logs.mkdir()
    net = network_up(tag)
    ctl = net.addrs["control"]
    plane = Plane(net.hosts["control"], logs)
    providers: list[Any] = []
    out: dict[str, Any] = {"bench": "multihost", "machine": f"{platform.node()} ({os.cpu_count()} cores)"}
    try:
        async with postgres_on_the_bridge(net.gateway), fresh_database() as dbname:
            pki = make_pki()
            pki_dir = tmp / "pki"
            pki_dir.mkdir()
            for name, data in (("ca.pem", pki.ca.cert), ("server.pem", pki.server.cert),
                               ("server.key", pki.server.key)):  # fmt: skip
                (pki_dir / name).write_bytes(data)
            base = Settings(
                width=320, height=180, fps=15, segment_seconds=1.0, video_quality="fast",
                main_queue="mh-main", gpu_queue="mh-gpu", storage="s3", s3_bucket=f"mh-{tag}",
                s3_endpoint_url=f"http://{ctl}:5000", s3_access_key_id=S3_KEY_ID, s3_secret_access_key=S3_SECRET,
            )  # fmt: skip
            cfg = dataclasses.replace(
                DevServerConfig.load(), ip="127.0.0.1", port=7233, ui_port=8233, db_filename=str(tmp / "temporal.db")
            )
            plane.start("temporal", server_command(base.with_overrides(home=tmp / "temporal"), cfg), {})
            plane.start("proxy", [sys.executable, str(Path(__file__)), "proxy", "--listen", f"{ctl}:7443",
                                  "--target", "127.0.0.1:7233", "--pki", str(pki_dir)], {})  # fmt: skip
            plane.start("s3", [sys.executable, "-m", "moto.server", "-H", ctl, "-p", "5000"], {})
            control_env = {
                **_media_env(base),
                "TUBEFLOW_DATABASE_URL": _pg_url(net.gateway, dbname),  # over the veth, through the bridge
                "TUBEFLOW_TEMPORAL_ADDRESS": "127.0.0.1:7233",
                "TUBEFLOW_OUTBOX_DIR": str(tmp / "outbox"),
                # Every checkpoint is auto-approved and the tiny render holds stills longer than the
                # default pace: the quality gate would hold it before publishing. This run is about
                # the distributed render, so its report is measured but does not hold the upload.
                "TUBEFLOW_QUALITY_GATE": "false",
                "PYTHONUNBUFFERED": "1",
            }
            client = await _connect_temporal(f"{ctl}:7443", pki, plane)
            await _wait_http(f"http://{ctl}:5000/", plane)
            for i, port in enumerate((8001, 8002), start=1):
                plane.start(f"api{i}", [sys.executable, "-m", "cli", "api"], {
                    **control_env, "TUBEFLOW_HOME": str(tmp / f"api{i}"), "TUBEFLOW_API_HOST": ctl,
                    "TUBEFLOW_API_PORT": str(port)})  # fmt: skip
            plane.start("main-worker", [sys.executable, "-m", "cli", "worker", "--queue", "main"],
                        {**control_env, "TUBEFLOW_HOME": str(tmp / "main")})  # fmt: skip
            apis = [f"http://{ctl}:8001", f"http://{ctl}:8002"]
            for api in apis:
                await _wait_http(f"{api}/healthz", plane)

            # The GPU hosts: what the autoscaler's local provider hands a worker, and nothing else.
            gpu_settings = base.with_overrides(
                temporal_address=f"{ctl}:7443", temporal_namespace="default", temporal_tls_ca=pki.ca.cert.decode(),
                temporal_tls_cert=pki.client.cert.decode(), temporal_tls_key=pki.client.key.decode(),
                temporal_tls_server_name="temporal.test", temporal_api_key=API_KEY, gpu_slots=1, render_parallel=1,
                autoscaler_local_price_per_hour=0.4,
            )  # fmt: skip
            for role in ("gpu1", "gpu2"):
                p = LocalProvider.from_settings(
                    gpu_settings.with_overrides(home=tmp / role),
                    command=["ip", "netns", "exec", net.hosts[role], sys.executable, "-m", "cli", "worker",
                             "--queue", "gpu"],
                    cwd=ROOT, scope=f"mh-{tag}-{role}", log_dir=logs,
                )  # fmt: skip
                p.launch(role, {})
                providers.append(p)

            from api.auth import create_key
            from tubeflow.db import channel_repo, repo
            from tubeflow.db.engine import Database

            db = Database(_pg_url("127.0.0.1", dbname))
            try:
                await repo.create_channel(db, "multihost", "science")
                await channel_repo.update_settings(db, "multihost", {"required_checkpoints": "none"})
                key = await create_key(db, "operator", "editor")
            finally:
                await db.close()

            async with httpx.AsyncClient(timeout=30, headers={"X-API-Key": key}) as http:
                r = await http.post(f"{apis[0]}/api/productions",
                                    json={"channel": "multihost", "topic": "Why is the sky blue?"})  # fmt: skip
                r.raise_for_status()
                pid = r.json()["id"]
                from tubeflow.contracts import production_workflow_id

                handle = client.get_workflow_handle(production_workflow_id(pid))
                cut: dict[str, Any] | None = None
                state = ""
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline:
                    plane.check()
                    if cut is None:
                        desc = await handle.describe()
                        on_host1 = [
                            a.activity_id for a in desc.raw_description.pending_activities
                            if a.activity_type.name == "render_segment" and a.last_worker_identity == "gpu1"
                            and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                        ]  # fmt: skip
                        # Mid-render: host 1 has finished segments already and is encoding another.
                        if on_host1 and _finished_by(await handle.fetch_history(), "gpu1") >= CUT_AFTER:
                            sh("ip", "link", "set", net.links["gpu1"], "down")
                            cut = {"at_s": round(time.monotonic() - started, 1), "in_flight": sorted(on_host1)}
                    st = (await http.get(f"{apis[1]}/api/productions/{pid}")).json()
                    state = st.get("state", "")
                    if state in ("completed", "failed", "cancelled", "needs_attention"):
                        break
                    await asyncio.sleep(0.25 if cut is None else 1.0)
                history = await handle.fetch_history()
            segments = _segment_attempts(history)
            by_host: dict[str, int] = {}
            for s in segments:
                by_host[s["identity"]] = by_host.get(s["identity"], 0) + 1
            redone = sorted(s["activity_id"] for s in segments if s["attempt"] > 1)
            outbox = tmp / "outbox"
            published = sorted(str(p.relative_to(outbox)) for p in outbox.rglob("*.mp4")) if outbox.exists() else []
            out.update(
                production_state=state,
                segments_total=len(segments),
                segments_by_host=by_host,
                activities_by_host={k: v for k, v in _work_by_host(history).items() if k in ("gpu1", "gpu2")},
                cut=cut,
                segments_encoded_again=redone,
                lost_beyond_in_flight=sorted(set(redone) - set((cut or {}).get("in_flight", []))),
                published_files=published,
                wall_s=round(time.monotonic() - started, 1),
            )
    finally:
        for p in providers:
            with contextlib.suppress(Exception):
                p.close(5)
        plane.stop()
        network_down(net)
        out["logs"] = str(logs)
    return out


async def proxy_main(listen: str, target: str, pki_dir: Path) -> None:
    """The TLS + API-key proxy process (tests/tls_proxy.py) in the control namespace."""
    from tests.tls_proxy import Pem, TestPki, tls_proxy

    server = Pem((pki_dir / "server.pem").read_bytes(), (pki_dir / "server.key").read_bytes())
    pki = TestPki(Pem((pki_dir / "ca.pem").read_bytes(), b""), server, Pem(b"", b""))
    async with tls_proxy(target, pki, api_key=API_KEY, listen=listen):
        await asyncio.Event().wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd")
    px = sub.add_parser("proxy")
    px.add_argument("--listen", required=True)
    px.add_argument("--target", required=True)
    px.add_argument("--pki", type=Path, required=True)
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args()
    if args.cmd == "proxy":
        asyncio.run(proxy_main(args.listen, args.target, args.pki))
        return
    reason = preflight()
    if reason:
        print(json.dumps({"bench": "multihost", "skipped": reason}))
        sys.exit(3)
    print(json.dumps(asyncio.run(run(args.timeout)), indent=2))


if __name__ == "__main__":
    main()
