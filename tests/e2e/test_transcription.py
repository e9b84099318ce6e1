"""Real recordings, the real embedded model, through the real daemon and the real maictl."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import srt
import webvtt

from tests.audio_fixtures import ENGLISH_TEXT, VIETNAMESE_TEXT, speak_wav, wer
from tests.e2e.daemon_harness import TERMINAL, Daemon

pytestmark = pytest.mark.slow


def maictl(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MAIE_SOCKET=str(daemon.socket))
    return subprocess.run([str(Path(sys.executable).parent / "maictl"), *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_english_through_maictl_submit_wait(daemon: Daemon, english_wav: Path) -> None:
    done = maictl(daemon, "submit", str(english_wav), "--wait")
    assert done.returncode == 0, done.stderr
    assert wer(ENGLISH_TEXT, done.stdout) <= 0.2, done.stdout


def test_english_status_shape_and_transcripts(daemon: Daemon, english_wav: Path) -> None:
    task_id = daemon.submit(english_wav, language="en").json()["task_id"]
    body = daemon.wait_for(task_id, TERMINAL)
    assert body["status"] == "COMPLETE", body
    results, metrics, versions = body["results"], body["metrics"], body["versions"]
    assert wer(ENGLISH_TEXT, results["raw_transcript"]) <= 0.2
    assert results["language"] == "en"
    starts = [s["start"] for s in results["segments"]]
    assert starts == sorted(starts) and all(s["end"] > s["start"] for s in results["segments"])
    assert metrics["input_duration_seconds"] > 3 and 0 < metrics["rtf"] < 5
    assert versions["asr_backend"]["name"] == "whisper"
    assert versions["asr_backend"]["checkpoint_hash"].startswith("sha256:")
    assert "EMBEDDED_MODEL" in {w["code"] for w in body["warnings"]}
    with daemon.client() as c:
        subs = list(srt.parse(c.get(f"/v1/tasks/{task_id}/transcript.srt").text))
        vtt = webvtt.from_buffer(__import__("io").StringIO(c.get(f"/v1/tasks/{task_id}/transcript.vtt").text))
        txt = c.get(f"/v1/tasks/{task_id}/transcript.txt").text
    assert subs and all(len(line) <= 42 for s in subs for line in s.content.splitlines())
    assert len(vtt.captions) == len(subs)
    assert txt.strip() == results["raw_transcript"].strip()


def test_vietnamese_with_language_vi(daemon: Daemon, tmp_path: Path) -> None:
    wav = speak_wav(VIETNAMESE_TEXT, tmp_path / "vi.wav", voice="vi")
    done = maictl(daemon, "submit", str(wav), "--language", "vi", "--wait", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert wer(VIETNAMESE_TEXT, body["results"]["raw_transcript"]) <= 0.7, body["results"]["raw_transcript"]


def test_maictl_exit_code_1_for_a_failed_task(daemon: Daemon, tmp_path: Path) -> None:
    short = speak_wav("Hi.", tmp_path / "short.wav")
    subprocess.run(["sox", str(short), str(tmp_path / "tiny.wav"), "trim", "0", "0.3"], check=True)
    done = maictl(daemon, "submit", str(tmp_path / "tiny.wav"), "--wait")
    assert done.returncode == 1
    assert "AUDIO_TOO_SHORT" in done.stderr + done.stdout
