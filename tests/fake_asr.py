"""A fake ASR backend for the daemon's plumbing tests, plugged in with ASR_BACKEND_MODULE=tests.fake_asr
(the daemon's own seam for out-of-tree backends). What it does is chosen by the uploaded file's name:

- `crash-*`: the worker child SIGKILLs itself;
- `hang-*`: never returns;
- `slow<seconds>-*`: waits, then goes on with the rest of the name (`slow3-a.wav`: the real model);
- `fake-*` / `fake<seconds>-*`: takes <seconds> (default 0.05) and answers `fake_transcript(task_id)`;
- any other name: the real built-in backend, loaded on first use.

All of it happens in the ASR stage (after the real decode), in the worker child.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from pathlib import Path
from typing import Any

import numpy as np

from maied.asr.base import ASRBackend, ASROptions, ASRResult
from maied.asr.factory import create_builtin_asr_backend
from maied.domain import SAMPLE_RATE, Segment
from maied.settings import Settings

MODULE = "tests.fake_asr"
FAKE_ASR = {"ASR_BACKEND_MODULE": MODULE}
"""The daemon environment that plugs this backend in."""
FAKE_RE = re.compile(r"(?:^|-)fake(\d+(?:\.\d+)?)?-")
SLOW_RE = re.compile(r"^slow(\d+(?:\.\d+)?)-")
DEFAULT_FAKE_SECONDS = 0.05


def fake_transcript(task_id: str) -> str:
    return f"fake transcript of task {task_id}"


def create_asr_backend(name: str, settings: Settings) -> FakeASRBackend:
    return FakeASRBackend(name, settings)


def _source(options: ASROptions) -> tuple[str, str]:
    """(task id, uploaded file name, lowercased) from the stored recording's path
    `AUDIO_DIR/<task id>/original-<name>`."""
    path = Path(options.source or "")
    return path.parent.name, path.name.removeprefix("original-").lower()


class FakeASRBackend:
    """Fault injection and fake transcripts by file name; the real backend for every other file."""

    own_vad = True

    def __init__(self, name: str, settings: Settings):
        self.name = name
        self.settings = settings
        self._real: ASRBackend | None = None
        self._last_fake = True

    def transcribe(self, audio: np.ndarray, options: ASROptions) -> ASRResult:
        task_id, name = _source(options)
        if name.startswith("crash-"):
            os.kill(os.getpid(), signal.SIGKILL)
        if name.startswith("hang-"):
            threading.Event().wait()
        slow = SLOW_RE.match(name)
        if slow:
            threading.Event().wait(float(slow.group(1)))
        fake = FAKE_RE.search(name)
        self._last_fake = fake is not None
        if fake is None:
            return self._real_backend().transcribe(audio, options)
        threading.Event().wait(float(fake.group(1) or DEFAULT_FAKE_SECONDS))
        seconds = audio.shape[0] / SAMPLE_RATE
        segment = Segment(0.0, round(seconds, 3), fake_transcript(task_id))
        return ASRResult(segments=[segment], language="en")

    @property
    def punctuates(self) -> bool:
        return self._last_fake or self._real is None or self._real.punctuates

    @property
    def embedded(self) -> bool:
        return not self._last_fake and self._real is not None and self._real.embedded

    def describe(self) -> dict[str, Any]:
        if self._last_fake or self._real is None:
            return {"name": "fake", "model": "tests.fake_asr"}
        described: dict[str, Any] = self._real.describe()
        return described

    def _real_backend(self) -> ASRBackend:
        if self._real is None:
            self._real = create_builtin_asr_backend(self.name, self.settings)
        return self._real
