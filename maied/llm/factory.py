"""Which LLM backend a host runs, and loading it.

`resolve_llm_backend` and `llm_unavailable_reason` are cheap (no model load, no heavy import): the API
calls them at submit time. `create_llm_backend` loads a model; the worker calls it in its child and keeps
the result while `llm_model_key` stays the same.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
import logging
from pathlib import Path

from maied.errors import LLMUnavailable, ModelNotFound
from maied.gpu import nvidia_smi_values
from maied.llm.base import LLMBackend, Purpose
from maied.llm.embedded import SMOLLM2_135M
from maied.llm.weights import (
    configured_model,
    embedded_model,
    find_gguf,
    find_hf_model,
    model_label,
    require_gguf,
)
from maied.settings import Settings

log = logging.getLogger(__name__)

MIN_VLLM_COMPUTE_CAPABILITY = 7.0
CONFIGURED_MODEL_MAX_LEN = 8192
"""max_model_len for a configured vLLM model: bounded so the KV cache fits next to the ASR model."""
PURPOSES: tuple[Purpose, ...] = ("enhance", "summary")
CPU_CONTEXT_LENGTH = 8192
"""n_ctx for a configured GGUF on the CPU backend (embedded models carry their own)."""


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def cuda_present() -> bool:
    """An NVIDIA driver is loaded (checked without importing torch)."""
    return Path("/proc/driver/nvidia/version").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


@functools.cache
def gpu_compute_capability() -> float | None:
    """The lowest compute capability of the GPUs nvidia-smi reports, None when unknown."""
    values = nvidia_smi_values("compute_cap")
    return min(values) if values else None


def _vllm_installed(settings: Settings) -> bool:
    """vLLM is importable and each purpose has a model it can load (or the GGUF to convert)."""
    if not _has_module("vllm"):
        return False
    for purpose in PURPOSES:
        if find_hf_model(settings, purpose) is None and find_gguf_for_conversion(settings, purpose) is None:
            return False
    return True


def find_gguf_for_conversion(settings: Settings, purpose: Purpose) -> Path | None:
    """The embedded GGUF vLLM would convert for `purpose`; None for a configured (non-embedded) model."""
    return find_gguf(settings, purpose) if embedded_model(settings, purpose) is not None else None


def _vllm_usable(settings: Settings) -> bool:
    if not (cuda_present() and _vllm_installed(settings)):
        return False
    cap = gpu_compute_capability()
    return cap is None or cap >= MIN_VLLM_COMPUTE_CAPABILITY


def _cpu_usable(settings: Settings) -> bool:
    return _has_module("llama_cpp") and all(find_gguf(settings, p) is not None for p in PURPOSES)


def resolve_llm_backend(settings: Settings) -> str | None:
    """"vllm", "cpu" or None (no LLM): what LLM_BACKEND gives on this host."""
    choice = settings.LLM_BACKEND
    if choice == "none":
        return None
    if choice == "vllm":
        return "vllm" if _vllm_installed(settings) else None
    if choice == "cpu":
        return "cpu" if _cpu_usable(settings) else None
    if _vllm_usable(settings):
        return "vllm"
    return "cpu" if _cpu_usable(settings) else None


def llm_unavailable_reason(settings: Settings) -> str | None:
    """None when an LLM backend is usable, else what to install or configure (for 422 LLM_UNAVAILABLE)."""
    if resolve_llm_backend(settings) is not None:
        return None
    if settings.LLM_BACKEND == "none":
        return "LLM_BACKEND=none: set LLM_BACKEND=auto, cpu or vllm to use clean_transcript and summary"
    if settings.LLM_BACKEND == "vllm":
        if not _has_module("vllm"):
            return "LLM_BACKEND=vllm but vLLM is not installed (scripts/install.sh --with vllm)"
        return (f"LLM_BACKEND=vllm but no model was found: set LLM_ENHANCE_MODEL / LLM_SUM_MODEL to Hugging Face "
                f"folders (or names in {settings.models_dir}), or install the embedded model")
    if not _has_module("llama_cpp"):
        return ("no LLM backend is installed: install the CPU backend (scripts/install.sh --with llm-cpu) or "
                "vLLM on a GPU host (--with vllm)")
    missing = [p for p in PURPOSES if find_gguf(settings, p) is None]
    names = ", ".join(f"{p}: {_model_hint(settings, p)}" for p in missing)
    return f"the CPU LLM backend has no GGUF model ({names}); looked in {settings.models_dir}"


def _model_hint(settings: Settings, purpose: Purpose) -> str:
    model = embedded_model(settings, purpose)
    if model is None:
        return configured_model(settings, purpose)
    return f"the embedded {model.name} ({model.install_hint})"


def llm_startup_notes(settings: Settings) -> list[str]:
    """Things to log at start-up: a GPU too old for vLLM, auto falling back to the CPU backend."""
    notes = []
    if settings.LLM_BACKEND in ("auto", "vllm") and cuda_present():
        cap = gpu_compute_capability()
        if cap is not None and cap < MIN_VLLM_COMPUTE_CAPABILITY:
            notes.append(f"this GPU has compute capability {cap}; vLLM needs {MIN_VLLM_COMPUTE_CAPABILITY} or newer"
                         + (": the CPU LLM backend is used" if settings.LLM_BACKEND == "auto" else ""))
    reason = llm_unavailable_reason(settings)
    if reason:
        notes.append(reason)
    return notes


def llm_model_key(settings: Settings, purpose: Purpose) -> tuple[str, ...]:
    """Two purposes with the same key share one loaded model."""
    backend = resolve_llm_backend(settings) or "none"
    util = str(settings.LLM_ENHANCE_GPU_MEMORY_UTILIZATION) if backend == "vllm" else ""
    model = embedded_model(settings, purpose)
    name = f"<embedded:{model.key}>" if model is not None else configured_model(settings, purpose)
    return (backend, name, str(settings.models_dir), util)


def create_llm_backend(settings: Settings, purpose: Purpose) -> LLMBackend:
    """Load the model for `purpose`: from LLM_BACKEND_MODULE when that is set, else a built-in backend."""
    if settings.LLM_BACKEND_MODULE:
        module = importlib.import_module(settings.LLM_BACKEND_MODULE)
        backend: LLMBackend = module.create_llm_backend(settings, purpose)
        return backend
    return create_builtin_llm_backend(settings, purpose)


def create_builtin_llm_backend(settings: Settings, purpose: Purpose) -> LLMBackend:
    """Load the model for `purpose` with the backend `resolve_llm_backend` picks."""
    backend = resolve_llm_backend(settings)
    if backend is None:
        raise LLMUnavailable(llm_unavailable_reason(settings) or "no LLM backend")
    hash_cache = settings.models_dir
    if backend == "cpu":
        from maied.llm.llama_cpp_backend import LlamaCppBackend

        path = require_gguf(settings, purpose)
        embedded = embedded_model(settings, purpose)
        log.info("loading %s with llama.cpp for %s", path, purpose)
        return LlamaCppBackend(path, context_length=embedded.context_length if embedded else CPU_CONTEXT_LENGTH,
                               label=model_label(settings, purpose), hash_cache_dir=hash_cache)
    from maied.llm.vllm_backend import VLLMBackend

    model = _vllm_model(settings, purpose)
    embedded = embedded_model(settings, purpose)
    log.info("loading %s with vLLM for %s", model, purpose)
    return VLLMBackend(
        model,
        context_length=embedded.context_length if embedded else _configured_max_len(model),
        gpu_memory_utilization=settings.LLM_ENHANCE_GPU_MEMORY_UTILIZATION,
        label=model_label(settings, purpose),
        hash_cache_dir=hash_cache,
    )


def _vllm_model(settings: Settings, purpose: Purpose) -> str:
    found = find_hf_model(settings, purpose)
    if found is not None:
        return found
    if configured_model(settings, purpose):
        raise ModelNotFound(f"LLM model {configured_model(settings, purpose)!r} not found (looked in "
                            f"{settings.models_dir}); place a Hugging Face folder there or give its path")
    from maied.llm.hf_convert import ensure_embedded_hf_model

    return str(ensure_embedded_hf_model(embedded_model(settings, purpose) or SMOLLM2_135M, settings.models_dir))


def _configured_max_len(model: str) -> int | None:
    """min(the model's own limit, CONFIGURED_MODEL_MAX_LEN); None lets vLLM read it (hub names)."""
    config = Path(model) / "config.json"
    try:
        own = int(json.loads(config.read_text()).get("max_position_embeddings") or CONFIGURED_MODEL_MAX_LEN)
    except (OSError, ValueError, TypeError):
        return CONFIGURED_MODEL_MAX_LEN
    return min(own, CONFIGURED_MODEL_MAX_LEN)
