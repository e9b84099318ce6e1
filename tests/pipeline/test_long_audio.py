"""Cutting long audio into pieces at pauses (pure numpy, real arrays)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maied.pipeline.long_audio import CUT_SEARCH_SECONDS, SAMPLE_RATE, pieces, quiet_cut


def bursts(seconds: int, speech: float = 3.0, period: float = 7.0) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Noise bursts of `speech` s every `period` s; returns the audio and the silent gaps (samples)."""
    rng = np.random.default_rng(0)
    audio = np.zeros(seconds * SAMPLE_RATE, dtype=np.float32)
    gaps = []
    start = 0.0
    while start < seconds:
        a, b = int(start * SAMPLE_RATE), min(int((start + speech) * SAMPLE_RATE), audio.size)
        audio[a:b] = rng.normal(0, 0.3, b - a)
        gaps.append((b, min(int((start + period) * SAMPLE_RATE), audio.size)))
        start += period
    return audio, gaps


def windows_of(audio: np.ndarray, seconds: float) -> Iterator[np.ndarray]:
    size = int(seconds * SAMPLE_RATE)
    for i in range(0, audio.size, size):
        yield audio[i : i + size]


def test_pieces_cover_the_input_once_and_cut_in_silence() -> None:
    audio, gaps = bursts(200)
    got = list(pieces(windows_of(audio, 45.0)))
    assert len(got) == 5
    assert np.array_equal(np.concatenate([p for _, p in got]), audio)
    offsets = [o for o, _ in got]
    assert offsets[0] == 0
    for (o, p), nxt in zip(got, offsets[1:], strict=False):
        assert o + p.size == nxt
        assert any(a <= nxt < b for a, b in gaps), f"cut at {nxt / SAMPLE_RATE:.2f} s is inside speech"
    # at most one window plus the carry is ever held in a piece
    assert max(p.size for _, p in got) <= int((45.0 + CUT_SEARCH_SECONDS) * SAMPLE_RATE)


def test_quiet_cut_finds_the_pause() -> None:
    audio = np.full(30 * SAMPLE_RATE, 0.2, dtype=np.float32)
    audio[25 * SAMPLE_RATE : 25 * SAMPLE_RATE + 4000] = 0.0
    cut = quiet_cut(audio)
    assert 25 * SAMPLE_RATE <= cut < 25 * SAMPLE_RATE + 4000


def test_single_window_passes_through() -> None:
    audio = np.ones(SAMPLE_RATE, dtype=np.float32)
    got = list(pieces(iter([audio])))
    assert len(got) == 1 and got[0][0] == 0 and np.array_equal(got[0][1], audio)
