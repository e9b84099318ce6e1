"""What every ASR backend offers the pipeline: options in, segments out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from maied.domain import Segment, TaskRequest, TaskWarning
from maied.settings import Settings

NO_SPEECH = "NO_SPEECH"


@dataclass
class ASROptions:
    """Per-task decoding options (16 kHz mono float32 audio is passed separately)."""

    language: str | None = None
    beam_size: int = 5
    word_timestamps: bool = False
    vocabulary: list[str] = field(default_factory=list)
    enable_vad: bool = True
    vad_threshold: float | None = None
    task: str = "transcribe"
    """`transcribe`, or `translate` (Whisper only: into English)."""
    prompt: str | None = None
    temperature: float | None = None
    segment_detail: bool = False
    expected_languages: tuple[str, ...] = ()
    """When `language` is None: the languages detection is held to (see maied.asr.language)."""

    @classmethod
    def for_task(cls, request: TaskRequest, settings: Settings, word_timestamps: bool = False) -> ASROptions:
        """The task's choices, else the settings' defaults (language: task > WHISPER_LANGUAGE > detect)."""
        return cls(
            language=(request.language or settings.WHISPER_LANGUAGE or None),
            beam_size=settings.WHISPER_BEAM_SIZE,
            word_timestamps=word_timestamps,
            vocabulary=[v.strip() for v in request.vocabulary if v and v.strip()],
            enable_vad=True if request.enable_vad is None else request.enable_vad,
            vad_threshold=request.vad_threshold,
            task=request.task or "transcribe",
            prompt=request.prompt or None,
            temperature=request.temperature,
            segment_detail=request.segment_detail,
            expected_languages=settings.expected_languages,
        )

    def task_choices(self) -> dict[str, Any]:
        """What this task chose beyond the backend's defaults, for `versions.asr_backend.decoding`."""
        choices: dict[str, Any] = {"task": self.task}
        if self.temperature:
            choices["temperature"] = [self.temperature]
        if self.prompt:
            choices["initial_prompt"] = self.prompt
        return choices


@dataclass
class ASRResult:
    segments: list[Segment]
    language: str | None = None
    language_probability: float | None = None
    confidence_avg: float | None = None
    warnings: list[TaskWarning] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments if s.text.strip())


@runtime_checkable
class ASRBackend(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        """Transcribe 16 kHz mono float32 `audio`; raises maied.errors.ASRProcessingError on failure."""
        ...

    def describe(self) -> dict[str, Any]:
        """The `versions.asr_backend` object: name, model (path), checkpoint_hash, compute_type, device,
        decoding params."""
        ...


def no_speech_warning(seconds: float) -> TaskWarning:
    return TaskWarning(NO_SPEECH, f"no speech was recognised in {seconds:.1f} s of audio")


def duration_weighted_confidence(segments: list[Segment]) -> float | None:
    """Mean of exp(avg_logprob) over segments, weighted by their duration; None without log-probs."""
    total = weight = 0.0
    for seg in segments:
        if seg.avg_logprob is None:
            continue
        w = max(seg.end - seg.start, 0.01)
        total += math.exp(seg.avg_logprob) * w
        weight += w
    return round(total / weight, 4) if weight else None
