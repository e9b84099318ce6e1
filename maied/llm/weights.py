"""Where an LLM's weights are: an embedded GGUF (maied/llm/embedded.py), a configured file/folder, or MODELS_DIR.

All of this is cheap (no model is loaded, no heavy import) except `checkpoint_hash`, which reads the
weights once and remembers the answer in a small cache file next to MODELS_DIR.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from maied.errors import ModelNotFound
from maied.llm.base import Purpose
from maied.llm.embedded import CATALOGUE, EmbeddedModel, available, default_model, ensure_gguf, located
from maied.settings import Settings

_HASH_CACHE = ".maie-checkpoint-hashes.json"


def configured_model(settings: Settings, purpose: Purpose) -> str:
    """The model setting for `purpose` ("" = the default embedded model)."""
    value = settings.LLM_ENHANCE_MODEL if purpose == "enhance" else settings.LLM_SUM_MODEL
    return value.strip()


def embedded_model(settings: Settings, purpose: Purpose) -> EmbeddedModel | None:
    """The embedded model `purpose` runs: the default when the setting is empty, one of the catalogue
    when the setting names it (e.g. `smollm2-135m-instruct`), None for any other configured model."""
    name = configured_model(settings, purpose)
    if not name:
        return default_model(settings.models_dir)
    return CATALOGUE.get(name.lower())


def find_gguf(settings: Settings, purpose: Purpose) -> Path | None:
    """The GGUF file the CPU backend runs for `purpose`, or None when it is not on disk. An embedded model
    whose parts are installed but not yet assembled counts as found (at its future path)."""
    model = embedded_model(settings, purpose)
    if model is not None:
        path = located(model, settings.models_dir)
        if path is None and available(model, settings.models_dir):
            path = settings.models_dir / model.filename
        return path
    name = configured_model(settings, purpose)
    for candidate in (Path(name).expanduser(), settings.models_dir / name):
        if candidate.is_file() and candidate.suffix == ".gguf":
            return candidate
        if candidate.is_dir():
            files = sorted(candidate.glob("*.gguf"))
            if files:
                return files[0]
    return None


def require_gguf(settings: Settings, purpose: Purpose) -> Path:
    """The GGUF to load for `purpose` (an embedded model is assembled from its parts once)."""
    model = embedded_model(settings, purpose)
    if model is not None:
        return ensure_gguf(model, settings.models_dir)
    path = find_gguf(settings, purpose)
    if path is None:
        raise ModelNotFound(f"no GGUF model found for {purpose}: {configured_model(settings, purpose)} "
                            f"(looked in {settings.models_dir})")
    return path


def find_hf_model(settings: Settings, purpose: Purpose) -> str | None:
    """A Hugging Face folder (or a hub name) for vLLM; None for an embedded model not yet converted."""
    model = embedded_model(settings, purpose)
    if model is not None:
        folder = settings.models_dir / hf_dirname(model)
        return str(folder) if (folder / "config.json").is_file() else None
    name = configured_model(settings, purpose)
    for candidate in (Path(name).expanduser(), settings.models_dir / name):
        if (candidate / "config.json").is_file():
            return str(candidate)
    # Not on disk: vLLM may still fetch a hub name on a host that can reach the hub.
    return name if "/" in name and not name.startswith(("/", ".", "~")) else None


def hf_dirname(model: EmbeddedModel) -> str:
    """The folder in MODELS_DIR that holds an embedded model converted for vLLM."""
    return f"{model.key}-hf"


def model_label(settings: Settings, purpose: Purpose) -> str:
    model = embedded_model(settings, purpose)
    return model.name if model is not None else configured_model(settings, purpose)


def checkpoint_hash(path: Path, cache_dir: Path | None = None) -> str:
    """sha256 of a weights file, or of a folder's weight files (name + content) in name order."""
    files = _weight_files(path)
    if not files:
        return ""
    key = "|".join(f"{f}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files)
    cache = _read_cache(cache_dir)
    if key in cache:
        return cache[key]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    value = "sha256:" + digest.hexdigest()
    _write_cache(cache_dir, {**cache, key: value})
    return value


def _weight_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    patterns = ("*.safetensors", "*.bin", "*.gguf", "*.pt")
    return sorted({f for p in patterns for f in path.glob(p) if f.is_file()})


def _read_cache(cache_dir: Path | None) -> dict[str, str]:
    if cache_dir is None:
        return {}
    try:
        data = json.loads((cache_dir / _HASH_CACHE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_cache(cache_dir: Path | None, data: dict[str, str]) -> None:
    if cache_dir is None:
        return
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f"{_HASH_CACHE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(data))
        tmp.replace(cache_dir / _HASH_CACHE)
    except OSError:
        pass
