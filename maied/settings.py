"""One Settings object, read once at start-up and passed in.

Order: code defaults (the embedded, runs-anywhere profile) < `MAIE_ENV_FILE` (default `/etc/maie.env`)
< the process environment. Every field's docstring is its documentation (`maied config` shows it).
"""

from __future__ import annotations

import logging
import os
import re
import socket
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from maied.domain import ASRBackendName
from maied.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_ENV_FILE = "/etc/maie.env"
SEED_PLACEHOLDER_KEY = "your_secret_api_key_here"
SECRET_FIELDS = frozenset({"SECRET_API_KEY"})
DEPRECATED_FIELDS = frozenset({"REDIS_URL", "REDIS_RESULTS_DB"})
SOCKET_ALIAS = "MAIE_SOCKET"
"""maictl's name for the socket: maied takes it for API_SOCKET, so that one variable serves both."""


def default_data_dir() -> Path:
    """`/var/lib/maie` when it is (or can be made) writable, else the user's `~/.local/share/maie`."""
    system = Path("/var/lib/maie")
    if os.access(system, os.W_OK) or (not system.exists() and os.access(system.parent, os.W_OK)):
        return system
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "maie"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        use_attribute_docstrings=True,
        env_ignore_empty=False,
        validate_default=True,
    )

    # --- API and access -------------------------------------------------------------------------
    API_SOCKET: Path = Path("/run/maie/maied.sock")
    """Unix socket the API listens on (mode 0660, group maie). Under systemd it comes from maied.socket.
    MAIE_SOCKET, the name maictl reads, is understood too (API_SOCKET wins when both are set)."""
    API_HOST: str = "127.0.0.1"
    """Address of the optional TCP listener (only used when API_PORT is set)."""
    API_PORT: int | None = None
    """TCP port for other hosts; unset = no TCP listener. Every route but /health then needs X-API-Key."""
    SECRET_API_KEY: str = ""
    """API key for TCP clients (X-API-Key). Required, at least 32 characters, when API_PORT is set."""
    REQUIRE_API_KEY_ON_SOCKET: bool = False
    """Also require X-API-Key on the Unix socket."""
    ADMIN_GROUP: str = "maie-admin"
    """Members of this group may read and cancel every task and manage templates."""
    MAX_FILE_SIZE_MB: float = Field(500.0, gt=0)
    """Largest upload accepted; the upload is cut off with 413 as soon as it is passed."""
    HTTP_HEADER_TIMEOUT: float = Field(15.0, gt=0)
    """Seconds a connection has to send a whole request head (from opening or from its last answer)."""
    HTTP_BODY_IDLE_TIMEOUT: float = Field(60.0, gt=0)
    """Seconds a request body may send nothing before it is answered 408 REQUEST_TIMEOUT and closed."""
    MAX_CONNECTIONS: int = Field(256, ge=1)
    """Open connections (socket and TCP together); past it a new connection is closed at once."""
    MAX_AUDIO_SECONDS: float = Field(14400.0, gt=0)
    """Longest audio accepted (4 h): a longer file visible in its header is refused before 202 with 413
    AUDIO_TOO_LONG; decoded audio that passes it ends the task FAILED with AUDIO_TOO_LONG."""
    MAX_QUEUE_DEPTH: int = Field(50, ge=1)
    """Most PENDING tasks; beyond it submits get 429 QUEUE_FULL with Retry-After."""

    # --- Paths ----------------------------------------------------------------------------------
    DATA_DIR: Path = Field(default_factory=default_data_dir)
    """State folder: the database, uploaded audio, models, user templates."""
    DB_PATH: Path | None = None
    """SQLite queue database (default $DATA_DIR/maie.db); used when DATABASE_URL is empty."""
    DATABASE_URL: str = ""
    """Empty = the embedded SQLite queue at DB_PATH (one host). A postgresql://user:password@host/db URL puts
    the queue on PostgreSQL, shared by several maied hosts (see docs/scale-out.md)."""
    AUDIO_DIR: Path | None = None
    """Uploaded audio, one folder per task (default $DATA_DIR/audio)."""
    MODELS_DIR: Path | None = None
    """Where models are placed and looked up (default $DATA_DIR/models)."""
    LOG_DIR: Path | None = None
    """Log folder (default /var/log/maie when writable, else $DATA_DIR/logs)."""

    # --- ASR ------------------------------------------------------------------------------------
    ASR_BACKEND: ASRBackendName = "whisper"
    """Default ASR backend; a task's asr_backend wins. The seed's production profile uses chunkformer."""
    ASR_BACKEND_MODULE: str = ""
    """A Python module that makes the ASR backends instead of the built-in code: its
    `create_asr_backend(name, settings)` is called for each backend a task uses (out-of-tree backends; the
    test suite plugs its fake backend in here). Empty = the built-in whisper and chunkformer."""
    CHUNKFORMER_MODEL_NAME: str = "khanhld/chunkformer-rnnt-large-vie"
    """ChunkFormer checkpoint: a local folder or a hub name (looked up in MODELS_DIR first)."""
    CHUNKFORMER_PUNCTUATES: bool | None = None
    """Whether the ChunkFormer checkpoint writes punctuation and capitals; empty = no (the seed's model does not).
    When it does, clean_transcript skips the LLM enhancement (ENHANCEMENT_SKIPPED) and returns the raw text."""
    CHUNKFORMER_DEVICE: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for ChunkFormer; auto = cuda when torch sees a GPU, else cpu."""
    CHUNKFORMER_CHUNK_SIZE: int = Field(64, ge=4, le=1024)
    """ChunkFormer chunk size in encoder frames (after subsampling; 64 frames ~ 5 s)."""
    CHUNKFORMER_LEFT_CONTEXT: int = Field(128, ge=0, le=4096)
    """ChunkFormer left context, in encoder frames, each chunk attends to."""
    CHUNKFORMER_RIGHT_CONTEXT: int = Field(128, ge=0, le=4096)
    """ChunkFormer right context, in encoder frames, each chunk attends to."""
    CHUNKFORMER_TOTAL_BATCH_DURATION: int = Field(1800, ge=60, le=36000)
    """Seconds of audio ChunkFormer decodes in one batch of chunks (lower it when GPU memory is short)."""
    WHISPER_MODEL_VARIANT: str = ""
    """Whisper model: a local CTranslate2 folder, a name in MODELS_DIR or a hub name; empty = the embedded model."""
    WHISPER_DEVICE: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for faster-whisper."""
    WHISPER_COMPUTE_TYPE: str = "auto"
    """CTranslate2 compute type; auto = int8 on CPU, float16 on CUDA."""
    WHISPER_LANGUAGE: str = ""
    """Language code for Whisper; empty = detect. A task's language wins."""
    EXPECTED_LANGUAGES: str = ""
    """Comma list of the languages recordings are expected in, e.g. `vi,en`; empty = any. When a task gives no
    language (nor WHISPER_LANGUAGE) and Whisper's detection is unsure (probability below 0.5) or picks a
    language outside the list, the likeliest language of the list is used: results.language says which,
    metrics.language_detected / language_detected_probability what was detected, with a LANGUAGE_FALLBACK
    warning."""
    WHISPER_PUNCTUATES: bool | None = None
    """Whether the Whisper model writes punctuation and capitals; empty = yes (Whisper does). Set false for a
    fine-tune that writes bare lowercase text, so that clean_transcript runs the LLM enhancement on it."""
    WHISPER_BEAM_SIZE: int = Field(5, ge=1, le=20)
    """Beam size for Whisper decoding."""
    WHISPER_BATCH_SIZE: int = Field(-1, ge=-1, le=64)
    """Batched decoding of VAD chunks (faster-whisper's BatchedInferencePipeline): -1 = auto (batched, batch 8 on CPU
    and CUDA), 0 = off (sequential decoding), N = batch size. Used when VAD is
    on. Where Whisper stops before the end of a chunk, the rest is decoded again with the next batch (no
    speech is dropped). Batched output is re-cut at word times into lines of <= 7 s and <= 84 characters
    (pauses, sentence ends); docs/benchmarks.md has the measured speed and WER of both paths."""

    # --- Diarization ----------------------------------------------------------------------------
    DIARIZATION_DEVICE: Literal["auto", "cpu", "cuda"] = "auto"
    """Device for speaker diarization (enable_diarization=true; the 'diarization' extra); auto = cuda when
    torch sees a GPU, else cpu. Its numba code cache goes to NUMBA_CACHE_DIR, else $DATA_DIR/cache/numba."""

    # --- LLM ------------------------------------------------------------------------------------
    LLM_BACKEND: Literal["auto", "vllm", "cpu", "none"] = "auto"
    """auto = vllm when CUDA and vllm are present, else the CPU backend when installed, else none."""
    LLM_BACKEND_MODULE: str = ""
    """A Python module that makes the LLM backends instead of the built-in code: its
    `create_llm_backend(settings, purpose)` is called for each model the LLM stage loads (out-of-tree
    backends; the test suite plugs its fault-injecting wrapper in here). Empty = the built-in backends."""
    LLM_ENHANCE_MODEL: str = ""
    """Model for transcript enhancement; empty = the embedded default (Qwen2.5-Coder-1.5B-Instruct GGUF, or
    SmolLM2-135M when only that is installed); a GGUF path/name in MODELS_DIR, a Hugging Face folder or hub
    name for vLLM, or an embedded model's name (qwen2.5-coder-1.5b-instruct, smollm2-135m-instruct)."""
    LLM_SUM_MODEL: str = ""
    """Model for summaries; same values as LLM_ENHANCE_MODEL."""
    LLM_ENHANCE_GPU_MEMORY_UTILIZATION: float = Field(0.9, gt=0, le=1)
    """Fraction of GPU memory vLLM may take."""
    LLM_MAX_EDIT_RATE: float = Field(0.3, ge=0, le=1)
    """Enhancement guard: a chunk whose word edit rate against the raw text exceeds this keeps the raw text."""

    # --- Worker ---------------------------------------------------------------------------------
    WORKER_NAME: str = Field(default_factory=socket.gethostname, min_length=1, max_length=200)
    """This host's name in a cluster (default: the hostname): stored with each claim, answered as `worker`
    in status answers, listed by /health. Unique per host sharing one DATABASE_URL."""
    WORKER_CONCURRENCY: int = Field(1, ge=1)
    """Accepted for compatibility; values > 1 are ignored: one GPU pipeline per host."""
    JOB_TIMEOUT: float = Field(600.0, gt=0)
    """Seconds a task may run; the limit is max(JOB_TIMEOUT, JOB_TIMEOUT_RTF x audio seconds)."""
    JOB_TIMEOUT_RTF: float = Field(2.0, ge=0)
    """Per-audio-second time allowance (see JOB_TIMEOUT)."""
    MAX_ATTEMPTS: int = Field(2, ge=1)
    """Deaths of the worker child during one task before it is FAILED with WORKER_CRASHED."""
    MAX_REQUEUES: int = Field(5, ge=0)
    """Daemon restarts (or expired leases) that requeue one running task before it is FAILED WORKER_CRASHED."""
    TASK_LEASE_SECONDS: float = Field(60.0, ge=1, le=3600)
    """A claimed task's lease, renewed while it runs; a task whose lease expired (its host died or lost the
    database) is requeued by any host. Matters with DATABASE_URL (several hosts)."""
    SHUTDOWN_GRACE_SECONDS: float = Field(30.0, ge=0)
    """On SIGTERM, how long the running stage may finish before its task is put back in the queue."""
    HEARTBEAT_SECONDS: float = Field(5.0, gt=0)
    """How often the daemon pings the worker child (the systemd watchdog needs its answers)."""
    WORKER_IDLE_SECONDS: float = Field(0.0, ge=0)
    """Stop an idle worker child (freeing its models) after this many seconds; 0 = keep it."""
    MODEL_SHARING: Literal["auto", "together", "swap"] = "auto"
    """together = the ASR model and the LLM stay loaded in one worker child; swap = they take turns on the GPU
    (the ASR part of waiting tasks runs first, then the child exits and a fresh one runs their LLM part);
    auto = swap when vLLM runs on the GPU and the ASR weights + LLM_ENHANCE_GPU_MEMORY_UTILIZATION of the GPU
    do not fit in its memory, else together."""
    MODEL_SWAP_BATCH: int = Field(8, ge=1, le=1000)
    """With swap: tasks whose ASR part runs before the worker switches to the LLM (and back) while the
    other model has work waiting."""

    # --- Retention and maintenance ----------------------------------------------------------------
    RESULT_TTL: int = Field(86400, ge=0)
    """Seconds results are kept after a task finishes; then its status answers 410 RESULT_EXPIRED."""
    RETENTION_DAYS: float = Field(7, ge=0)
    """Days the audio of finished tasks is kept."""
    DAYS_TO_KEEP: float = Field(7, ge=0)
    """Days log files are kept."""
    DISK_THRESHOLD: float = Field(80, gt=0, le=100)
    """Percent use of the data disk above which uploads get 507 and disk-monitor warns."""
    DRY_RUN: bool = False
    """Maintenance verbs print what they would delete and delete nothing."""
    EMERGENCY_CLEANUP: bool = False
    """disk-monitor frees space oldest-first until under DISK_THRESHOLD."""
    SKIP_CACHE: bool = False
    """clean-all skips the result/database cleanup."""

    # --- Deprecated (seed) ----------------------------------------------------------------------
    REDIS_URL: str | None = None
    """No meaning any more (the queue is SQLite): accepted and logged as deprecated."""
    REDIS_RESULTS_DB: str | None = None
    """No meaning any more: accepted and logged as deprecated."""

    @field_validator("API_PORT", "DB_PATH", "AUDIO_DIR", "MODELS_DIR", "LOG_DIR", "WHISPER_PUNCTUATES",
                     "CHUNKFORMER_PUNCTUATES", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() == "" else value

    @field_validator("EXPECTED_LANGUAGES")
    @classmethod
    def _language_list(cls, value: str) -> str:
        codes = [c.strip().lower() for c in value.split(",") if c.strip()]
        bad = [c for c in codes if not c.isascii() or not c.isalpha() or not 2 <= len(c) <= 3]
        if bad:
            raise ValueError(f"expected language codes like vi,en; not {', '.join(bad)}")
        return ",".join(dict.fromkeys(codes))

    @property
    def expected_languages(self) -> tuple[str, ...]:
        return tuple(c for c in self.EXPECTED_LANGUAGES.split(",") if c)

    @model_validator(mode="after")
    def _check_tcp_key(self) -> Settings:
        if self.API_PORT is not None:
            key = self.SECRET_API_KEY
            if not key or key == SEED_PLACEHOLDER_KEY or len(key) < 32:
                raise ValueError(
                    "SECRET_API_KEY must be set to a key of at least 32 characters (not the seed's "
                    "placeholder) when API_PORT is set"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() merges the env file and the environment itself, so that the order is explicit
        # and tests can pass a mapping instead of mutating os.environ.
        return (init_settings,)

    # --- derived paths --------------------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.DB_PATH or self.DATA_DIR / "maie.db"

    @property
    def audio_dir(self) -> Path:
        return self.AUDIO_DIR or self.DATA_DIR / "audio"

    @property
    def models_dir(self) -> Path:
        return self.MODELS_DIR or self.DATA_DIR / "models"

    @property
    def templates_dir(self) -> Path:
        return self.DATA_DIR / "templates"

    @property
    def log_dir(self) -> Path:
        if self.LOG_DIR:
            return self.LOG_DIR
        system = Path("/var/log/maie")
        return system if os.access(system, os.W_OK) else self.DATA_DIR / "logs"

    @property
    def max_file_bytes(self) -> int:
        return int(self.MAX_FILE_SIZE_MB * 1024 * 1024)

    def public_dict(self) -> dict[str, Any]:
        """Every setting with its effective value, secrets masked."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value:
                value = "***" + ("(set)" if value else "")
            out[name] = str(value) if isinstance(value, Path) else value
        out["DB_PATH"] = str(self.db_path)
        out["DATABASE_URL"] = mask_url_password(self.DATABASE_URL)
        out["AUDIO_DIR"] = str(self.audio_dir)
        out["MODELS_DIR"] = str(self.models_dir)
        out["LOG_DIR"] = str(self.log_dir)
        return out


def mask_url_password(url: str) -> str:
    """postgresql://user:secret@host/db -> postgresql://user:***@host/db"""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def env_file_path(environ: dict[str, str] | None = None) -> Path:
    environ = dict(os.environ) if environ is None else environ
    return Path(environ.get("MAIE_ENV_FILE") or DEFAULT_ENV_FILE)


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the env file, then the environment; raise ConfigError with one line naming the variable."""
    environ = dict(os.environ) if environ is None else environ
    env_file = env_file_path(environ)
    try:
        settings = _load_from_mapping(env_file, environ, overrides)
    except ValidationError as exc:
        raise ConfigError(_first_error_line(exc, env_file)) from None
    _warn_about_ignored(settings)
    return settings


def _load_from_mapping(env_file: Path, environ: dict[str, str], overrides: dict[str, Any]) -> Settings:
    from dotenv import dotenv_values

    values: dict[str, Any] = {}
    if env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    fields = Settings.model_fields
    if environ.get(SOCKET_ALIAS) and not environ.get("API_SOCKET"):
        values["API_SOCKET"] = environ[SOCKET_ALIAS]
    values.update({k: v for k, v in environ.items() if k in fields})
    values.update(overrides)
    return Settings(**values)


def _first_error_line(exc: ValidationError, env_file: Path) -> str:
    err = exc.errors()[0]
    name = ".".join(str(p) for p in err.get("loc", ())) or "settings"
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    value = err.get("input")
    shown = "" if name in SECRET_FIELDS or isinstance(value, dict) else f" (got {value!r})"
    where = f" [env file {env_file}]" if env_file.is_file() else ""
    return f"invalid setting {name}: {msg}{shown}{where}"


def _warn_about_ignored(settings: Settings) -> None:
    for name in DEPRECATED_FIELDS:
        if getattr(settings, name) is not None:
            log.warning("%s is deprecated and ignored: the queue is SQLite at %s", name, settings.db_path)
    if settings.WORKER_CONCURRENCY > 1:
        log.warning("WORKER_CONCURRENCY=%d ignored: one GPU pipeline per host", settings.WORKER_CONCURRENCY)
