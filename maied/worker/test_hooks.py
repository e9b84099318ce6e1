"""Fault injection for the daemon's plumbing tests (crash, hang, slow, fake). Active only when the worker
child runs with MAIE_TEST_HOOKS=1, which nothing but the test suite sets. The action is chosen by the
uploaded file's name: `crash-*` (SIGKILL itself), `hang-*` (never returns), `slow<seconds>-*`, and
`fake-*` / `fake<seconds>-*`: the real decode, then a fake ASR stage that takes <seconds> (default 0.05)
and answers a transcript naming the task (the chaos tests run hundreds of tasks with it). After the real
ASR: `llmfail-*` fails the LLM stage (LLM_PROCESSING_ERROR), `llmcrash-*` SIGKILLs the child in it,
`llmhang-*` never returns from it.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from typing import Any

from maied.worker.protocol import TaskInput

FAKE_RE = re.compile(r"(?:^|-)fake(\d+(?:\.\d+)?)?-")
DEFAULT_FAKE_SECONDS = 0.05
_installed = threading.Lock()
_state: dict[str, bool] = {"fake": False, "llm": False}
LLM_FAULTS = ("llmfail-", "llmcrash-", "llmhang-")


def task_hook(task: TaskInput) -> None:
    name = (task.request.filename or "").lower()
    if name.startswith("crash-"):
        os.kill(os.getpid(), signal.SIGKILL)
    if name.startswith("hang-"):
        threading.Event().wait()
    match = re.match(r"slow(\d+(?:\.\d+)?)-", name)
    if match:
        threading.Event().wait(float(match.group(1)))
    if FAKE_RE.search(name):
        _install_fake_asr()
    if name.startswith(LLM_FAULTS):
        _install_llm_faults()


def fake_transcript(task_id: str) -> str:
    return f"fake transcript of task {task_id}"


def _install_fake_asr() -> None:
    """Wrap the pipeline's ASR stage once: `fake*` files take the fake path, all others the real one."""
    import maied.pipeline.run as pipeline_run

    with _installed:
        if _state["fake"]:
            return
        real = pipeline_run._transcribe

        def transcribe(run: Any, audio: Any) -> None:
            match = FAKE_RE.search((run.task.request.filename or "").lower())
            if match is None:
                real(run, audio)
                return
            if audio is None:  # a long or unknown-length file: its real decode happens here, window by window
                _decode_windows(run)
            _fake_asr(run, float(match.group(1) or DEFAULT_FAKE_SECONDS))

        pipeline_run._transcribe = transcribe  # type: ignore[assignment]
        _state["fake"] = True


def _decode_windows(run: Any) -> None:
    from pathlib import Path

    from maied.pipeline.media import SAMPLE_RATE, ensure_min_seconds, iter_mono16k_windows

    windows = iter_mono16k_windows(Path(run.task.audio_path), 60.0, run.settings.MAX_AUDIO_SECONDS)
    samples = sum(w.shape[0] for w in windows)
    run.out.metrics["input_duration_seconds"] = round(ensure_min_seconds(samples / SAMPLE_RATE), 3)


def _fake_asr(run: Any, seconds: float) -> None:
    from maied.domain import TaskStatus

    duration = run.out.metrics["input_duration_seconds"]
    run.report(TaskStatus.PROCESSING_ASR, duration)
    started = time.monotonic()
    threading.Event().wait(seconds)
    text = fake_transcript(run.task.id)
    run.text = text
    run.out.results.update({"raw_transcript": text, "segments": [], "language": "en"})
    run.out.metrics["asr_seconds"] = round(time.monotonic() - started, 3)
    run.out.versions["asr_backend"] = {"name": "fake", "model": "test-hook"}


def _install_llm_faults() -> None:
    """Wrap the pipeline's LLM stage once for the LLM_FAULTS file names; other files take the real stage."""
    import maied.pipeline.run as pipeline_run
    from maied.domain import TaskStatus
    from maied.errors import LLMProcessingError

    with _installed:
        if _state["llm"]:
            return
        real = pipeline_run._llm

        def llm(run: Any) -> None:
            name = (run.task.request.filename or "").lower()
            if not name.startswith(LLM_FAULTS):
                real(run)
                return
            run.report(TaskStatus.PROCESSING_LLM, None)
            if name.startswith("llmcrash-"):
                os.kill(os.getpid(), signal.SIGKILL)
            if name.startswith("llmhang-"):
                threading.Event().wait()
            raise LLMProcessingError("the summary did not match the template's schema (test hook)")

        pipeline_run._llm = llm  # type: ignore[assignment]
        _state["llm"] = True
