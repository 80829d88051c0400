"""What a GPU worker needs to serve the queue from any machine, and how it travels there.

A GPU worker launched on RunPod, Vast.ai or a Kubernetes node shares nothing with the autoscaler
but what the autoscaler hands it: the environment below.  One list, used by every provider, so a
setting added for workers reaches all of them.  The secret part is kept apart so each provider can
put it in the platform's secret store (a Kubernetes Secret) and nothing ever writes it to a log or
to the autoscaler's state file.

TLS material is sent as PEM text, newlines written as ``\\n`` (RunPod and Vast.ai env values are
single-line); :func:`load_pem` reads that back, or a file path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tubeflow.settings import PREFIX, Settings

# Settings a GPU worker reads, besides its identity and price (set per instance).
WORKER_SETTINGS = (
    "temporal_address",
    "temporal_namespace",
    "temporal_tls",
    "temporal_tls_server_name",
    "gpu_queue",
    "storage",
    "s3_bucket",
    "s3_endpoint_url",
    "s3_region",
    "width",
    "height",
    "fps",
    "segment_seconds",
    "video_quality",
    "force_cpu",
    "ffmpeg_threads",
    "render_parallel",
    "gpu_slots",
    "whisper_model",
    "log_level",
    "worker_metrics_port",
    "otlp_endpoint",
)
# The ones that must only ever travel through a provider's secret mechanism.
SECRET_SETTINGS = (
    "temporal_api_key",
    "temporal_tls_ca",  # not secret, but a PEM travels the same way as the key
    "temporal_tls_cert",
    "temporal_tls_key",
    "s3_access_key_id",
    "s3_secret_access_key",
)
PEM_SETTINGS = ("temporal_tls_ca", "temporal_tls_cert", "temporal_tls_key")
ENV_IDENTITY = PREFIX + "WORKER_IDENTITY"
ENV_PRICE = PREFIX + "WORKER_PRICE_PER_HOUR"


def env_name(setting: str) -> str:
    return PREFIX + setting.upper()


@dataclass(frozen=True)
class WorkerEnvironment:
    """The environment for one launched worker: ``plain`` may be shown, ``secret`` never."""

    plain: dict[str, str]
    secret: dict[str, str]

    def merged(self) -> dict[str, str]:
        return {**self.plain, **self.secret}

    def redacted(self) -> dict[str, str]:
        return {**self.plain, **dict.fromkeys(self.secret, "***")}


def worker_environment(
    settings: Settings, identity: str = "", price_per_hour: float | None = None
) -> WorkerEnvironment:
    """The worker configuration from the autoscaler's settings; empty settings are left out."""
    plain: dict[str, str] = {}
    for name in WORKER_SETTINGS:
        value = getattr(settings, name)
        if value != "":
            plain[env_name(name)] = _text(value)
    if settings.temporal_tls_enabled():
        plain[env_name("temporal_tls")] = "true"
    if identity:
        plain[ENV_IDENTITY] = identity
    if price_per_hour is not None:
        plain[ENV_PRICE] = f"{price_per_hour:.6g}"
    secret: dict[str, str] = {}
    for name in SECRET_SETTINGS:
        value = str(getattr(settings, name))
        if not value:
            continue
        if name in PEM_SETTINGS:
            value = load_pem(value).decode().strip().replace("\n", "\\n")
        secret[env_name(name)] = value
    return WorkerEnvironment(plain, secret)


def redact(text: str, *envs: WorkerEnvironment) -> str:
    """``text`` with every secret value of ``envs`` replaced: for error messages that may echo a request."""
    for env in envs:
        for value in env.secret.values():
            forms = {value, value.replace("\\n", "\n"), value.replace("\\n", "\\\\n")}
            forms |= {line for line in value.replace("\\n", "\n").splitlines() if len(line) >= 16}  # PEM lines
            for form in sorted(forms, key=len, reverse=True):
                if len(form) >= 6:
                    text = text.replace(form, "***")
    return text


def load_pem(value: str) -> bytes:
    """PEM text (real or ``\\n``-escaped newlines) as is, or the contents of the file it names."""
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return (text.replace("\\n", "\n") + "\n").encode()
    path = Path(text).expanduser()
    try:
        return path.read_bytes()
    except OSError as e:
        from tubeflow.errors import ConfigError

        raise ConfigError(f"cannot read the PEM file {path}: {e.strerror}") from e


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
