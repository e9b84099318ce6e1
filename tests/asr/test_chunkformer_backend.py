"""The ChunkFormer backend's real load and decode path (run in a venv with the chunkformer extra:
`scripts/install.sh --venv .venv-cf --with chunkformer,dev`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from maied.asr.base import ASRBackend, ASROptions
from maied.asr.chunkformer import parse_hhmmssms
from maied.asr.factory import create_asr_backend
from maied.errors import ModelNotFound
from maied.pipeline.media import SAMPLE_RATE, decode_to_mono16k
from tests.asr.asr_settings import asr_test_settings
from tests.audio_fixtures import speak_wav
from tests.required import require_module


def test_timestamps_parse() -> None:
    assert parse_hhmmssms("01:02:03:450") == pytest.approx(3723.45)


@pytest.mark.slow
def test_tiny_checkpoint_loads_and_decodes(tmp_path: Path) -> None:
    require_module("chunkformer")
    from tests.asr.chunkformer_tiny import write_tiny_chunkformer

    folder = write_tiny_chunkformer(tmp_path / "data" / "models" / "chunkformer-tiny")
    settings = asr_test_settings(tmp_path / "data", CHUNKFORMER_MODEL_NAME="someone/chunkformer-tiny")
    backend = create_asr_backend("chunkformer", settings)
    assert isinstance(backend, ASRBackend) and backend.name == "chunkformer"
    info = backend.describe()
    assert info["model"] == str(folder) and backend.punctuates is False and backend.own_vad is False
    assert (
        info["checkpoint_hash"]
        == "sha256:" + hashlib.sha256((folder / "pytorch_model.bin").read_bytes()).hexdigest()
    )

    audio = decode_to_mono16k(speak_wav("Xin chào các bạn.", tmp_path / "vi.wav", voice="vi"))
    result = backend.transcribe(audio, ASROptions(language="vi"))
    seconds = len(audio) / SAMPLE_RATE
    assert result.language == "vi" and result.metrics["audio_seconds"] == pytest.approx(seconds, abs=0.01)
    assert all(0 <= s.start <= s.end <= seconds and s.text for s in result.segments)
    assert result.segments or [w.code for w in result.warnings] == ["NO_SPEECH"]


def test_missing_checkpoint_names_the_paths_looked_at(tmp_path: Path) -> None:
    require_module("chunkformer")
    settings = asr_test_settings(
        tmp_path / "data", CHUNKFORMER_MODEL_NAME="khanhld/chunkformer-rnnt-large-vie"
    )
    with pytest.raises(ModelNotFound) as err:
        create_asr_backend("chunkformer", settings)
    assert str(tmp_path / "data" / "models" / "chunkformer-rnnt-large-vie") in err.value.message
    assert "maied models pull" in err.value.message
