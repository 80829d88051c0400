"""The production recipe in deploy/ agrees with the code: every environment variable it sets is a
setting, every command it runs parses as a `tubeflow` command, the images hold every package, and
the Temporal cluster gets the search attributes and dynamic config the dev server has.

Manifests are never run by the tests (no Docker, no cluster); this is what keeps them from
drifting silently when a setting or a command is renamed.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from autoscaler.providers import PROVIDERS
from service.worker import GRACEFUL_SHUTDOWN
from tubeflow.settings import REPO_ROOT, Settings, describe
from tubeflow.temporal_dev import DevServerConfig
from tubeflow.worker_config import SECRET_SETTINGS, env_name

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
# Set by the local provider on the processes it starts, to find them again; not settings.
PROCESS_MARKERS = {"TUBEFLOW_GPU_INSTANCE", "TUBEFLOW_GPU_LABELS"}


def _files() -> list[Path]:
    return [p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix != ".json"]


def _yaml_docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def test_every_tubeflow_variable_in_deploy_is_a_setting() -> None:
    settings = {name for name, _ in describe()}
    seen: dict[str, list[str]] = {}
    for path in _files():
        for name in re.findall(r"\bTUBEFLOW_[A-Z0-9_]+", path.read_text()):
            seen.setdefault(name, []).append(str(path.relative_to(REPO_ROOT)))
    unknown = {name: where for name, where in seen.items() if name not in settings | PROCESS_MARKERS}
    assert not unknown, f"deploy/ sets variables no code reads: {unknown}"
    assert len(seen) > 20, "the scan found the manifests"


def _commands() -> list[tuple[str, list[str]]]:
    """(where, argv) of every tubeflow command the recipe and the cloud providers run."""
    out: list[tuple[str, list[str]]] = []
    compose = yaml.safe_load(COMPOSE.read_text())
    for name, svc in compose["services"].items():
        cmd = svc.get("command")
        if isinstance(cmd, list) and cmd and cmd[0] == "tubeflow":
            out.append((f"compose {name}", cmd))
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in _yaml_docs(path):
            pod = (doc.get("spec") or {}).get("template", {}).get("spec", {})
            for c in pod.get("containers", []):
                out.append((f"{path.name} {c['name']}", list(c.get("args") or c.get("command") or [])))
    for path in (DEPLOY / "Dockerfile", DEPLOY / "Dockerfile.gpu"):
        for line in path.read_text().splitlines():
            if line.startswith("CMD "):
                out.append((path.name, yaml.safe_load(line[4:])))
        for comment in re.findall(r"`(tubeflow [^`]+)`", path.read_text()):
            out.append((f"{path.name} comment", shlex.split(comment)))
    from autoscaler.providers.runpod import RunPodProvider
    from autoscaler.providers.vastai import VastAiProvider

    for cls, arg in ((RunPodProvider, "docker_args"), (VastAiProvider, "onstart")):
        import inspect

        default = inspect.signature(cls.__init__).parameters[arg].default
        out.append((f"{cls.__name__}.{arg}", shlex.split(default)))
    return out


def test_every_command_in_deploy_is_a_tubeflow_command_with_valid_options() -> None:
    from cli.main import app

    root = typer.main.get_command(app)
    commands = _commands()
    checked: list[str] = []
    assert len(commands) >= 8
    for where, argv in commands:
        assert argv and argv[0] == "tubeflow", f"{where}: {argv} does not run tubeflow"
        group: Any = root
        args = argv[1:]
        while hasattr(group, "list_commands"):  # a group (typer's own click classes: duck typing)
            assert args, f"{where}: {argv} names no command"
            sub = group.get_command(group.context_class(group), args[0])
            assert sub is not None, f"{where}: `tubeflow {args[0]}` is not a command"
            group, args = sub, args[1:]
        try:
            ctx = group.make_context(argv[1], list(args), resilient_parsing=False)
        except Exception as e:  # noqa: BLE001 - click's UsageError (typer may carry its own click)
            pytest.fail(f"{where}: {argv}: {e}")
        assert ctx.command is group and not hasattr(group, "list_commands")
        checked.append(where)
        if "queue" in ctx.params:
            assert ctx.params["queue"] in ("main", "gpu"), f"{where}: queue {ctx.params['queue']!r}"
        if "provider" in ctx.params:
            assert ctx.params["provider"] in PROVIDERS, f"{where}: provider {ctx.params['provider']!r}"
    assert len(checked) == len(commands)


def test_images_hold_every_package() -> None:
    packages = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    names = [p.rstrip("*") for p in packages["include"]]
    for dockerfile, optional in (("Dockerfile", set()), ("Dockerfile.gpu", {"autoscaler"})):
        text = (DEPLOY / dockerfile).read_text()
        copied = set(re.findall(r"^COPY (\w+) ", text, re.M))
        missing = set(names) - copied - optional
        assert not missing, f"{dockerfile} does not COPY {sorted(missing)}: the image cannot import them"


def test_compose_recipe_gpu_runtime_temporal_setup_and_ports() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    gpu = services["gpu-worker"]
    assert gpu["runtime"] == "nvidia"
    assert "video" in gpu["environment"]["NVIDIA_DRIVER_CAPABILITIES"].split(",")
    grace = int(str(gpu["stop_grace_period"]).rstrip("s"))
    assert grace > GRACEFUL_SHUTDOWN.total_seconds(), "docker must not SIGKILL before the render checkpoints"
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["image"].startswith("temporalio/server:")
    # The cluster gets what the dev server has: search attributes and dynamic config.
    dev = DevServerConfig.load()
    setup = " ".join(services["temporal-setup"]["command"])
    for name, kind in dev.search_attributes.items():
        assert f"--name {name} --type {kind}" in setup, f"search attribute {name} missing from the cluster setup"
    compose_dc = yaml.safe_load((DEPLOY / "compose" / "temporal-dynamicconfig.yaml").read_text())
    helm = yaml.safe_load((DEPLOY / "helm" / "temporal-values.yaml").read_text())
    for key, value in dev.dynamic_config.items():
        assert compose_dc[key][0]["value"] == value, f"compose dynamic config {key}"
        assert helm["server"]["dynamicConfig"][key][0]["value"] == value, f"helm dynamic config {key}"
    assert helm["server"]["config"]["persistence"]["default"]["sql"]["driver"] == "postgres12"
    # Prometheus scrapes the ports the processes listen on.
    env = compose["x-tubeflow-env"]
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prom["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    port = env["TUBEFLOW_WORKER_METRICS_PORT"]
    assert {f"main-worker:{port}", f"gpu-worker:{port}", f"api:{Settings().api_port}"} <= targets
    assert f"autoscaler:{Settings().autoscaler_metrics_port}" in targets
    # Every ${VAR:?...} the recipe requires is in the secrets example.
    example = (DEPLOY / "compose" / "secrets.env.example").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", COMPOSE.read_text()))
    assert required and all(f"\n{v}=" in "\n" + example for v in required), required


def test_kubernetes_secret_example_names_every_worker_secret() -> None:
    (secret,) = _yaml_docs(DEPLOY / "k8s" / "examples" / "tubeflow-secrets.yaml")
    keys = set(secret["stringData"])
    wanted = {env_name(s) for s in SECRET_SETTINGS if s != "temporal_tls_ca"}
    assert wanted <= keys, f"missing from the Secret example: {sorted(wanted - keys)}"
    # The control plane and the GPU workers both load it.
    for path in ("control-plane-deployment.yaml", "gpu-worker-deployment.yaml"):
        doc = _yaml_docs(DEPLOY / "k8s" / path)[0]
        for c in doc["spec"]["template"]["spec"]["containers"]:
            refs = {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
            assert secret["metadata"]["name"] in refs, f"{path} {c['name']} does not load the Secret"
