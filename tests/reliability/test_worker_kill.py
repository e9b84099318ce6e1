"""SIGKILL the worker child alone (its whole process group) at each stage a task can be in: the daemon
stays up, the task is requeued once and completes with its own result on a fresh child."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.daemon_harness import TERMINAL, Daemon, all_gone, running_daemon
from tests.fake_asr import FAKE_ASR, fake_transcript
from tests.reliability.helpers import tone_wav

pytestmark = pytest.mark.slow

# (uploaded name, the stage at which the child is killed): `slowN-` and `fakeN-` hold the task in
# PROCESSING_ASR (tests/fake_asr.py), the first one before the fake transcript, the second one in it.
STAGES = [("slow1.5-fake0.01-a.wav", "PROCESSING_ASR"), ("fake1.5-b.wav", "PROCESSING_ASR")]


@pytest.mark.parametrize(("name", "stage"), STAGES)
def test_killing_the_worker_child_requeues_the_task_once(tmp_path: Path, name: str, stage: str) -> None:
    audio = tone_wav(tmp_path / name)
    warm = tone_wav(tmp_path / "fake0.01-warm.wav")
    with running_daemon(**FAKE_ASR, LLM_BACKEND="none", MAX_ATTEMPTS="2") as daemon:
        assert daemon.wait_for(daemon.submit(warm).json()["task_id"], TERMINAL)["status"] == "COMPLETE"
        task_id = daemon.submit(audio).json()["task_id"]
        daemon.wait_for(task_id, {stage} | TERMINAL, timeout=60)
        workers = daemon.worker_pids()
        assert workers, "a worker child runs the task"
        os.killpg(workers[0], signal.SIGKILL)
        assert not all_gone(workers), "the killed child's group is gone"
        body = daemon.wait_for(task_id, TERMINAL, timeout=60)
        assert body["status"] == "COMPLETE", body
        assert body["results"]["raw_transcript"] == fake_transcript(task_id)
        assert daemon.proc is not None and daemon.proc.poll() is None, "the daemon survived its child"
        fresh = daemon.worker_pids()
        assert fresh and not set(fresh) & set(workers), "a new child ran the second attempt"
        with daemon.client() as c:
            assert c.get("/health").json()["db_ok"] is True


def test_a_child_killed_while_starting_counts_as_a_crash_not_a_failure(tmp_path: Path) -> None:
    """The first task starts the child: kill it before it says ready; the task must be retried."""
    audio = tone_wav(tmp_path / "fake0.01-first.wav")
    with running_daemon(**FAKE_ASR, LLM_BACKEND="none", MAX_ATTEMPTS="2") as daemon:
        task_id = daemon.submit(audio).json()["task_id"]
        pgid_file = daemon.data_dir / "run" / "worker.pgid"
        deadline = time.monotonic() + 30
        while not pgid_file.exists() and time.monotonic() < deadline:  # written as the child is spawned
            time.sleep(0.002)
        workers = daemon.worker_pids()
        assert workers, "the child was spawned"
        os.killpg(workers[0], signal.SIGKILL)
        body = daemon.wait_for(task_id, TERMINAL, timeout=60)
        assert body["status"] == "COMPLETE", body
        assert body["results"]["raw_transcript"] == fake_transcript(task_id)


def test_a_child_killed_at_every_attempt_fails_the_task_and_the_next_runs(tmp_path: Path) -> None:
    doomed = tone_wav(tmp_path / "fake30-doomed.wav")
    after = tone_wav(tmp_path / "fake0.01-after.wav")
    with running_daemon(**FAKE_ASR, LLM_BACKEND="none", MAX_ATTEMPTS="2") as daemon:
        task_id = daemon.submit(doomed).json()["task_id"]
        next_id = daemon.submit(after).json()["task_id"]
        killed: set[int] = set()
        for _ in range(2):
            workers = _fresh_child_in_asr(daemon, task_id, killed)
            os.killpg(workers[0], signal.SIGKILL)
            assert not all_gone(workers)
            killed |= set(workers)
        body = daemon.wait_for(task_id, TERMINAL, timeout=60)
        assert (body["status"], body["error_code"]) == ("FAILED", "WORKER_CRASHED"), body
        assert daemon.wait_for(next_id, TERMINAL, timeout=60)["status"] == "COMPLETE"


def _fresh_child_in_asr(daemon: Daemon, task_id: str, killed: set[int]) -> list[int]:
    """Long-poll until the task is in PROCESSING_ASR on a child that was not killed yet."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = daemon.status(task_id, wait=1)
        workers = daemon.worker_pids()
        if body["status"] == "PROCESSING_ASR" and workers and not set(workers) & killed:
            return workers
    raise AssertionError(f"task {task_id} never reached PROCESSING_ASR on a fresh child")


def test_killing_the_child_in_the_llm_stage_requeues_and_completes(tmp_path: Path) -> None:
    """The real CPU LLM (llama.cpp, SmolLM2) summarising a meeting: the child is killed in PROCESSING_LLM,
    a fresh child runs the stage again and the summary is there."""
    from tests.llm.conftest import backend_missing
    from tests.required import skip_unless_required

    skip_unless_required("cpu", backend_missing("cpu"))
    text = ("Okay, let's start the weekly meeting about the website release. Lan said the new checkout page is "
            "ready for testing. Minh will write the release notes by Thursday. We decided to release on Monday "
            "the fifth. Hoa asked whether the mobile app needs an update too, and nobody knew yet, so we will "
            "check next week. The storage migration moves the archive on Friday night.")
    with running_daemon(LLM_BACKEND="cpu", MAX_ATTEMPTS="2") as daemon:
        with daemon.client() as c:
            task_id = c.post("/v1/process_text", json={"text": text, "features": ["summary"],
                                                       "template_id": "general-summary-en"}).json()["task_id"]
        body = daemon.wait_for(task_id, {"PROCESSING_LLM"} | TERMINAL, timeout=120)
        assert body["status"] == "PROCESSING_LLM", body
        workers = daemon.worker_pids()
        os.killpg(workers[0], signal.SIGKILL)
        assert not all_gone(workers)
        body = daemon.wait_for(task_id, TERMINAL, timeout=600)
        assert body["status"] == "COMPLETE", body
        assert body["results"]["summary"]
        assert daemon.proc is not None and daemon.proc.poll() is None
