"""speech_regions / speech_coverage with faster-whisper's ONNX Silero on real espeak speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maied.pipeline.media import SAMPLE_RATE, decode_to_mono16k
from maied.pipeline.vad import speech_coverage, speech_regions
from tests.audio_fixtures import concat_wavs, speak_wav

pytest.importorskip("faster_whisper")


def test_two_utterances_around_a_pause(tmp_path: Path) -> None:
    a = speak_wav("This is the first sentence of the test.", tmp_path / "a.wav")
    b = speak_wav("And this one comes after a long pause.", tmp_path / "b.wav")
    audio = decode_to_mono16k(concat_wavs([a, b], tmp_path / "ab.wav", gap_seconds=4.0))
    regions = speech_regions(audio)
    assert len(regions) == 2
    first_end = len(decode_to_mono16k(a)) / SAMPLE_RATE
    assert regions[0].end < first_end + 1.0 < regions[1].start
    coverage = speech_coverage(regions, len(audio) / SAMPLE_RATE)
    assert 0.4 < coverage < 0.85


def test_silence_has_no_speech() -> None:
    silence = np.zeros(3 * SAMPLE_RATE, dtype=np.float32)
    assert speech_regions(silence) == []
    assert speech_coverage([], 3.0) == 0.0
