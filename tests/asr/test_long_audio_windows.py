"""The windowed path with the real Whisper backend: times offset by where each piece starts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from maied.asr.base import ASRBackend, ASROptions
from maied.pipeline.long_audio import transcribe_windowed
from tests.audio_fixtures import ENGLISH_TEXT, speak_wav


@pytest.mark.slow
def test_windowed_transcription_offsets_segments(whisper_backend: ASRBackend, tmp_path: Path) -> None:
    speech = speak_wav(ENGLISH_TEXT, tmp_path / "speech.wav")
    unit = tmp_path / "unit.wav"
    subprocess.run(["sox", str(speech), "-r", "16000", "-c", "1", str(unit), "pad", "0", "20"], check=True)
    unit_seconds = float(subprocess.run(["soxi", "-D", str(unit)], capture_output=True, text=True,
                                        check=True).stdout)
    long = tmp_path / "long.wav"
    subprocess.run(["sox", str(unit), str(long), "repeat", "2"], check=True)  # three copies

    result = transcribe_windowed(long, whisper_backend, ASROptions(language="en"), window_seconds=20.0)
    assert result.metrics["asr_windows"] >= 3
    assert result.metrics["audio_seconds"] == pytest.approx(3 * unit_seconds, abs=0.05)
    starts = [s.start for s in result.segments]
    assert starts == sorted(starts)
    for copy in range(3):  # each copy's speech is found near where that copy starts
        near = [s for s in result.segments if copy * unit_seconds - 0.5 <= s.start < copy * unit_seconds + 5]
        assert near, f"no segment near copy {copy} at {copy * unit_seconds:.1f} s: {starts}"
        assert "fox" in " ".join(s.text for s in result.segments
                                 if copy * unit_seconds - 0.5 <= s.start < (copy + 1) * unit_seconds).lower()
    assert all(s.end <= result.metrics["audio_seconds"] + 0.01 for s in result.segments)
