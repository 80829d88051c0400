"""Runs the whole local stack as child processes: Temporal dev server, workers, API.

`tubeflow dev` and `tubeflow demo` use it.  Each part is its own process (as it would be in
production) so a worker can be killed and restarted alone and its memory measured alone.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from tubeflow.settings import Settings
from tubeflow.temporal_dev import DevServerConfig, start_server


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_port(host: str, port: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not open {host}:{port} within {timeout_s:.0f} s")


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    peak_rss: int = 0

    def sample(self) -> None:
        """Track peak memory of the process and its children (FFmpeg runs as a child)."""
        try:
            p = psutil.Process(self.proc.pid)
            rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
            self.peak_rss = max(self.peak_rss, rss)
        except psutil.Error:
            pass


@dataclass
class DevStack:
    settings: Settings
    children: list[Child] = field(default_factory=list)

    @property
    def logs(self) -> Path:
        d = self.settings.home / "logs"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TUBEFLOW_HOME"] = str(self.settings.home)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def start_temporal(self) -> bool:
        """Start the dev server unless one already answers; returns whether we started it."""
        cfg = DevServerConfig.load()
        host, port = self.settings.temporal_address.rsplit(":", 1)
        if port_open(host, int(port)):
            return False
        cfg.port, cfg.ui_port = int(port), self.settings.temporal_ui_port
        log = self.logs / "temporal.log"
        proc = start_server(self.settings, cfg, log=log)
        self.children.append(Child("temporal", proc, log))
        wait_port(host, int(port), 60, "the Temporal dev server")
        return True

    def spawn(self, name: str, *args: str) -> Child:
        log = self.logs / f"{name}.log"
        out = open(log, "ab")  # noqa: SIM115 - closed when the child ends
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", *args], stdout=out, stderr=subprocess.STDOUT, env=self._env()
        )
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def start_workers(self) -> None:
        self.spawn("worker-main", "worker", "--queue", "main")
        self.spawn("worker-gpu", "worker", "--queue", "gpu")

    def start_api(self) -> None:
        self.spawn("api", "api")
        wait_port(self.settings.api_host, self.settings.api_port, 60, "the API")

    def check_alive(self) -> None:
        for c in self.children:
            if c.proc.poll() is not None:
                tail = c.log.read_text(errors="replace")[-2000:] if c.log.exists() else ""
                raise RuntimeError(f"{c.name} exited with code {c.proc.returncode}; last log lines:\n{tail}")

    def sample(self) -> None:
        for c in self.children:
            c.sample()

    def stop(self) -> None:
        # Workers first (they finish heartbeats), the server last.
        for c in sorted(self.children, key=lambda c: c.name == "temporal"):
            if c.proc.poll() is None:
                c.proc.terminate()
                try:
                    c.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    c.proc.kill()
        self.children.clear()
