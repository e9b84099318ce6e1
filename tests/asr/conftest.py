"""Shared, expensive things for the ASR tests: one placed embedded model and one loaded backend."""

from __future__ import annotations

import pytest

from maied.asr.base import ASRBackend
from maied.settings import Settings
from tests.asr.asr_settings import asr_test_settings


@pytest.fixture(scope="session")
def asr_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return asr_test_settings(tmp_path_factory.mktemp("asr-data"))


@pytest.fixture(scope="session")
def whisper_backend(asr_settings: Settings) -> ASRBackend:
    from maied.asr.factory import create_asr_backend

    return create_asr_backend("whisper", asr_settings)


@pytest.fixture(scope="session")
def sequential_whisper_backend(asr_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> ASRBackend:
    """The same model decoded sequentially (WHISPER_BATCH_SIZE=0: no batching)."""
    from maied.asr.factory import create_asr_backend

    settings = asr_test_settings(tmp_path_factory.mktemp("asr-seq"), MODELS_DIR=str(asr_settings.models_dir),
                                 WHISPER_BATCH_SIZE="0")
    return create_asr_backend("whisper", settings)
