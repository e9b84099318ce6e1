"""The real daemon's queue and worker plumbing: kill -9, cancel, timeout, crash accounting, long-poll.

Fault injection uses the fake ASR backend of tests/fake_asr.py (file names `hang-*`, `crash-*`, `slowN-*`); the
transcription after each fault is the real model's.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.e2e.conftest import copy_as
from tests.e2e.daemon_harness import TERMINAL, Daemon, all_gone, running_daemon
from tests.fake_asr import FAKE_ASR

pytestmark = pytest.mark.slow


def test_socket_is_0660(daemon: Daemon) -> None:
    assert stat.S_IMODE(os.stat(daemon.socket).st_mode) == 0o660


def test_kill9_mid_task_leaves_no_worker_and_task_completes_after_restart(
        models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    slow = copy_as(english_wav, tmp_path, "slow2-meeting.wav")
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR) as daemon:
        task_id = daemon.submit(slow).json()["task_id"]
        daemon.wait_for(task_id, {"PREPROCESSING", "PROCESSING_ASR"})
        workers = daemon.worker_pids()
        assert workers, "a worker child runs the task"
        daemon.kill9()
        assert not all_gone(workers), f"worker processes survived kill -9 of the daemon: {workers}"
        daemon.start()
        body = daemon.wait_for(task_id, TERMINAL)
        assert body["status"] == "COMPLETE", body
        assert "fox" in body["results"]["raw_transcript"].lower()


def test_cancel_running_task_kills_its_child_and_next_task_runs(
        daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    hang = copy_as(english_wav, tmp_path, "hang-forever.wav")
    stuck = daemon.submit(hang).json()["task_id"]
    after = daemon.submit(english_wav).json()["task_id"]
    daemon.wait_for(stuck, {"PROCESSING_ASR"})
    workers = daemon.worker_pids()
    with daemon.client() as c:
        r = c.post(f"/v1/tasks/{stuck}/cancel")
    assert r.status_code == 202
    assert daemon.wait_for(stuck, TERMINAL)["status"] == "CANCELLED"
    assert not all_gone(workers)
    assert daemon.wait_for(after, TERMINAL)["status"] == "COMPLETE"
    with daemon.client() as c:
        again = c.post(f"/v1/tasks/{stuck}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "TASK_NOT_CANCELLABLE"


def test_cancel_pending_task(daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    hang = copy_as(english_wav, tmp_path, "hang-1.wav")
    first = daemon.submit(hang).json()["task_id"]
    second = daemon.submit(english_wav).json()["task_id"]
    with daemon.client() as c:
        assert c.post(f"/v1/tasks/{second}/cancel").json()["status"] == "CANCELLED"
        c.post(f"/v1/tasks/{first}/cancel")
    assert daemon.wait_for(first, TERMINAL)["status"] == "CANCELLED"


def test_job_timeout_fails_the_task_and_the_next_one_runs(
        models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    hang = copy_as(english_wav, tmp_path, "hang-timeout.wav")
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, JOB_TIMEOUT="2",
                        JOB_TIMEOUT_RTF="0") as daemon:  # 2 s, whatever the recording's length
        stuck = daemon.submit(hang).json()["task_id"]
        # the next task is a fake one: a real transcription on a fresh child may need more than 2 s
        after = daemon.submit(copy_as(english_wav, tmp_path, "fake0.01-after.wav")).json()["task_id"]
        body = daemon.wait_for(stuck, TERMINAL)
        assert body["status"] == "FAILED" and body["error_code"] == "JOB_TIMEOUT", body
        assert daemon.wait_for(after, TERMINAL)["status"] == "COMPLETE"


def test_worker_crash_is_retried_then_failed_without_taking_the_daemon_down(
        daemon: Daemon, english_wav: Path, tmp_path: Path) -> None:
    crash = copy_as(english_wav, tmp_path, "crash-poison.wav")
    task_id = daemon.submit(crash).json()["task_id"]
    body = daemon.wait_for(task_id, TERMINAL)
    assert body["status"] == "FAILED" and body["error_code"] == "WORKER_CRASHED", body
    assert "2 times" in body["error"] and "SIGKILL" in body["error"]
    with daemon.client() as c:
        assert c.get("/health").json()["status"] in {"healthy", "degraded"}
    assert daemon.wait_for(daemon.submit(english_wav).json()["task_id"], TERMINAL)["status"] == "COMPLETE"


def test_sigterm_requeues_a_task_that_outlives_the_grace(
        models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    hang = copy_as(english_wav, tmp_path, "slow3-graceful.wav")
    with running_daemon(MODELS_DIR=str(models_dir), **FAKE_ASR, SHUTDOWN_GRACE_SECONDS="0.5") as daemon:
        task_id = daemon.submit(hang).json()["task_id"]
        daemon.wait_for(task_id, {"PROCESSING_ASR"})
        assert daemon.terminate() == 0
        daemon.start()
        body = daemon.wait_for(task_id, TERMINAL)
        assert body["status"] == "COMPLETE", body


def test_configured_model_that_is_missing_fails_with_model_not_found(
        models_dir: Path, english_wav: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-whisper"
    with running_daemon(MODELS_DIR=str(models_dir), WHISPER_MODEL_VARIANT=str(missing)) as daemon:
        body = daemon.wait_for(daemon.submit(english_wav).json()["task_id"], TERMINAL)
    assert body["status"] == "FAILED" and body["error_code"] == "MODEL_NOT_FOUND", body
    assert str(missing) in body["error"] and body["stage"] == "PROCESSING_ASR"
