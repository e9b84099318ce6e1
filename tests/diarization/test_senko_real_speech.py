"""The real senko backend on real speech: two espeak-ng voices taking turns at known times."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from maied.diarization.base import SpeakerBounds
from maied.pipeline.media import decode_to_mono16k
from maied.settings import Settings
from tests.diarization.conversation import Turn, conversation, diarization_error
from tests.required import require_module

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
"""The first test also pays for the module's model load, which compiles numba code when its cache is cold
(minutes on a busy 2-core machine)."""
MAX_ERROR = 0.2
"""Frame error allowed (10 ms frames, no collar): senko's turn edges come a few tenths of a second late."""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, list[Turn]]:
    path = tmp_path_factory.mktemp("diarization") / "two-voices.wav"
    turns = conversation(path)
    return decode_to_mono16k(path), turns


DATA_DIR = Path(tempfile.gettempdir()) / "maie-test-diarization"
"""Kept between runs: the numba code senko's first load compiles (minutes on a busy 2-core machine) is cached
under $DATA_DIR/cache/numba, as on a real host."""


@pytest.fixture(scope="module")
def backend() -> Iterator[object]:
    require_module("diarization")
    from maied.diarization.senko_backend import SenkoDiarizer

    data = DATA_DIR
    saved = os.environ.pop("NUMBA_CACHE_DIR", None)
    diarizer = SenkoDiarizer(Settings(DATA_DIR=data, DIARIZATION_DEVICE="cpu"))
    yield diarizer
    if saved is not None:
        os.environ["NUMBA_CACHE_DIR"] = saved


def hypothesis(result: object) -> list[tuple[float, float, str]]:
    return [(t.start, t.end, t.speaker) for t in result.turns]  # type: ignore[attr-defined]


def test_two_voices_are_two_speakers_at_the_right_times(backend: object, recording: tuple[np.ndarray, list[Turn]]) -> None:
    audio, turns = recording
    result = backend.diarize([audio], SpeakerBounds())  # type: ignore[attr-defined]
    assert len({t.speaker for t in result.turns}) == 2
    assert diarization_error(turns, hypothesis(result)) <= MAX_ERROR
    assert result.audio_seconds == pytest.approx(len(audio) / 16000)


def test_the_recording_streamed_in_pieces_gets_one_set_of_labels(backend: object,
                                                                 recording: tuple[np.ndarray, list[Turn]]) -> None:
    audio, turns = recording
    pieces = (audio[i:i + 7 * 16000] for i in range(0, len(audio), 7 * 16000))
    result = backend.diarize(pieces, SpeakerBounds())  # type: ignore[attr-defined]
    assert len({t.speaker for t in result.turns}) == 2
    assert diarization_error(turns, hypothesis(result)) <= MAX_ERROR


@pytest.mark.parametrize("bounds, count", [(SpeakerBounds(num=3), 3), (SpeakerBounds(high=1), 1),
                                           (SpeakerBounds(low=2, high=4), 2)])
def test_speaker_counts_asked_for_are_held(backend: object, recording: tuple[np.ndarray, list[Turn]],
                                           bounds: SpeakerBounds, count: int) -> None:
    result = backend.diarize([recording[0]], bounds)  # type: ignore[attr-defined]
    assert len({t.speaker for t in result.turns}) == count


def test_describe_names_the_model_files_with_their_sha256(backend: object) -> None:
    described = backend.describe()  # type: ignore[attr-defined]
    assert described["name"] == "senko" and described["device"] == "cpu" and described["warmup"] is False
    names = {m["file"] for m in described["models"]}
    assert names == {"campplus_cn_en_common.pt", "silero_vad.jit"}
    assert all(len(m["sha256"]) == 64 for m in described["models"])


def test_numba_caches_under_the_data_dir(backend: object) -> None:
    cache = Path(os.environ["NUMBA_CACHE_DIR"])
    assert cache == DATA_DIR / "cache" / "numba"
    assert any(cache.rglob("*.nbi")), "numba wrote no cache index there"


def test_silence_has_no_speakers(backend: object) -> None:
    result = backend.diarize([np.zeros(3 * 16000, dtype=np.float32)], SpeakerBounds())  # type: ignore[attr-defined]
    assert result.turns == []


def test_a_long_recording_is_decoded_again_in_windows_with_one_set_of_labels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: object) -> None:
    """The windowed path (what a recording over 10 minutes takes), with 5 s windows: the stage decodes the
    file again window by window; each transcript segment (one per known turn here) gets its voice's label."""
    from maied.domain import Segment, TaskRequest
    from maied.pipeline import diarize_stage
    from maied.pipeline.diarize_stage import audio_pieces, diarize_segments
    from maied.pipeline.model_cache import ModelCache

    path = tmp_path / "two-voices.wav"
    turns = conversation(path)
    monkeypatch.setattr(diarize_stage, "WINDOW_SECONDS", 5.0)
    models = ModelCache()
    models.get("diarization", ("senko", "cpu"), lambda: backend)
    segments = [Segment(t.start, t.end, f"line {i}").to_dict() for i, t in enumerate(turns)]
    settings = Settings(DIARIZATION_DEVICE="cpu")
    stage = diarize_segments(models, settings, TaskRequest(enable_diarization=True), audio_pieces(None, path), segments)
    expected = {"low": "SPEAKER_1", "high": "SPEAKER_2"}
    assert [s["speaker"] for s in stage.segments] == [expected[t.speaker] for t in turns]
    assert [s["id"] for s in stage.speakers] == ["SPEAKER_1", "SPEAKER_2"]
    assert stage.metrics["diarization_rtf"] > 0 and stage.versions["diarization"]["name"] == "senko"
