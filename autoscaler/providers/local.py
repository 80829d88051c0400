"""GPU workers as processes on this machine: the default, and what the end-to-end tests run.

Each worker is ``python -m cli worker --queue gpu`` with a marker in its environment, so
a restarted autoscaler (or the reaper) finds workers an earlier run left behind by scanning the
process table, not just its own children.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import psutil

from autoscaler.providers.base import MANAGED_LABEL, MANAGED_VALUE, Instance, InstanceState, LaunchFailedError
from tubeflow.settings import PREFIX, Settings

ENV_INSTANCE = "TUBEFLOW_GPU_INSTANCE"
ENV_LABELS = "TUBEFLOW_GPU_LABELS"
ENV_IDENTITY = "TUBEFLOW_WORKER_IDENTITY"
DEFAULT_COMMAND = (sys.executable, "-m", "cli", "worker", "--queue", "gpu")


class LocalProvider:
    name = "local"

    def __init__(
        self,
        command: Sequence[str] = DEFAULT_COMMAND,
        env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        cwd: Path | None = None,
        price_per_hour: float = 0.0,
        stop_deadline_s: float = 30.0,
        scope: str = "",
    ) -> None:
        self.command = list(command)
        self.env = dict(env or {})
        self.log_dir = log_dir
        self.cwd = cwd
        self._price = price_per_hour
        # SIGTERM first; SIGKILL once the worker's own shutdown deadline has passed.
        self.stop_deadline_s = stop_deadline_s
        # Only processes with this scope in their marker are ours (tests run several fleets at once).
        self.scope = scope
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping: dict[int, float] = {}  # pid -> SIGKILL after

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> LocalProvider:
        # The workers see exactly the autoscaler's settings (queue, Temporal, storage), whatever its
        # environment, with the worker configuration every provider sends on top (PEMs as text).
        from tubeflow.worker_config import worker_environment

        env = {PREFIX + f.name.upper(): str(getattr(settings, f.name)) for f in fields(settings)}
        env.update(worker_environment(settings).merged())
        options.setdefault("env", env)
        options.setdefault("log_dir", settings.home / "autoscaler" / "logs")
        options.setdefault("price_per_hour", settings.autoscaler_local_price_per_hour)
        options.setdefault("scope", settings.gpu_queue)
        return cls(**options)

    # ------------------------------------------------------------------ interface

    def launch(self, name: str, labels: dict[str, str], avoid: Collection[str] = ()) -> Instance:
        env = {**os.environ, **self.env}
        env[ENV_INSTANCE] = f"{self.scope}/{name}"
        env[ENV_LABELS] = json.dumps({**labels, MANAGED_LABEL: MANAGED_VALUE})
        env[ENV_IDENTITY] = name
        env["TUBEFLOW_WORKER_PRICE_PER_HOUR"] = str(self._price)
        out: Any = subprocess.DEVNULL
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                self.command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True
            )
        except OSError as e:
            raise LaunchFailedError(f"cannot start the local GPU worker ({self.command[0]}): {e}") from e
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        self._children[name] = proc
        return self._instance(name, proc.pid, time.time(), {**labels, MANAGED_LABEL: MANAGED_VALUE})

    def list(self) -> list[Instance]:
        self._reap_children()
        self._escalate()
        # Children of a worker (FFmpeg) inherit its environment and so its marker.  Each worker leads
        # its own process group (start_new_session), so: a group leader is a worker; a marked process
        # whose leader is gone is the orphan of a killed worker and is killed (no orphan keeps burning).
        found: dict[str, Instance] = {}
        for proc in psutil.process_iter(["pid", "create_time"]):
            try:
                marker = proc.environ().get(ENV_INSTANCE, "")
                if not marker.startswith(f"{self.scope}/") or proc.status() == psutil.STATUS_ZOMBIE:
                    continue
                labels = json.loads(proc.environ().get(ENV_LABELS, "{}"))
                pgid = os.getpgid(proc.pid)
            except (psutil.Error, ValueError, OSError):
                continue
            if pgid != proc.pid:
                if not psutil.pid_exists(pgid):
                    with contextlib.suppress(OSError):
                        os.kill(proc.pid, signal.SIGKILL)
                continue
            name = marker.split("/", 1)[1]
            inst = self._instance(name, proc.pid, proc.info["create_time"], labels)
            if proc.pid in self._stopping:
                inst.state = InstanceState.STOPPING
            found[name] = inst
        return list(found.values())

    def terminate(self, instance_id: str) -> None:
        for inst in self.list():
            if inst.id == instance_id:
                pid = int(inst.labels["pid"])
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    return
                self._stopping.setdefault(pid, time.time() + self.stop_deadline_s)
                return

    def price_per_hour(self, instance: Instance | None = None) -> float:
        return self._price

    # ------------------------------------------------------------------ helpers

    def kill(self, instance_id: str) -> None:
        """SIGKILL, no grace: what a reclaimed spot machine looks like (used by the fault test)."""
        for inst in self.list():
            if inst.id == instance_id:
                os.kill(int(inst.labels["pid"]), signal.SIGKILL)  # the worker only, as a spot reclaim would

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop every worker this provider started (SIGTERM, then SIGKILL after ``timeout_s``)."""
        for name in list(self._children):
            self.terminate(name)
        deadline = time.time() + timeout_s
        for proc in self._children.values():
            try:
                proc.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._children.clear()

    def _instance(self, name: str, pid: int, started: float, labels: dict[str, str]) -> Instance:
        return Instance(
            id=name,
            provider=self.name,
            state=InstanceState.RUNNING,
            started_at=started,
            labels={**labels, "pid": str(pid)},
            # The SDK's default identity; a worker that honours TUBEFLOW_WORKER_IDENTITY polls as ``name``.
            identity=f"{pid}@{socket.gethostname()}",
            price_per_hour=self._price,
            placement=socket.gethostname(),
        )

    def _reap_children(self) -> None:
        for name, proc in list(self._children.items()):
            if proc.poll() is not None:
                del self._children[name]
                self._stopping.pop(proc.pid, None)

    def _escalate(self) -> None:
        now = time.time()
        for pid, kill_at in list(self._stopping.items()):
            if not psutil.pid_exists(pid):
                del self._stopping[pid]
            elif now >= kill_at:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)  # the worker and its encoders
                del self._stopping[pid]
