"""EXPECTED_LANGUAGES through the real daemon and maictl: Vietnamese speech that Whisper base takes for Thai
ends `vi` with what happened in its metrics and a LANGUAGE_FALLBACK warning on maictl's stderr; English
stays English."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.asr.test_expected_languages import ENGLISH, MISHEARD_VIETNAMESE
from tests.audio_fixtures import speak_wav
from tests.e2e.daemon_harness import TERMINAL, running_daemon
from tests.e2e.test_transcription import maictl

pytestmark = pytest.mark.slow


def test_expected_languages_hold_the_detection(models_dir: Path, tmp_path: Path) -> None:
    vi = speak_wav(MISHEARD_VIETNAMESE, tmp_path / "vi.wav", voice="vi")
    en = speak_wav(ENGLISH, tmp_path / "en.wav")
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="none", EXPECTED_LANGUAGES="vi,en") as daemon:
        done = maictl(daemon, "submit", str(vi), "--wait", "--json")
        assert done.returncode == 0, done.stderr
        body = json.loads(done.stdout)
        assert body["results"]["language"] == "vi", body
        metrics = body["metrics"]
        assert (metrics["language_detected"], metrics["language_fallback"]) == ("th", True), metrics
        assert 0 < metrics["language_probability"] < metrics["language_detected_probability"]
        assert [line.split(":")[2].strip() for line in done.stderr.splitlines()
                if line.startswith("maictl: warning: LANGUAGE_FALLBACK")] == ["LANGUAGE_FALLBACK"]
        english = daemon.wait_for(daemon.submit(en).json()["task_id"], TERMINAL)
        assert english["results"]["language"] == "en" and english["metrics"]["language_fallback"] is False
        assert english["metrics"]["language_probability"] > 0.5
        assert "LANGUAGE_FALLBACK" not in {w["code"] for w in english["warnings"]}
