"""Pick and load an ASR backend by name."""

from __future__ import annotations

import importlib

from maied.asr.base import ASRBackend
from maied.domain import ASR_BACKENDS
from maied.errors import BackendUnavailable
from maied.settings import Settings


def create_asr_backend(name: str, settings: Settings) -> ASRBackend:
    """Load backend `name` now: from ASR_BACKEND_MODULE when that is set, else a built-in one."""
    if settings.ASR_BACKEND_MODULE:
        module = importlib.import_module(settings.ASR_BACKEND_MODULE)
        backend: ASRBackend = module.create_asr_backend(name, settings)
        return backend
    return create_builtin_asr_backend(name, settings)


def create_builtin_asr_backend(name: str, settings: Settings) -> ASRBackend:
    """Load built-in backend `name` now. Raises BackendUnavailable (unknown name), MissingExtra (library not
    installed), ModelNotFound (naming the paths looked at and how to install), ModelMemoryError."""
    if name == "whisper":
        from maied.asr.whisper import WhisperBackend

        return WhisperBackend.load(settings)
    if name == "chunkformer":
        from maied.asr.chunkformer import ChunkFormerBackend

        return ChunkFormerBackend.load(settings)
    raise BackendUnavailable(
        f"unknown ASR backend {name!r}; choose one of {', '.join(ASR_BACKENDS)}",
        details={"backend": name, "available": list(ASR_BACKENDS)},
    )


def asr_model_key(name: str, settings: Settings) -> tuple:
    """Equal keys mean the same loaded model: the worker may reuse a backend across tasks."""
    if name == "whisper":
        return (
            "whisper",
            settings.WHISPER_MODEL_VARIANT.strip(),
            str(settings.models_dir),
            settings.WHISPER_DEVICE,
            settings.WHISPER_COMPUTE_TYPE,
        )
    if name == "chunkformer":
        return ("chunkformer", settings.CHUNKFORMER_MODEL_NAME.strip(), str(settings.models_dir),
                settings.CHUNKFORMER_DEVICE, settings.CHUNKFORMER_CHUNK_SIZE, settings.CHUNKFORMER_LEFT_CONTEXT,
                settings.CHUNKFORMER_RIGHT_CONTEXT, settings.CHUNKFORMER_TOTAL_BATCH_DURATION)
    return (name,)
