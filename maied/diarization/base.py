"""The diarization interface: audio in (16 kHz mono float32 pieces, in order), speaker turns out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class SpeakerTurn:
    """One stretch of speech by one speaker; `speaker` is the backend's own label (not yet SPEAKER_n)."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class SpeakerBounds:
    """How many speakers the caller says there are: exactly `num`, or between `low` and `high`."""

    num: int | None = None
    low: int | None = None
    high: int | None = None

    def range(self, ceiling: int) -> tuple[int, int]:
        """(least, most) speakers allowed; `ceiling` is the most the clustering may find anyway."""
        if self.num is not None:
            return self.num, self.num
        low = self.low or 1
        return low, max(low, self.high or ceiling)

    @property
    def given(self) -> bool:
        return self.num is not None or self.low is not None or self.high is not None


@dataclass
class DiarizationResult:
    turns: list[SpeakerTurn]
    audio_seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)


class DiarizationBackend(Protocol):
    def diarize(self, pieces: Iterable[np.ndarray], bounds: SpeakerBounds) -> DiarizationResult:
        """Speaker turns of the recording the pieces make up, one after another (16 kHz mono float32)."""
        ...

    def describe(self) -> dict[str, Any]:
        """Name, version, device and the model files with their sha256 (versions.diarization)."""
        ...

    def close(self) -> None: ...
