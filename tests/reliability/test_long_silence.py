"""An hour of silence as Opus (ten hours with MAIE_LONG_TESTS=1) through the real daemon and the real
embedded model: COMPLETE with a NO_SPEECH warning, and the worker's memory does not grow with the length
(the whole hour as float32 at 16 kHz would be 230 MB; ten hours 2.3 GB)."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.audio_fixtures import require_tools
from tests.e2e.daemon_harness import TERMINAL, Daemon, running_daemon
from tests.reliability.helpers import LONG

pytestmark = pytest.mark.slow

HOURS = 10 if LONG else 1
GROWTH_LIMIT_MB = 120.0


def silence_opus(path: Path, seconds: int) -> Path:
    require_tools("ffmpeg")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t",
                    str(seconds), "-c:a", "libopus", "-b:a", "8k", str(path)], check=True, capture_output=True)
    return path


def _run_watching_memory(daemon: Daemon, path: Path) -> tuple[dict[str, Any], float]:
    """Run one task; return its final status and the peak RSS (MB) of the worker child meanwhile."""
    peak, stop = [0], threading.Event()

    def watch() -> None:
        while not stop.wait(0.1):
            for pid in daemon.worker_pids():
                try:
                    peak[0] = max(peak[0], psutil.Process(pid).memory_info().rss)
                except psutil.Error:
                    continue

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        body = daemon.wait_for(daemon.submit(path).json()["task_id"], TERMINAL, timeout=300 * HOURS)
    finally:
        stop.set()
        watcher.join()
    return body, peak[0] / 1e6


def test_hours_of_silence_complete_with_no_speech_in_bounded_memory(models_dir: Path, tmp_path: Path) -> None:
    short = silence_opus(tmp_path / "minute.opus", 60)
    long = silence_opus(tmp_path / "hours.opus", 3600 * HOURS)
    assert long.stat().st_size < 2_000_000 * HOURS, "small on disk"
    with running_daemon(MODELS_DIR=str(models_dir), LLM_BACKEND="none") as daemon:
        base_body, base_mb = _run_watching_memory(daemon, short)
        assert base_body["status"] == "COMPLETE", base_body
        body, peak_mb = _run_watching_memory(daemon, long)
    assert body["status"] == "COMPLETE", body
    assert "NO_SPEECH" in {w["code"] for w in body["warnings"]}, body["warnings"]
    assert body["metrics"]["input_duration_seconds"] == pytest.approx(3600 * HOURS, abs=1)
    assert peak_mb - base_mb < GROWTH_LIMIT_MB, f"worker RSS grew {peak_mb - base_mb:.0f} MB over a minute's"
    print(f"\nsilence: {HOURS} h Opus ({long.stat().st_size / 1e6:.1f} MB) COMPLETE + NO_SPEECH in "
          f"{body['metrics']['processing_time_seconds']} s; worker peak RSS {peak_mb:.0f} MB "
          f"(one minute: {base_mb:.0f} MB)")
