"""VAD-driven chunking for ChunkFormer (no VAD of its own): only the speech reaches the model, times are
on the recording's clock, silence alone gives NO_SPEECH without running the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from maied.asr.base import ASROptions, ASRResult
from maied.domain import Span
from maied.pipeline.media import SAMPLE_RATE, decode_to_mono16k
from maied.pipeline.speech_chunks import MIN_CHUNK_SECONDS, SpeechChunkedBackend, speech_chunks
from tests.asr.asr_settings import asr_test_settings
from tests.audio_fixtures import VIETNAMESE_TEXT, speak_wav
from tests.required import require_module


def test_regions_are_grouped_up_to_the_limit_and_cut_only_in_silences() -> None:
    regions = [Span(1.0, 20.0), Span(22.0, 50.0), Span(55.0, 70.0), Span(120.0, 120.2)]
    chunks = speech_chunks(regions, audio_seconds=130.0, max_seconds=60.0)
    assert chunks[0] == (1.0, 50.0)  # 55-70 would make it 69 s long: a new chunk starts in the silence
    assert chunks[1] == (55.0, 70.0)
    assert chunks[2][1] - chunks[2][0] == pytest.approx(MIN_CHUNK_SECONDS)  # a blip is widened to 1 s
    assert speech_chunks([], 10.0) == []


class Recorder:
    """A real backend whose calls are recorded (the model stays real)."""

    def __init__(self, inner: Any):
        self.inner, self.name, self.calls = inner, inner.name, []
        self.own_vad, self.punctuates, self.embedded = inner.own_vad, inner.punctuates, inner.embedded

    def describe(self) -> dict[str, Any]:
        return dict(self.inner.describe())

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        self.calls.append(audio.shape[0] / SAMPLE_RATE)
        result: ASRResult = self.inner.transcribe(audio, options)
        return result


@pytest.fixture(scope="module")
def chunkformer(tmp_path_factory: pytest.TempPathFactory) -> Recorder:
    require_module("chunkformer")
    from maied.asr.factory import create_asr_backend
    from tests.asr.chunkformer_tiny import write_tiny_chunkformer

    data = tmp_path_factory.mktemp("data")
    folder = write_tiny_chunkformer(data / "models" / "chunkformer-tiny")
    return Recorder(create_asr_backend("chunkformer", asr_test_settings(data, CHUNKFORMER_MODEL_NAME=str(folder))))


@pytest.mark.slow
def test_only_the_speech_reaches_chunkformer(chunkformer: Recorder, tmp_path: Path) -> None:
    speech = decode_to_mono16k(speak_wav(VIETNAMESE_TEXT, tmp_path / "vi.wav", voice="vi"))
    silence = np.zeros(8 * SAMPLE_RATE, dtype=np.float32)
    audio = np.concatenate([silence, speech, silence])
    chunkformer.calls.clear()
    result = SpeechChunkedBackend(chunkformer).transcribe(audio, ASROptions(language="vi"))
    total = audio.shape[0] / SAMPLE_RATE
    speech_seconds = speech.shape[0] / SAMPLE_RATE
    assert len(chunkformer.calls) == 1 and chunkformer.calls[0] < speech_seconds + 1.0  # not the 16 s of silence
    assert 0 < result.metrics["vad_coverage"] < (speech_seconds + 1.0) / total
    assert all(7.5 <= s.start <= s.end <= 8.5 + speech_seconds for s in result.segments), result.segments


@pytest.mark.slow
def test_silence_alone_is_no_speech_without_running_the_model(chunkformer: Recorder) -> None:
    chunkformer.calls.clear()
    result = SpeechChunkedBackend(chunkformer).transcribe(np.zeros(5 * SAMPLE_RATE, dtype=np.float32), ASROptions())
    assert chunkformer.calls == [] and result.segments == []
    assert [w.code for w in result.warnings] == ["NO_SPEECH"] and result.metrics["vad_coverage"] == 0.0


@pytest.mark.slow
def test_vad_off_gives_the_model_everything(chunkformer: Recorder) -> None:
    chunkformer.calls.clear()
    SpeechChunkedBackend(chunkformer).transcribe(np.zeros(3 * SAMPLE_RATE, dtype=np.float32),
                                                 ASROptions(enable_vad=False))
    assert chunkformer.calls == [pytest.approx(3.0)]
