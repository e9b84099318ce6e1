"""Decompression bombs: a small FLAC holding hours of silence with no length in its header ends FAILED
AUDIO_TOO_LONG within seconds of passing MAX_AUDIO_SECONDS (decoding stops there), and a file whose header
shows it too long is refused before 202 with 413 AUDIO_TOO_LONG. /health is read every 0.25 s meanwhile
and a real task completes afterwards."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.audio_fixtures import require_tools
from tests.e2e.daemon_harness import TERMINAL, running_daemon
from tests.reliability.hostile import HealthMonitor, later_task_completes

pytestmark = pytest.mark.slow

MAX_AUDIO_SECONDS = 600
ENV = {"MAIE_TEST_HOOKS": "1", "LLM_BACKEND": "none", "MAX_AUDIO_SECONDS": str(MAX_AUDIO_SECONDS),
       "MAX_FILE_SIZE_MB": "5", "JOB_TIMEOUT": "600"}


def _silence_flac(path: Path, seconds: int, *, hide_length: bool) -> Path:
    """FLAC of silence at 8 kHz; written to a pipe, its header carries no length (as in the attack)."""
    require_tools("ffmpeg")
    args = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds),
            "-c:a", "flac", "-f", "flac"]
    if hide_length:
        with open(path, "wb") as out:
            subprocess.run([*args, "pipe:1"], check=True, stdout=out)
    else:
        subprocess.run([*args, str(path)], check=True, capture_output=True)
    return path


def test_hidden_hours_of_audio_fail_fast_and_visible_ones_are_refused(tmp_path: Path) -> None:
    hidden = _silence_flac(tmp_path / "fake0.01-hidden.flac", 7200, hide_length=True)
    visible = _silence_flac(tmp_path / "fake0.01-visible.flac", MAX_AUDIO_SECONDS + 100, hide_length=False)
    with running_daemon(**ENV) as daemon, HealthMonitor(daemon) as monitor:
        refused = daemon.submit(visible)
        started = time.monotonic()
        accepted = daemon.submit(hidden)
        assert accepted.status_code == 202, accepted.text
        body = daemon.wait_for(accepted.json()["task_id"], TERMINAL, timeout=120)
        failed_in = time.monotonic() - started
        later_task_completes(daemon, tmp_path)
    print(f"\n{hidden.stat().st_size} bytes of FLAC holding 7200 s (no length in its header), "
          f"MAX_AUDIO_SECONDS={MAX_AUDIO_SECONDS}: {body['status']} {body['error_code']} in {failed_in:.1f} s; "
          f"a visible {MAX_AUDIO_SECONDS + 100} s file: {refused.status_code}")
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "AUDIO_TOO_LONG", refused.text
    assert (body["status"], body["error_code"]) == ("FAILED", "AUDIO_TOO_LONG"), body
    assert failed_in < 60
    monitor.assert_responsive()
