"""Long recordings in bounded memory: decode and transcribe window by window, never the whole file at once.

The file is decoded in WINDOW_SECONDS pieces (`iter_mono16k_windows`). Each piece is cut at the quietest
point of its last CUT_SEARCH_SECONDS (lowest short-time energy, so a cut falls in a pause, not inside a
word); what follows the cut is carried into the next piece. So at most about one window plus one carry of
decoded audio is held. Segment (and word) times are offset by where the piece starts, the results joined.
The language detected in the first piece is kept for the rest (one recording, one language).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maied.asr.base import ASRBackend, ASROptions, ASRResult, duration_weighted_confidence, no_speech_warning
from maied.domain import SAMPLE_RATE, Segment, TaskWarning, Word
from maied.errors import MaieError
from maied.media_probe import probe_media
from maied.pipeline.media import iter_mono16k_windows

LONG_AUDIO_SECONDS = 600.0
WHOLE_FILE_MAX_SECONDS = 2 * LONG_AUDIO_SECONDS
"""A file decoded whole (its header said <= LONG_AUDIO_SECONDS) that decodes to more than this is refused
(AUDIO_DECODE_ERROR): its header lied, and decoded audio must stay bounded in memory."""
WINDOW_SECONDS = 120.0
"""ASR windows of 2 minutes: four 30 s Whisper chunks to a batched call. 60 s windows filled two or three of a
batch's places and paid one more call per window for its tails (10 minutes of speech: 39 s against 35 s);
240 s windows were faster still (31 s) but the VAD's working memory grows with the window (+85 MB at 240 s,
+36 MB at 120 s), and the worker's memory must stay bounded on hours of audio."""
CUT_SEARCH_SECONDS = 10.0
FRAME_SECONDS = 0.1
SUMMED_METRICS = ("segments_decoded", "hallucination_dropped_segments", "hallucination_dropped_repeats",
                  "hallucination_dropped_phrases", "hallucination_collapsed_loops", "asr_batches", "asr_tail_seconds")


def quiet_cut(audio: np.ndarray, search_seconds: float = CUT_SEARCH_SECONDS) -> int:
    """Sample index of the quietest FRAME_SECONDS frame's middle within the last `search_seconds`."""
    frame = round(FRAME_SECONDS * SAMPLE_RATE)
    span = min(audio.shape[0], round(search_seconds * SAMPLE_RATE))
    frames = span // frame
    if frames < 2:
        return audio.shape[0]
    start = audio.shape[0] - frames * frame
    tail = audio[start:].reshape(frames, frame)
    energy = np.einsum("ij,ij->i", tail, tail)
    return start + int(np.argmin(energy)) * frame + frame // 2


def pieces(windows: Iterator[np.ndarray]) -> Iterator[tuple[int, np.ndarray]]:
    """(first sample, audio) pieces cut in pauses; together they are the whole input, once, in order."""
    carry = np.zeros(0, dtype=np.float32)
    offset = 0
    previous: np.ndarray | None = None
    for window in windows:
        if previous is not None:
            buffer = np.concatenate([carry, previous])
            cut = quiet_cut(buffer)
            yield offset, buffer[:cut]
            offset += cut
            carry = buffer[cut:].copy()
            del buffer
        previous = window
    if previous is not None:
        yield offset, np.concatenate([carry, previous])


@dataclass
class WindowedResult:
    """What the windows add up to; `result()` gives the ASRResult the pipeline records."""

    segments: list[Segment] = field(default_factory=list)
    language: str | None = None
    language_probability: float | None = None
    samples: int = 0
    speech_seconds: float = 0.0
    warnings: list[TaskWarning] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def add(self, offset: int, audio_samples: int, part: ASRResult) -> None:
        shift = offset / SAMPLE_RATE
        self.segments.extend(shift_segment(s, shift) for s in part.segments)
        if self.language is None:
            self.language, self.language_probability = part.language, part.language_probability
            self.metrics.update({k: v for k, v in part.metrics.items() if k.startswith("language_")})
        self.samples += audio_samples
        coverage = part.metrics.get("vad_coverage")
        if isinstance(coverage, (int, float)):
            self.speech_seconds += coverage * audio_samples / SAMPLE_RATE
        self.warnings.extend(w for w in part.warnings if w.code != "NO_SPEECH")
        for key in SUMMED_METRICS:
            value = part.metrics.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.metrics[key] = round(self.metrics.get(key, 0) + value, 3)

    def result(self, windows: int) -> ASRResult:
        seconds = self.samples / SAMPLE_RATE
        metrics = dict(self.metrics, audio_seconds=round(seconds, 3), asr_windows=windows)
        if self.speech_seconds or "vad_coverage" in self.metrics:
            metrics["vad_coverage"] = round(min(1.0, self.speech_seconds / seconds), 4) if seconds else 0.0
        warnings = list(self.warnings) if self.segments else [*self.warnings, no_speech_warning(seconds)]
        return ASRResult(self.segments, self.language, self.language_probability,
                         duration_weighted_confidence(self.segments), warnings, metrics)


def transcribe_windowed(path: Path, backend: ASRBackend, options: ASROptions,
                        window_seconds: float = WINDOW_SECONDS,
                        on_progress: Callable[[float], None] | None = None,
                        max_seconds: float | None = None) -> ASRResult:
    """Transcribe the file at `path` piece by piece (see the module doc); raises what decoding/ASR raise.
    `on_progress` gets the seconds of audio done after each piece (the worker's time limit follows it)."""
    total = WindowedResult()
    count = 0
    for offset, audio in pieces(iter_mono16k_windows(path, window_seconds, max_seconds)):
        part = backend.transcribe(audio, options)
        total.add(offset, audio.shape[0], part)
        if options.language is None and total.language:
            options = dataclasses.replace(options, language=total.language)
        count += 1
        if on_progress is not None:
            on_progress(total.samples / SAMPLE_RATE)
    return total.result(count)


def shift_segment(segment: Segment, shift: float) -> Segment:
    words = None
    if segment.words is not None:
        words = [Word(w.start + shift, w.end + shift, w.word, w.probability) for w in segment.words]
    return dataclasses.replace(segment, start=segment.start + shift, end=segment.end + shift, words=words)


@dataclass(frozen=True)
class DecodePlan:
    windowed: bool
    header_seconds: float | None


def plan_decoding(path: Path, threshold: float = LONG_AUDIO_SECONDS) -> DecodePlan:
    """Window by window when the header says the file is longer than `threshold` or says nothing (a
    streamed WebM/Ogg has no duration: it may be hours); whole otherwise (at most WHOLE_FILE_MAX_SECONDS
    are then decoded, whatever the header claimed). A file whose headers cannot be read goes the whole-file
    way, which reports the decoding error."""
    try:
        duration = probe_media(path).duration
    except MaieError:
        return DecodePlan(False, None)
    return DecodePlan(duration is None or duration > threshold, duration)
