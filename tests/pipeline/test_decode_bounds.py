"""Decoded audio stays bounded whatever a file's header says: a recording with no duration (streamed WebM)
goes window by window, a whole-file decode stops at its bound, and the worker's time limit believes a
header only so far and otherwise follows the audio really transcribed."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import numpy as np
import pytest

from maied.domain import TaskKind, TaskRequest
from maied.errors import AudioDecodeError
from maied.pipeline.long_audio import plan_decoding
from maied.pipeline.media import SAMPLE_RATE, decode_to_mono16k
from maied.settings import Settings
from maied.store import NewTask, TaskStore
from maied.worker.supervisor import HEADER_TRUSTED_SECONDS, Running, Supervisor
from tests.audio_fixtures import require_tools, write_wav


def streamed_webm(src: Path, dst: Path) -> Path:
    """WebM/Opus written to a pipe, as a browser's MediaRecorder streams it: no duration in its header."""
    require_tools("ffmpeg")
    with open(dst, "wb") as out:
        subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", str(src), "-c:a", "libopus",
                        "-f", "webm", "pipe:1"], stdout=out, check=True)
    return dst


def tone(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return write_wav(path, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32))


def test_a_recording_without_duration_is_decoded_window_by_window(tmp_path: Path) -> None:
    webm = streamed_webm(tone(tmp_path / "t.wav", 5.0), tmp_path / "stream.webm")
    plan = plan_decoding(webm)
    assert plan.windowed and plan.header_seconds is None
    short = plan_decoding(tone(tmp_path / "short.wav", 5.0))
    assert not short.windowed and short.header_seconds == pytest.approx(5.0, abs=0.01)


def test_whole_file_decode_stops_at_its_bound(tmp_path: Path) -> None:
    wav = tone(tmp_path / "t.wav", 12.0)
    assert decode_to_mono16k(wav, max_seconds=20).shape[0] == 12 * SAMPLE_RATE
    with pytest.raises(AudioDecodeError, match="longer than its header says"):
        decode_to_mono16k(wav, max_seconds=5)


def test_time_limit_believes_headers_only_so_far_then_follows_progress(tmp_path: Path) -> None:
    settings = Settings(DATA_DIR=tmp_path, JOB_TIMEOUT=600, JOB_TIMEOUT_RTF=2.0, LLM_BACKEND="none")
    store = TaskStore(tmp_path / "maie.db")
    try:
        supervisor = Supervisor(store, settings)
        assert supervisor._limit(100) == 600
        assert supervisor._limit(1_000_000) == 2.0 * HEADER_TRUSTED_SECONDS  # a lying header buys 40 min
        store.submit(NewTask(id="t", kind=TaskKind.AUDIO, owner="uid:0", request=TaskRequest(), audio_path="/a"))
        running = Running(record=store.claim_next(), started=0.0, deadline=600.0)
        asyncio.run(supervisor._handle({"type": "progress", "task_id": "t", "audio_seconds": 3600.0}, running))
        assert running.deadline == pytest.approx(2.0 * (3600 + 120))  # real audio extends it
    finally:
        store.close()
