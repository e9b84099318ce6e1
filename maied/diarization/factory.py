"""The diarization backend for these settings, and whether this host can run one (without loading it)."""

from __future__ import annotations

import importlib.util

from maied.diarization.base import DiarizationBackend
from maied.errors import MissingExtra
from maied.settings import Settings


def diarization_installed() -> bool:
    return importlib.util.find_spec("senko") is not None


def diarization_unavailable_reason() -> str | None:
    if diarization_installed():
        return None
    return MissingExtra("speaker diarization", "diarization").message


def diarization_model_key(settings: Settings) -> tuple[str, str]:
    return ("senko", settings.DIARIZATION_DEVICE)


def create_diarization_backend(settings: Settings) -> DiarizationBackend:
    from maied.diarization.senko_backend import SenkoDiarizer

    return SenkoDiarizer(settings)
