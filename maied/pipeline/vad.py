"""Where the speech is in 16 kHz mono audio: faster-whisper's bundled Silero model on ONNX Runtime (no torch).

Whisper applies VAD itself (`vad_filter`); this module serves what has none (ChunkFormer) and the
`vad_coverage` metric.
"""

from __future__ import annotations

import numpy as np

from maied.domain import SAMPLE_RATE, Span
from maied.errors import MissingExtra

DEFAULT_THRESHOLD = 0.5
MIN_SILENCE_MS = 1000
SPEECH_PAD_MS = 200


def speech_regions(audio: np.ndarray, threshold: float | None = None) -> list[Span]:
    """Speech regions of `audio` in seconds, in order and not overlapping."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError as exc:
        raise MissingExtra("faster-whisper (its ONNX VAD)", "whisper", import_error=str(exc)) from None
    options = VadOptions(
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        min_silence_duration_ms=MIN_SILENCE_MS,
        speech_pad_ms=SPEECH_PAD_MS,
    )
    stamps = get_speech_timestamps(np.ascontiguousarray(audio, dtype=np.float32), options)
    return [Span(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def speech_coverage(regions: list[Span], audio_seconds: float) -> float:
    """Fraction of the audio that is speech (0..1)."""
    if audio_seconds <= 0:
        return 0.0
    return round(min(1.0, sum(r.seconds for r in regions) / audio_seconds), 4)
