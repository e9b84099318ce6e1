"""VAD on a recording with silences of known position: each is found within 0.3 s."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from maied.pipeline.media import SAMPLE_RATE, decode_to_mono16k
from maied.pipeline.vad import speech_regions
from tests.audio_fixtures import speak_wav

pytest.importorskip("faster_whisper")
SENTENCES = ["Good morning, this is the first part of the meeting.",
             "Now we talk about the budget for next year.", "Finally the action items and owners."]
GAPS = [2.0, 3.5]


def _trimmed_speech(text: str, folder: Path, name: str) -> np.ndarray:
    """espeak speech with its own leading/trailing silence cut off, so where speech ends is known."""
    spoken = speak_wav(text, folder / f"{name}-raw.wav")
    trimmed = folder / f"{name}.wav"
    subprocess.run(["sox", str(spoken), "-r", "16000", str(trimmed), "silence", "1", "0.02", "0.5%",
                    "reverse", "silence", "1", "0.02", "0.5%", "reverse"], check=True, capture_output=True)
    return decode_to_mono16k(trimmed)


def test_known_silences_are_found_within_0_3_s(tmp_path: Path) -> None:
    parts = [_trimmed_speech(t, tmp_path, f"s{i}") for i, t in enumerate(SENTENCES)]
    pieces, silences, t = [], [], 0.0
    for i, part in enumerate(parts):
        pieces.append(part)
        t += len(part) / SAMPLE_RATE
        if i < len(GAPS):
            pieces.append(np.zeros(int(GAPS[i] * SAMPLE_RATE), dtype=np.float32))
            silences.append((t, t + GAPS[i]))
            t += GAPS[i]
    regions = speech_regions(np.concatenate(pieces))
    found = [(a.end, b.start) for a, b in zip(regions, regions[1:], strict=False)]
    assert len(found) == len(silences), regions
    for (start, end), (known_start, known_end) in zip(found, silences, strict=True):
        assert abs(start - known_start) <= 0.3 and abs(end - known_end) <= 0.3, (found, silences)
