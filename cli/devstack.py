"""Runs the whole local stack as child processes: Temporal dev server, workers, API.

`tubeflow dev` and `tubeflow demo` use it.  Each part is its own process (as it would be in
production) so a worker can be killed and restarted alone and its memory measured alone.

Many small users run `tubeflow dev` as their one-machine deployment, so it behaves like a small
supervisor: a child that dies (the OOM killer's SIGKILL, a crash) is logged and started again with
exponential backoff while the others keep running, and SIGTERM (a service manager, ``docker stop``)
and SIGHUP (the terminal closed) stop every child, as Ctrl-C does.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

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


log = logging.getLogger("tubeflow.dev")

RESTART_FIRST_S = 1.0  # first restart delay; doubles for each quick death in a row
RESTART_MAX_S = 30.0
STABLE_S = 60.0  # a child that ran this long before dying starts again from the first delay
STOP_GRACE_S = 20.0  # workers and the API together, then the Temporal server


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    peak_rss: int = 0
    # How to start it again; None: not supervised (it is only checked).
    launch: Callable[[], subprocess.Popen[bytes]] | None = None
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0
    quick_deaths: int = 0  # deaths in a row, each within STABLE_S of its start
    restart_at: float | None = None  # set while it is dead and waiting for its restart

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

        def launch() -> subprocess.Popen[bytes]:
            return start_server(self.settings, cfg, log=log)

        self.children.append(Child("temporal", launch(), log, launch=launch))
        wait_port(host, int(port), 60, "the Temporal dev server")
        return True

    def spawn(self, name: str, *args: str) -> Child:
        log = self.logs / f"{name}.log"
        command = [sys.executable, "-m", "cli", *args]

        def launch() -> subprocess.Popen[bytes]:
            with open(log, "ab") as out:  # the child keeps its own copy of the descriptor
                return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=self._env())

        child = Child(name, launch(), log, launch=launch)
        self.children.append(child)
        return child

    def start_workers(self) -> None:
        self.spawn("worker-main", "worker", "--queue", "main")
        self.spawn("worker-gpu", "worker", "--queue", "gpu")

    def start_api(self, timeout_s: float = 60) -> None:
        """Spawn the API and wait for its port, restarting it if it dies while starting.

        Supervision starts here rather than in :meth:`serve_forever`: an API killed in the
        moment before its port was seen would otherwise never come back and the whole stack
        would stop after the timeout.
        """
        self.spawn("api", "api")
        host, port = self.settings.api_host, self.settings.api_port
        deadline = time.monotonic() + timeout_s
        while not port_open(host, port):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the API did not open {host}:{port} within {timeout_s:.0f} s")
            self.supervise()
            time.sleep(0.2)

    def check_alive(self) -> None:
        """Raise when a child died (the demo: one production, nothing to keep serving)."""
        for c in self.children:
            if c.proc.poll() is not None:
                tail = c.log.read_text(errors="replace")[-2000:] if c.log.exists() else ""
                raise RuntimeError(f"{c.name} exited with code {c.proc.returncode}; last log lines:\n{tail}")

    def supervise(self, now: float | None = None) -> None:
        """Notice dead children and start each again when its backoff has passed; never raises for a death."""
        now = time.monotonic() if now is None else now
        for c in self.children:
            if c.launch is None or c.proc.poll() is None:
                continue
            if c.restart_at is None:
                ran = now - c.started_at
                c.quick_deaths = c.quick_deaths + 1 if ran < STABLE_S else 1
                delay = min(RESTART_MAX_S, RESTART_FIRST_S * 2 ** (c.quick_deaths - 1))
                c.restart_at = now + delay
                log.warning(
                    "%s exited with code %s after %.0f s; restarting in %.0f s (see %s)",
                    c.name,
                    c.proc.returncode,
                    ran,
                    delay,
                    c.log,
                )
                continue
            if now >= c.restart_at:
                try:
                    c.proc = c.launch()
                except OSError as e:
                    log.error("%s could not be started again: %s; next try in %.0f s", c.name, e, RESTART_MAX_S)
                    c.restart_at = now + RESTART_MAX_S
                    continue
                c.started_at, c.restart_at = now, None
                c.restarts += 1
                log.warning("%s restarted (pid %d, restart %d)", c.name, c.proc.pid, c.restarts)

    def serve_forever(self, interval_s: float = 0.5) -> None:
        """Supervise until a stop signal (see :func:`stop_signals`) or Ctrl-C raises KeyboardInterrupt."""
        while True:
            self.supervise()
            time.sleep(interval_s)

    def sample(self) -> None:
        for c in self.children:
            c.sample()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM the workers and the API together (they finish heartbeats), then the server; SIGKILL stragglers."""
        with _signals_ignored():
            rest = [c for c in self.children if c.name != "temporal"]
            server = [c for c in self.children if c.name == "temporal"]
            for group in (rest, server):
                for c in group:
                    if c.proc.poll() is None:
                        c.proc.terminate()
                deadline = time.monotonic() + grace_s
                for c in group:
                    try:
                        c.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        log.warning("%s did not stop within %.0f s: killed", c.name, grace_s)
                        c.proc.kill()
                        c.proc.wait()
            self.children.clear()


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def stop_signals() -> None:
    """Make SIGTERM and SIGHUP stop the stack the way Ctrl-C does (KeyboardInterrupt in the main thread)."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_interrupt)


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """While stopping, a second Ctrl-C or SIGTERM must not leave children behind half-way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, *STOP_SIGNALS)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
