"""The diarization step of an audio task: after ASR, on the same decoded audio, speakers onto segments.

A recording decoded whole is handed over as it is; a long one (decoded window by window for ASR) is
decoded again window by window and streamed into the diarizer, which keeps embeddings, not audio, so its
memory stays bounded and one clustering labels the whole recording.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from maied.diarization.assign import assign_speakers, speaker_table
from maied.diarization.base import SpeakerBounds
from maied.diarization.factory import create_diarization_backend, diarization_model_key
from maied.domain import Segment, TaskRequest
from maied.pipeline.model_cache import ModelCache
from maied.settings import Settings

SAMPLE_RATE = 16000


@dataclass
class DiarizationStageOutput:
    segments: list[dict[str, Any]]
    speakers: list[dict[str, Any]]
    metrics: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)


def bounds_of(request: TaskRequest) -> SpeakerBounds:
    return SpeakerBounds(request.num_speakers, request.min_speakers, request.max_speakers)


WINDOW_SECONDS = 60.0
"""A long recording is decoded again in windows of this many seconds and streamed into the diarizer."""


def audio_pieces(audio: np.ndarray | None, path: Path) -> Iterable[np.ndarray]:
    """The decoded audio (one piece), or the file decoded again in windows (long recordings)."""
    if audio is not None:
        return [audio]
    from maied.pipeline.media import iter_mono16k_windows

    return iter_mono16k_windows(path, WINDOW_SECONDS)


def diarize_segments(models: ModelCache, settings: Settings, request: TaskRequest, pieces: Iterable[np.ndarray],
                     segments: list[dict[str, Any]]) -> DiarizationStageOutput:
    """`segments` (as stored) with speakers on them and their words; results.speakers; metrics; versions."""
    key = diarization_model_key(settings)
    loaded_before = models.holds("diarization", key)
    load_started = time.monotonic()
    backend = models.get("diarization", key, lambda: create_diarization_backend(settings))
    metrics: dict[str, Any] = {}
    if not loaded_before:
        metrics["diarization_model_load_seconds"] = round(time.monotonic() - load_started, 3)
    started = time.monotonic()
    result = backend.diarize(pieces, bounds_of(request))
    seconds = time.monotonic() - started
    assigned, labels = assign_speakers([Segment.from_dict(s) for s in segments], result.turns)
    metrics.update(result.metrics)
    metrics["diarization_seconds"] = round(seconds, 3)
    metrics["diarization_rtf"] = round(seconds / result.audio_seconds, 4) if result.audio_seconds else None
    return DiarizationStageOutput([s.to_dict() for s in assigned], speaker_table(assigned, result.turns, labels),
                                  metrics, {"diarization": backend.describe()})
