"""VAD-driven chunking for ASR backends that have no VAD of their own (ChunkFormer).

With VAD on, Silero (`maied.pipeline.vad`) finds the speech; neighbouring regions are grouped into chunks
of at most MAX_CHUNK_SECONDS, cut only in silences, and only the chunks are transcribed. Segment times are
shifted back to the recording's clock. Silence-only audio is never shown to the model: it completes with
an empty transcript and a NO_SPEECH warning. `vad_coverage` is the fraction of the audio that is speech.
Whisper applies the same Silero model itself (`vad_filter`), so it is not wrapped.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from maied.asr.base import ASRBackend, ASROptions, ASRResult, duration_weighted_confidence, no_speech_warning
from maied.domain import SAMPLE_RATE, Segment, Span
from maied.pipeline.long_audio import shift_segment
from maied.pipeline.vad import speech_coverage, speech_regions

MAX_CHUNK_SECONDS = 60.0
MIN_CHUNK_SECONDS = 1.0


def speech_chunks(regions: list[Span], audio_seconds: float,
                  max_seconds: float = MAX_CHUNK_SECONDS) -> list[tuple[float, float]]:
    """(start, end) chunks covering every region, in order; a chunk spans whole regions (and the short
    silences between them) up to `max_seconds`; a region longer than that is a chunk of its own."""
    chunks: list[tuple[float, float]] = []
    for region in regions:
        if chunks and region.end - chunks[-1][0] <= max_seconds:
            chunks[-1] = (chunks[-1][0], region.end)
        else:
            chunks.append((region.start, region.end))
    return [_at_least(start, end, audio_seconds) for start, end in chunks]


def _at_least(start: float, end: float, audio_seconds: float) -> tuple[float, float]:
    """Very short chunks are widened (into the silence around them) to MIN_CHUNK_SECONDS."""
    missing = MIN_CHUNK_SECONDS - (end - start)
    if missing <= 0:
        return start, end
    start = max(0.0, start - missing / 2)
    return start, min(audio_seconds, start + MIN_CHUNK_SECONDS)


class SpeechChunkedBackend:
    """An ASRBackend that transcribes only the speech of the audio through `inner`."""

    own_vad = True

    def __init__(self, inner: ASRBackend):
        self.inner = inner
        self.name = inner.name
        self.punctuates = inner.punctuates
        self.embedded = inner.embedded

    def describe(self) -> dict[str, Any]:
        described: dict[str, Any] = self.inner.describe()
        return described

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        inner: ASRBackend = self.inner
        if not options.enable_vad:
            return inner.transcribe(audio, options)
        seconds = audio.shape[0] / SAMPLE_RATE
        started = time.perf_counter()
        regions = speech_regions(audio, options.vad_threshold)
        chunks = speech_chunks(regions, seconds)
        segments: list[Segment] = []
        language: str | None = None
        for start, end in chunks:
            first, last = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
            part = inner.transcribe(audio[first:last], options)
            segments.extend(shift_segment(s, first / SAMPLE_RATE) for s in part.segments)
            language = language or part.language
        elapsed = time.perf_counter() - started
        metrics = {"asr_seconds": round(elapsed, 3), "asr_rtf": round(elapsed / seconds, 4) if seconds else None,
                   "audio_seconds": round(seconds, 3), "vad_coverage": speech_coverage(regions, seconds),
                   "vad_chunks": len(chunks)}
        warnings = [] if segments else [no_speech_warning(seconds)]
        return ASRResult(segments, language, None, duration_weighted_confidence(segments), warnings, metrics)
