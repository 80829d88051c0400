"""`tubeflow dev` as a one-machine deployment: children restarted when they die, all stopped on SIGTERM/SIGHUP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from cli.devstack import RESTART_FIRST_S, STABLE_S, Child, DevStack, port_open, wait_port
from tests.conftest import tiny_settings
from tests.test_restarts import free_port


def _sleeper(seconds: float) -> Callable[[], subprocess.Popen[bytes]]:
    return lambda: subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def test_a_dead_child_is_restarted_with_backoff_and_the_others_keep_running(tmp_path: Path) -> None:
    stack = DevStack(tiny_settings(tmp_path))
    steady = Child("worker-main", _sleeper(60)(), tmp_path / "a.log", launch=_sleeper(60))
    flaky = Child("worker-gpu", _sleeper(60)(), tmp_path / "b.log", launch=_sleeper(60))
    stack.children += [steady, flaky]
    try:
        t = time.monotonic()
        for death in range(1, 4):  # dies right after each start: 1 s, 2 s, 4 s
            flaky.proc.kill()
            flaky.proc.wait(5)
            stack.supervise(now=t)
            assert flaky.restart_at == pytest.approx(t + RESTART_FIRST_S * 2 ** (death - 1))
            assert flaky.restart_at is not None
            stack.supervise(now=flaky.restart_at - 0.01)
            assert flaky.proc.poll() is not None, "restarted before its backoff"
            t = flaky.restart_at
            stack.supervise(now=t)
            assert flaky.proc.poll() is None and flaky.restarts == death
        flaky.proc.kill()  # after a long healthy run the backoff starts over
        flaky.proc.wait(5)
        stack.supervise(now=t + STABLE_S + 1)
        assert flaky.restart_at == pytest.approx(t + STABLE_S + 1 + RESTART_FIRST_S)
        assert steady.proc.poll() is None and steady.restarts == 0
    finally:
        stack.stop(grace_s=5)
    assert steady.proc.poll() is not None and flaky.proc.poll() is not None


def _children(dev: psutil.Process) -> dict[str, psutil.Process]:
    """The dev stack's children by role (from their command lines)."""
    found: dict[str, psutil.Process] = {}
    for p in dev.children():
        try:
            cmd = " ".join(p.cmdline())
        except psutil.Error:
            continue
        role = (
            "temporal"
            if "start-dev" in cmd
            else "worker-main"
            if "--queue main" in cmd
            else "worker-gpu"
            if "--queue gpu" in cmd
            else "api"
            if cmd.endswith(" api")
            else None
        )
        if role:
            found[role] = p
    return found


def _wait(what: str, check: Callable[[], object], timeout_s: float) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _exit_code(proc: subprocess.Popen[bytes], timeout_s: float) -> int | str:
    """The exit code, or why there is none: a process still running after ``timeout_s`` did not stop."""
    try:
        return proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return f"nothing: still running after {timeout_s:.0f} s"


def test_the_exit_check_fails_on_a_wrong_or_missing_exit() -> None:
    """What the stop assertion compares: 0 only for a clean exit, never for a crash, a kill or a hang."""
    clean = subprocess.Popen([sys.executable, "-c", "pass"])
    crash = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    hang = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert _exit_code(clean, 30) == 0
        assert _exit_code(crash, 30) == 3
        assert _exit_code(hang, 0.2) == "nothing: still running after 0 s"
        hang.kill()
        assert _exit_code(hang, 30) == -signal.SIGKILL
    finally:
        hang.kill()
        hang.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize(("victim", "stop_with"), [("worker-gpu", signal.SIGTERM), ("api", signal.SIGHUP)])
def test_tubeflow_dev_restarts_a_killed_child_and_stops_everything_on_a_signal(
    tmp_path: Path, victim: str, stop_with: signal.Signals
) -> None:
    settings = tiny_settings(tmp_path)
    api_port, temporal_port = free_port(), free_port()
    env = dict(os.environ)
    env.update(
        TUBEFLOW_HOME=str(tmp_path),
        TUBEFLOW_TEMPORAL_ADDRESS=f"127.0.0.1:{temporal_port}",
        TUBEFLOW_TEMPORAL_UI_PORT=str(free_port()),
        TUBEFLOW_API_PORT=str(api_port),
        TUBEFLOW_MAIN_QUEUE=settings.main_queue,
        TUBEFLOW_GPU_QUEUE=settings.gpu_queue,
        PYTHONUNBUFFERED="1",
    )
    out = (tmp_path / "dev.out").open("wb")
    dev = subprocess.Popen([sys.executable, "-m", "cli", "dev"], env=env, stdout=out, stderr=subprocess.STDOUT)
    seen: set[int] = set()
    try:
        wait_port("127.0.0.1", api_port, 180, "the API under tubeflow dev")
        # Killed only once `tubeflow dev` says it is up, as a user (or the OOM killer, later) would.
        _wait("tubeflow dev ready", lambda: b"stops everything" in (tmp_path / "dev.out").read_bytes(), 60)
        proc = psutil.Process(dev.pid)

        def all_four(not_pid: int = 0) -> dict[str, psutil.Process] | None:
            c = _children(proc)
            return c if len(c) == 4 and c[victim].pid != not_pid else None

        first = _wait("four children", all_four, 60)
        assert isinstance(first, dict)
        seen |= {p.pid for p in first.values()}

        first[victim].send_signal(signal.SIGKILL)  # what the OOM killer does
        second = _wait(f"{victim} restarted", lambda: all_four(first[victim].pid), 60)
        assert isinstance(second, dict)
        seen |= {p.pid for p in second.values()}
        assert dev.poll() is None, "tubeflow dev died with its child"
        for role in {"temporal", "worker-main", "worker-gpu", "api"} - {victim}:
            assert second[role].pid == first[role].pid, f"{role} was restarted too"
        wait_port("127.0.0.1", api_port, 60, "the API after the restart")
        assert httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=10).status_code == 200
        assert port_open("127.0.0.1", temporal_port)

        dev.send_signal(stop_with)
        # A stop signal is the normal way out (as Ctrl-C): `tubeflow dev` stops its children and exits 0.
        code = _exit_code(dev, 60)
        assert code == 0, f"tubeflow dev exited with {code} on {stop_with.name}, not 0"
        alive = [pid for pid in seen if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
        assert alive == [], f"children left running after {stop_with.name}: {alive}"
        log = (tmp_path / "dev.out").read_text(errors="replace")
        assert f"{victim} exited with code -9" in log and f"{victim} restarted" in log
    finally:
        out.close()
        for pid in seen | ({dev.pid} if dev.poll() is None else set()):
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
        dev.wait(10)
