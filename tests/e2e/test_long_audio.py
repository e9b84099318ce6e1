"""Long recordings in the real daemon: the worker's peak RSS does not grow with the recording's length."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.audio_fixtures import ENGLISH_TEXT, require_tools, speak_wav
from tests.e2e.daemon_harness import Daemon

MINUTE = 60


def speech_and_silence(tmp: Path, minutes: int) -> Path:
    """One spoken sentence at the start of every minute, silence for the rest (sox)."""
    require_tools("sox")
    unit = tmp / "unit.wav"
    if not unit.exists():
        speech = speak_wav(ENGLISH_TEXT, tmp / "speech.wav")
        subprocess.run(["sox", str(speech), "-r", "16000", "-c", "1", str(unit), "trim", "0", "10",
                        "pad", "0", str(MINUTE)], check=True)
        subprocess.run(["sox", str(unit), str(tmp / "u.wav"), "trim", "0", str(MINUTE)], check=True)
        (tmp / "u.wav").replace(unit)
    out = tmp / f"{minutes}min.wav"
    subprocess.run(["sox", str(unit), str(out), "repeat", str(minutes - 1)], check=True)
    return out


def worker_peak_kb(daemon: Daemon) -> int:
    """The largest VmHWM (peak resident set) among the worker child's processes."""
    peaks = []
    for pid in daemon.worker_pids():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    assert peaks, "no worker process found"
    return max(peaks)


def transcribe(daemon: Daemon, path: Path, timeout: float) -> dict:
    response = daemon.submit(path, features=["raw_transcript"], language="en")
    assert response.status_code == 202, response.text
    body = daemon.wait_for(response.json()["task_id"], {"COMPLETE", "FAILED"}, timeout=timeout)
    assert body["status"] == "COMPLETE", body
    return body


@pytest.mark.slow
def test_worker_peak_rss_bounded_between_15_and_30_minutes(daemon: Daemon, tmp_path: Path) -> None:
    """Both over 10 minutes, so both go the windowed way: twice the length, not twice the memory."""
    fifteen = transcribe(daemon, speech_and_silence(tmp_path, 15), timeout=600)
    after_fifteen = worker_peak_kb(daemon)
    thirty = transcribe(daemon, speech_and_silence(tmp_path, 30), timeout=900)
    after_thirty = worker_peak_kb(daemon)
    grown_mb = (after_thirty - after_fifteen) / 1024
    print(f"worker VmHWM after 15 min: {after_fifteen / 1024:.0f} MB, after 30 min: {after_thirty / 1024:.0f} MB, "
          f"grew {grown_mb:.1f} MB; 30-min metrics {thirty['metrics']}")
    assert grown_mb < 50, f"worker peak RSS grew by {grown_mb:.1f} MB from a 15- to a 30-minute recording"
    assert thirty["metrics"]["input_duration_seconds"] == pytest.approx(30 * MINUTE, abs=1)
    segments = thirty["results"]["segments"]
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts) and starts[-1] > 29 * MINUTE - 1
    minutes_with_speech = {int(s // MINUTE) for s in starts}
    assert len(minutes_with_speech) >= 28, sorted(minutes_with_speech)
    assert len(fifteen["results"]["segments"]) >= 15
